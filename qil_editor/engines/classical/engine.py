"""The classical decomposer: graphic-design images into layers on a CPU, no weights.

Stages (each reports progress and is a cancel point):
1. prepare: validate, take the input alpha, make a working copy (<= ~0.7 MP);
2. background: robust gradient fit + push-pull (or: the background is a photo);
3. regions: foreground objects, text lines, photos, shadows (text lying on a
   photo region, and shapes on a big one, carved off it); over a photo
   background only crisp flat graphics (titles, banners), pictures by their
   straight sides and the drop shadows they cast, photo inpainted;
4. layout: occlusion order, grouping into the requested layer count, fills;
5. layers: full-resolution alpha by unblending against what lies beneath;
6. match: residual to the most visible layer, so the stack composites back
   to the input exactly (and respects the input's own transparency).
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from ...document import Document, Layer
from ...errors import InputFileError, UsageError
from ..base import Availability, DecomposeOptions
from ..jobs import CancelToken, ProgressCallback, ProgressTracker
from .assemble import (LayerBuffer, build_layers, claim_residue, crop_to_content, drop_specks,
                       match_input, upsample)
from .background import estimate_background, refine_background
from .colour import neighbour_gradient, resize, rgb_to_lab, to_float
from .fill import push_pull
from .grouping import group_regions
from .models import build_models
from .overlays import carve_overlays, overlay_segmentation
from .photo_blobs import picture_grain
from .ordering import order_regions
from .regions import segment
from .tints import design_tints
from .text import carve_glyphs_from_photos, merge_text_lines, words_take_crossing_crumbs

log = logging.getLogger(__name__)

STAGES = 6
MIN_SIDE = 4           # below this there is nothing to separate: one layer
PHOTO_IS_PICTURE = 0.75  # photo regions covering more than this: the input is a photo
MAX_PIXELS = 1 << 28   # 268 MP: beyond this a CPU decomposition is not sensible
RESIDUE_LEVELS = 2.0   # deviation from the background model that counts as an object's residue
SPECK_SHARE = 3e-5     # faint isolated bits up to this share of the canvas go to the background
GRAIN_LEVELS = 2.0     # levels per unit of background noise that count as its grain
RESIDUE_REACH = 0.03   # how far from an object (share of the longer side) residue is claimed


def shortfall_message(made: int, asked: int | None) -> str:
    """The final progress line. An explicit layer count is a ceiling, not a quota: no layer is
    made of a speck or cut out of one object to reach it, and a shortfall is said, not hidden."""
    if asked is None or made >= asked:
        return "Done"
    log.info("classical: %d layers made, %d asked", made, asked)
    return (f"Done: {made} layers of the {asked} asked (the picture has no more objects "
            f"worth a layer of their own)")


def as_rgba(image: np.ndarray) -> np.ndarray:
    """Accept grey, RGB or RGBA in uint8/uint16/float; return RGBA uint8."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise UsageError(f"Cannot decompose an image of shape {arr.shape}.",
                         "Expected a picture with 1, 3 or 4 channels (grey, RGB or RGBA).")
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.clip(np.nan_to_num(arr) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    c = arr.shape[2]
    if c == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif c == 2:
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=2), arr[..., 1:]], axis=2)
    if arr.shape[2] == 3:
        arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(arr)


class ClassicalDecomposer:
    """Registered as ``classical``; always available, used by ``auto`` without weights."""

    name = "classical"
    label = "Classical (CPU)"

    def __init__(self, working_pixels: int = 700_000) -> None:
        self.working_pixels = int(working_pixels)

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        return Availability(True)

    def decompose(self, image: np.ndarray, options: DecomposeOptions | None = None,
                  progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Document:
        options = options or DecomposeOptions(layers=None)
        tracker = ProgressTracker(progress, STAGES, "Preparing the image")
        tracker.update(0)

        def check():
            if cancel is not None:
                cancel.raise_if_cancelled()

        rgba = as_rgba(image)
        height, width = rgba.shape[:2]
        if height * width > MAX_PIXELS:
            raise UsageError(f"The image is too large to decompose ({width}x{height}).",
                             "Scale it down below 16000x16000 pixels first.")
        alpha_in = rgba[..., 3]
        if not alpha_in.any():
            raise InputFileError("The image is fully transparent, so there is nothing to split into layers.",
                                 "Pick a layer or image with visible pixels.")
        opaque = bool(alpha_in.min() == 255)
        check()

        if min(height, width) < MIN_SIDE:
            tracker.update(STAGES, shortfall_message(1, options.layers))
            return Document(width, height, [Layer(rgba.copy(), name="Background")])

        # ---- 1. working copy -------------------------------------------------
        scale = min(1.0, math.sqrt(self.working_pixels / float(height * width)))
        ww, wh = max(MIN_SIDE, int(round(width * scale))), max(MIN_SIDE, int(round(height * scale)))
        scale = (ww / width, wh / height)
        small = resize(rgba, ww, wh)
        rgb = to_float(small[..., :3])
        valid = small[..., 3] > 0
        if not opaque:
            # Transparent pixels have no meaningful colour: continue the visible ones into them.
            wgt = small[..., 3].astype(np.float32) / 255.0
            rgb = np.where((wgt >= 0.999)[..., None], rgb, push_pull(rgb, wgt))
            valid = small[..., 3] >= 128
            if not valid.any():
                valid = small[..., 3] > 0
        lab = rgb_to_lab(rgb)
        grad = neighbour_gradient(lab)
        tracker.update(1, "Estimating the background")
        check()

        # ---- 2. background ----------------------------------------------------
        bg = estimate_background(rgb, lab, valid, grad)
        tracker.update(2, "Finding shapes, text and photos")
        check()

        # ---- 3. regions ---------------------------------------------------------
        seg = None
        if not bg.textured:
            seg = segment(rgb, lab, grad, valid, bg)
            # text on pictures first (lines may run on beside them), then the other graphics
            seg = carve_overlays(carve_glyphs_from_photos(seg, rgb, lab, grad), rgb, lab, grad)
            seg = words_take_crossing_crumbs(merge_text_lines(seg, wh, lab), lab)
            photo = sum(r.area for r in seg.regions if r.kind == "photo")
            if photo > PHOTO_IS_PICTURE * max(1, int(valid.sum())):
                seg = None  # a photograph, not a design
        if seg is None:
            # A photo as the background: only crisp flat graphics on it (titles, banners)
            # come off; the photo itself stays one layer, inpainted behind them.
            found = overlay_segmentation(rgb, lab, grad, valid, bg)
            if found is not None:
                seg, bg = found
                seg = merge_text_lines(seg, wh)
        tracker.update(3, "Ordering and grouping layers")
        check()

        # ---- 4. layout ----------------------------------------------------------
        target = None if options.layers is None else int(options.layers) - 1
        groups, models = [], {}
        if seg is not None and seg.regions and (target is None or target > 0):
            if not bg.textured:
                soft = np.isin(seg.owner, [r.label for r in seg.regions
                                           if r.kind == "shadow" or r.sharp < 0.35])
                bg = refine_background(rgb, lab, valid, bg, seg.owner > 0, soft)
                seg = design_tints(seg, rgb, bg.rgb)
            picture_grain(seg, lab)
            ordering = order_regions(seg, rgb)
            groups = group_regions(seg, ordering, target, (ww, wh))
            models = build_models(seg, ordering, rgb, bg)
        tracker.update(4, "Building full-resolution layers")
        check()

        # ---- 5. layers ----------------------------------------------------------
        full_image = rgba if opaque else self._filled_colour(rgba)
        under = upsample(bg.rgb, (0, 0), (0, 0, width, height), scale, True)
        under = np.ascontiguousarray(under.reshape(height, width, 3), dtype=np.float32)
        bg_px = np.empty((height, width, 4), np.uint8)
        bg_px[..., :3] = np.clip(under * 255.0 + 0.5, 0, 255).astype(np.uint8)
        bg_px[..., 3] = 255
        layers = [LayerBuffer(bg_px, 0, 0, "Background")]
        layers += build_layers(groups, models, scale, full_image, under, check)
        del under
        tracker.update(5, "Matching the original")
        check()

        # ---- 6. exact reconstruction -------------------------------------------
        # what the background model does not explain next to an object goes with it
        claim_residue(layers, full_image, RESIDUE_LEVELS + 2.0 * bg.noise,
                      max(3, int(round(RESIDUE_REACH * max(width, height)))), check)
        match_input(layers, full_image, None if opaque else alpha_in, check,
                    grain=GRAIN_LEVELS * bg.noise / 255.0)
        if opaque:
            drop_specks(layers, full_image, max(8, int(SPECK_SHARE * width * height)))
        out = []
        for i, buf in enumerate(layers):
            cropped = buf if i == 0 and opaque else crop_to_content(buf)
            if cropped is None:
                continue
            out.append(Layer(cropped.pixels, name=cropped.name, x=cropped.x, y=cropped.y))
        if not out:  # everything was transparent after rounding: keep the input as is
            out = [Layer(rgba.copy(), name="Background")]
        tracker.update(STAGES, shortfall_message(len(out), options.layers))
        return Document(width, height, out)

    @staticmethod
    def _filled_colour(rgba: np.ndarray) -> np.ndarray:
        """Colour under transparent pixels continued from visible ones (for unblending)."""
        out = rgba.copy()
        a = rgba[..., 3]
        hole = a == 0
        if hole.any():
            h, w = a.shape
            f = min(1.0, 1024.0 / max(h, w))
            sw, sh = max(1, int(w * f)), max(1, int(h * f))
            small = cv2.resize(rgba[..., :3].astype(np.float32) / 255.0, (sw, sh), interpolation=cv2.INTER_AREA)
            wgt = cv2.resize((a > 0).astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
            filled = push_pull(small.reshape(sh, sw, 3), wgt)
            big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, 3)
            out[hole, :3] = np.clip(big[hole] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return out

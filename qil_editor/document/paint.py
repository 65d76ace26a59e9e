"""Brush strokes and layer-mask operations, Qt-free (numpy, OpenCV).

A stroke is rendered the way Photoshop renders one: round dabs are placed
along the path at a fixed spacing and combined into a *stroke coverage*
plane (each dab over the others, as at 100 % flow, so soft dabs merge into
a smooth band; coverage never exceeds 1); the target is then computed once
from its state before the stroke (``base``) and that coverage times the
opacity, so going over the same place again within one stroke never builds
up past the brush's opacity. Each mouse event
only touches the dabs' rectangle, which is what keeps live painting on a
4096² layer cheap; the finished result is one new array (one undo step).

Targets: a layer mask's grey plane (``hide`` paints 0, ``reveal`` 255), a
layer's alpha (``erase``), or its colour (``paint``, the foreground colour
over the pixels).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

import numpy as np

from .geometry import pixel_centre_map, transformed_bounds
from .layer import Layer, LayerMask

Box = tuple[int, int, int, int]  # left, top, right, bottom

MODES = ("hide", "reveal", "erase", "paint")
MIN_SIZE, MAX_SIZE = 1, 2500  # brush diameter in document pixels
DEFAULT_SPACING = 0.25  # of the diameter, Photoshop's default


def dab_profile(cx: float, cy: float, size: float, hardness: float) -> tuple[np.ndarray, int, int]:
    """One round dab centred at document point (cx, cy): float32 0..1 coverage over its pixel
    box, and the box's left/top. ``hardness`` 1 is a hard edge (antialiased over one pixel),
    0 fades from the centre to the rim (smoothstep falloff)."""
    radius = max(0.5, float(size) / 2.0)
    hardness = min(1.0, max(0.0, float(hardness)))
    left, top = math.floor(cx - radius), math.floor(cy - radius)
    right, bottom = math.ceil(cx + radius), math.ceil(cy + radius)
    xs = np.arange(left, right, dtype=np.float32) + np.float32(0.5 - cx)
    ys = np.arange(top, bottom, dtype=np.float32) + np.float32(0.5 - cy)
    dist = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
    falloff = max(1.0, radius * (1.0 - hardness))  # the soft band, at least a pixel (antialiasing)
    t = np.clip((radius - dist) / np.float32(falloff), 0.0, 1.0)
    if falloff > 1.0:
        t = t * t * (3.0 - 2.0 * t)  # smoothstep: no visible ring where the fade starts
    return t.astype(np.float32, copy=False), left, top


def dab_centres(start: tuple[float, float], end: tuple[float, float], step: float,
                carried: float) -> tuple[list[tuple[float, float]], float]:
    """Dab positions from ``start`` to ``end`` every ``step`` pixels; ``carried`` is the distance
    already travelled since the last dab (so spacing stays even across mouse events).
    Returns the centres and the new carried distance."""
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0)
    out = []
    d = step - carried
    while d <= length + 1e-9:
        f = d / length if length else 0.0
        out.append((x0 + (x1 - x0) * f, y0 + (y1 - y0) * f))
        d += step
    return out, (carried + length) % step if length else carried


def _union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class Stroke:
    """One stroke on a plane placed at ``origin`` in the document.

    ``base`` is the target before the stroke: (H, W) uint8 for ``hide`` /
    ``reveal`` / ``erase`` of a grey plane, (H, W, 4) uint8 RGBA for
    ``erase`` (the alpha) and ``paint``. It is never written; ``result``
    is a writable copy that each :meth:`to` updates in the dirty box only.
    """

    def __init__(self, base: np.ndarray, origin: tuple[int, int], mode: str, size: float,
                 hardness: float = 1.0, opacity: float = 1.0, color: Sequence[int] = (0, 0, 0),
                 spacing: float = DEFAULT_SPACING) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown brush mode {mode!r}; expected one of {', '.join(MODES)}")
        if not MIN_SIZE <= float(size) <= MAX_SIZE:
            raise ValueError(f"brush size must be {MIN_SIZE}..{MAX_SIZE} px, got {size}")
        base = np.asarray(base)
        if base.dtype != np.uint8 or base.ndim not in (2, 3) or (base.ndim == 3 and base.shape[2] != 4):
            raise ValueError(f"a stroke paints an (H, W) or (H, W, 4) uint8 plane, got {base.shape} {base.dtype}")
        if mode == "paint" and base.ndim != 3:
            raise ValueError("painting colour needs an RGBA plane")
        self.base = base
        self.result = base.copy()
        self.origin = (int(origin[0]), int(origin[1]))
        self.mode = mode
        self.size = float(size)
        self.hardness = float(hardness)
        self.opacity = float(min(1.0, max(0.0, opacity)))
        self.color = np.asarray(color[:3], np.float32)
        self.step = max(1.0, self.size * float(spacing))
        self.coverage = np.zeros(base.shape[:2], np.float32)  # lazily zeroed pages (calloc)
        self.dirty: Box | None = None  # everything changed so far, plane coordinates
        self._last: tuple[float, float] | None = None
        self._carried = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return self.base.shape[:2]

    def to(self, x: float, y: float) -> Box | None:
        """Extend the stroke to document point (x, y) (the first call places the first dab).
        Returns the box of the plane that changed (plane coordinates), or None."""
        if self._last is None:
            centres = [(x, y)]
        else:
            centres, self._carried = dab_centres(self._last, (x, y), self.step, self._carried)
        self._last = (x, y)
        box = None
        for cx, cy in centres:
            box = _union(box, self._stamp(cx - self.origin[0], cy - self.origin[1]))
        if box is not None:
            self._render(box)
            self.dirty = _union(self.dirty, box)
        return box

    def _stamp(self, cx: float, cy: float) -> Box | None:
        profile, left, top = dab_profile(cx, cy, self.size, self.hardness)
        h, w = self.shape
        l, t = max(0, left), max(0, top)
        r, b = min(w, left + profile.shape[1]), min(h, top + profile.shape[0])
        if r <= l or b <= t:
            return None
        view = self.coverage[t:b, l:r]
        dab = profile[t - top:b - top, l - left:r - left]
        view += dab * (1.0 - view)  # dabs build up toward 1 (flow 100 %), never past it
        return (l, t, r, b)

    def _render(self, box: Box) -> None:
        l, t, r, b = box
        s = self.coverage[t:b, l:r] * np.float32(self.opacity)
        base = self.base[t:b, l:r]
        if self.mode in ("hide", "reveal") or (self.mode == "erase" and base.ndim == 2):
            target = 255.0 if self.mode == "reveal" else 0.0
            value = base + (np.float32(target) - base) * s
            self.result[t:b, l:r] = np.rint(value).astype(np.uint8)
        elif self.mode == "erase":
            self.result[t:b, l:r, 3] = np.rint(base[..., 3] * (1.0 - s)).astype(np.uint8)
        else:  # paint: the colour over the pixels, straight alpha
            ab = base[..., 3].astype(np.float32) / 255.0
            ao = s + ab * (1.0 - s)
            safe = np.where(ao > 0, ao, 1.0)[..., None]
            rgb = (self.color * s[..., None] + base[..., :3] * (ab * (1.0 - s))[..., None]) / safe
            out = self.result[t:b, l:r]
            out[..., :3] = np.rint(np.clip(rgb, 0, 255)).astype(np.uint8)
            out[..., 3] = np.rint(ao * 255.0).astype(np.uint8)

    def finished(self) -> np.ndarray:
        """The result, frozen (the document keeps it as is, no copy)."""
        self.result.flags.writeable = False
        return self.result


# ----- masks ---------------------------------------------------------------------------------------

def reveal_all_mask() -> LayerMask:
    """Photoshop's 'Reveal All': an empty plane whose outside shows everything."""
    return LayerMask(np.zeros((0, 0), np.uint8), default=255)


def hide_all_mask() -> LayerMask:
    return LayerMask(np.zeros((0, 0), np.uint8), default=0)


def paintable_mask(mask: LayerMask, box: Box) -> tuple[np.ndarray, int, int]:
    """A writable copy of the mask's plane grown to cover ``box`` too (filled with its default),
    so a stroke can reach anywhere in ``box``. Returns (plane, x, y)."""
    ml, mt, mr, mb = mask.bbox
    if mask.pixels.size == 0:
        ml, mt, mr, mb = box
    l, t = min(ml, box[0]), min(mt, box[1])
    r, b = max(mr, box[2]), max(mb, box[3])
    plane = np.full((b - t, r - l), mask.default, np.uint8)
    if mask.pixels.size:
        plane[mask.y - t:mask.y - t + mask.pixels.shape[0], mask.x - l:mask.x - l + mask.pixels.shape[1]] = mask.pixels
    return plane, l, t


def trimmed_mask(mask: LayerMask) -> LayerMask:
    """The same mask with its plane cut to where it differs from its default (Photoshop stores
    the rectangle that holds something); unchanged when already tight."""
    plane = mask.pixels
    if plane.size == 0:
        return mask
    differs = plane != mask.default
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:
        return replace(mask, pixels=np.zeros((0, 0), np.uint8), x=0, y=0)
    cols = np.flatnonzero(differs.any(axis=0))
    t, b, l, r = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (t, l, b, r) == (0, 0) + plane.shape:
        return mask
    return replace(mask, pixels=np.ascontiguousarray(plane[t:b, l:r]), x=mask.x + l, y=mask.y + t)


def mask_coverage(plane: np.ndarray, x: int, y: int, like: LayerMask, box: Box) -> np.ndarray:
    """Coverage (float32 0..1, density and feather of ``like`` applied) over ``box`` of a mask
    plane being painted (placed at x, y), without building the whole mask. For the live view."""
    if like.feather <= 0.0:
        l, t, r, b = box
        out = np.full((b - t, r - l), like.default / 255.0, np.float32)
        il, it = max(l, x), max(t, y)
        ir, ib = min(r, x + plane.shape[1]), min(b, y + plane.shape[0])
        if ir > il and ib > it:
            out[it - t:ib - t, il - l:ir - l] = plane[it - y:ib - y, il - x:ir - x] * np.float32(1 / 255.0)
        if like.density < 1.0:
            out = np.float32(1.0 - like.density) + np.float32(like.density) * out
        return out
    pad = int(np.ceil(3.0 * like.feather)) + 2  # the blur reaches this far: read that much more
    l, t, r, b = box
    il, it = max(l - pad, x), max(t - pad, y)
    ir, ib = min(r + pad, x + plane.shape[1]), min(b + pad, y + plane.shape[0])
    if ir <= il or ib <= it:
        part = LayerMask(np.zeros((0, 0), np.uint8), default=like.default, density=like.density)
    else:
        part = replace(like, pixels=np.array(plane[it - y:ib - y, il - x:ir - x]), x=il, y=it)
    cov = part.coverage(box)
    return np.ones((b - t, r - l), np.float32) if cov is None else cov


def masked_pixels(layer: Layer, box: Box | None = None) -> np.ndarray:
    """The layer's pixels with its mask multiplied into their alpha (what the mask shows);
    the pixels themselves when the mask hides nothing. ``box`` (layer coordinates) limits the
    work to where the pixels are not transparent (outside it the copy is left zero)."""
    return mask_pixels(layer.pixels, layer.x, layer.y, layer.mask, box)


def mask_pixels(pixels: np.ndarray, x: int, y: int, mask: LayerMask | None, box: Box | None = None) -> np.ndarray:
    """RGBA ``pixels`` placed at (x, y) with ``mask`` multiplied into their alpha: a new array, or
    ``pixels`` itself when the mask hides nothing there (see :func:`masked_pixels`)."""
    h, w = pixels.shape[:2]
    if mask is None or w == 0 or h == 0:
        return pixels
    l, t, r, b = box if box is not None else (0, 0, w, h)
    cov = mask.coverage((x + l, y + t, x + r, y + b))
    if cov is None:
        return pixels
    out = copy_box(pixels, (l, t, r, b))
    region = out[t:b, l:r, 3]
    region[...] = np.rint(region * cov).astype(np.uint8)
    return out


def copy_box(arr: np.ndarray, box: Box) -> np.ndarray:
    """A writable array like ``arr`` holding its values inside ``box`` only; zero outside, where
    the memory stays untouched (lazily zeroed pages), so a mostly empty layer costs its box."""
    h, w = arr.shape[:2]
    l, t, r, b = box
    if (l, t, r, b) == (0, 0, w, h):
        return arr.copy()
    out = np.zeros_like(arr)
    out[t:b, l:r] = arr[t:b, l:r]
    return out


def apply_mask(layer: Layer) -> np.ndarray:
    """Pixels for 'Apply Layer Mask': the mask baked into the alpha (frozen)."""
    out = masked_pixels(layer)
    if out is layer.pixels:
        return layer.pixels
    out.flags.writeable = False
    return out


def flip_mask(mask: LayerMask, axis_sum: int, horizontal: bool) -> LayerMask:
    """The mask mirrored about the line the layer's content is mirrored about: a document
    column X goes to ``axis_sum - 1 - X`` (horizontal), likewise rows (vertical)."""
    h, w = mask.pixels.shape
    if horizontal:
        return replace(mask, pixels=np.ascontiguousarray(mask.pixels[:, ::-1]), x=axis_sum - (mask.x + w))
    return replace(mask, pixels=np.ascontiguousarray(mask.pixels[::-1]), y=axis_sum - (mask.y + h))


def transform_mask(mask: LayerMask, matrix: Sequence[Sequence[float]], layer_x: int, layer_y: int) -> LayerMask:
    """The mask under the free transform that maps the layer's local coordinates to the document
    by ``matrix`` (2x3, as for ``layer_ops.transform_pixels``): its plane resampled once, the
    outside staying its default. An empty plane (all default) stays as it is."""
    import cv2

    if mask.pixels.size == 0:
        return mask
    m = np.asarray(matrix, np.float64).reshape(2, 3)
    # mask-local -> document: the layer's map after moving from the mask's to the layer's origin
    local = m.copy()
    local[:, 2] += m[:, :2] @ np.array([mask.x - layer_x, mask.y - layer_y], np.float64)
    h, w = mask.pixels.shape
    left, top, out_w, out_h = transformed_bounds(w, h, local, "mask")
    local[:, 2] -= (left, top)
    enlarge = abs(np.linalg.det(m[:, :2])) > 1.0 + 1e-6
    plane = cv2.warpAffine(mask.pixels, pixel_centre_map(local), (out_w, out_h),
                           flags=cv2.INTER_CUBIC if enlarge else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=int(mask.default))
    return trimmed_mask(replace(mask, pixels=plane, x=int(left), y=int(top)))


__all__ = ["MODES", "Stroke", "apply_mask", "copy_box", "dab_centres", "dab_profile", "flip_mask", "hide_all_mask",
           "mask_coverage", "mask_pixels", "masked_pixels", "paintable_mask", "paintable_pixels", "reveal_all_mask", "transform_mask",
           "trimmed_mask"]


def paintable_pixels(layer: Layer, box: Box) -> tuple[np.ndarray, int, int]:
    """A writable copy of the layer's pixels grown (transparent) to cover ``box`` too, so a brush
    can paint anywhere there. Returns (pixels, x, y)."""
    l, t = min(layer.x, box[0]), min(layer.y, box[1])
    r, b = max(layer.x + layer.width, box[2]), max(layer.y + layer.height, box[3])
    if (l, t, r, b) == layer.bbox:
        return layer.pixels.copy(), layer.x, layer.y
    out = np.zeros((b - t, r - l, 4), np.uint8)
    out[layer.y - t:layer.y - t + layer.height, layer.x - l:layer.x - l + layer.width] = layer.pixels
    return out, l, t

"""What each region looks like where it is hidden: its support and fill.

A region's *support* is what it covers, seen or not: its own pixels plus the
parts of regions above it that sit inside its holes (text on a card) or its
convex hull (a disc overlapping a rectangle). Its colour model is a push-pull
fill of its flat pixels over that support, so a card stays a clean card when
its text is hidden, and its alpha model is 1 there (or, for a shadow, the
shadow's own soft alpha carried smoothly under the object that casts it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from .background import Background
from .fill import push_pull
from .ordering import Ordering
from .regions import Segmentation
from .shapes import fit_covered_shape

SOLIDITY_FOR_HULL = 0.8


@dataclass
class RegionModel:
    label: int
    kind: str
    box: tuple[int, int, int, int]   # working-resolution crop (x0, y0, x1, y1)
    own: np.ndarray                  # float32 crop, 1 where the region owns the pixel
    support: np.ndarray              # float32 crop, own + hidden parts
    interior: np.ndarray             # float32 crop, support minus its outer rim (alpha fixed)
    colour: np.ndarray               # float32 (h, w, 3) fill colour
    alpha: np.ndarray                # float32 alpha where hidden


def _hull(mask: np.ndarray) -> np.ndarray:
    out = np.zeros(mask.shape, np.uint8)
    pts = cv2.findNonZero(mask.astype(np.uint8))
    if pts is not None:
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return out.astype(bool)


def build_models(seg: Segmentation, ordering: Ordering, rgb: np.ndarray, bg: Background,
                 pad: int = 2) -> dict[int, RegionModel]:
    h, w = seg.owner.shape
    above_of: dict[int, list[int]] = {}
    for (up, low) in ordering.above:
        above_of.setdefault(low, []).append(up)
    models = {}
    for reg in seg.regions:
        ups = above_of.get(reg.label, [])
        # strokes have no hidden body, but a thin visible frame of a covered card does
        complete = bool(ups) and reg.kind != "text"
        x0, y0, x1, y1 = reg.bbox
        if complete:
            # a fitted shape may reach under what covers it, beyond the visible part's box
            for u in ups:
                ux0, uy0, ux1, uy1 = seg.region(u).bbox
                x0, y0, x1, y1 = min(x0, ux0), min(y0, uy0), max(x1, ux1), max(y1, uy1)
        x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
        x1, y1 = min(w, x1 + pad), min(h, y1 + pad)
        crop = seg.owner[y0:y1, x0:x1]
        own = crop == reg.label
        support = own.copy()
        near_above = np.zeros_like(own)
        hidden_alpha = None
        if complete:
            above = np.isin(crop, ups)
            # Rims of what lies on top are mixed pixels: not evidence about this region.
            near_above = cv2.dilate(above.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            covered = (ndimage.binary_fill_holes(own) & above) if reg.kind != "thin" else np.zeros_like(own)
            fit = None
            if reg.kind in ("shape", "photo", "thin"):
                real = ~near_above
                edge = np.zeros_like(real)  # the canvas edge is not the object's outline
                edge[:, :1] |= x0 == 0
                edge[:, -1:] |= x1 == w
                edge[:1] |= y0 == 0
                edge[-1:] |= y1 == h
                fit = fit_covered_shape(own, real & ~edge, own | above)
            if fit is not None:
                hidden = (fit > 0.01) & above & ~own
                covered |= hidden
                hidden_alpha = np.where(hidden, fit, 0.0).astype(np.float32)
            elif reg.kind in ("shadow", "photo", "shape"):  # not thin: an arc has no body
                hull = _hull(own)
                solid = own.sum() / max(1, hull.sum())
                if reg.kind == "shadow" or solid >= SOLIDITY_FOR_HULL:
                    covered |= hull & above
            support |= covered
        img = rgb[y0:y1, x0:x1]
        data = own & seg.core[y0:y1, x0:x1] & ~near_above
        if reg.kind in ("thin", "shadow") or (reg.kind == "text" and data.sum() < 0.2 * own.sum()):
            colour = np.broadcast_to(reg.rgb.astype(np.float32), img.shape).copy()
        else:
            if reg.kind == "photo" or data.sum() < 4:
                data = own & ~near_above
                if data.sum() < 4:
                    data = own
            colour = push_pull(img, data.astype(np.float32))
        if reg.kind == "shadow":
            under = bg.rgb[y0:y1, x0:x1]
            d = colour - under
            a = ((img - under) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-6)
            data = own & ~near_above
            if data.sum() < 4:
                data = own
            alpha = np.clip(push_pull(np.clip(a, 0, 1), data.astype(np.float32)), 0, 1)
        else:
            alpha = np.ones(own.shape, np.float32)
        if hidden_alpha is not None:
            # the fitted outline's own anti-aliasing where it runs under the object on top
            edge_px = hidden_alpha > 0
            alpha = np.where(edge_px, np.maximum(hidden_alpha, 0.0), alpha).astype(np.float32)
        if reg.kind == "text":
            # Only the glyphs' own flat strokes are surely opaque; the gaps between
            # letters that the region owns at working size are left to unblending.
            strokes = own & seg.core[y0:y1, x0:x1]
            interior = cv2.erode(strokes.astype(np.uint8), np.ones((3, 3), np.uint8))
        elif reg.kind in ("shape", "photo"):
            # The outer rim keeps a free (unblended) alpha; hidden parts next to what
            # covers them stay inside the support, so they are not eroded away.
            interior = cv2.erode(support.astype(np.uint8), np.ones((3, 3), np.uint8),
                                 borderType=cv2.BORDER_REPLICATE)
            if hidden_alpha is not None:  # hidden: the fitted alpha, not unblending
                interior = np.maximum(interior, (hidden_alpha > 0).astype(np.uint8))
        else:
            interior = ((support & ~own) | (near_above & support)).astype(np.uint8)
        models[reg.label] = RegionModel(reg.label, reg.kind, (x0, y0, x1, y1),
                                        own.astype(np.float32), support.astype(np.float32),
                                        interior.astype(np.float32),
                                        colour.astype(np.float32), alpha.astype(np.float32))
    return models

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

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .background import Background
from .fill import push_pull
from .ordering import Ordering
from .regions import BG, Segmentation
from .shapes import fit_covered_shape, hull_mask
from .tints import seen_through, tint_of

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
    tint: tuple[float, np.ndarray] | None = None  # (1 - a, a c): a translucent shape over graphics


def _caster(reg, ups: list[int], ordering: Ordering, models: dict) -> "RegionModel | None":
    """The object that casts shadow ``reg``: the one above it it shares most outline with."""
    if reg.kind != "shadow":
        return None
    cands = [u for u in ups if u in models and models[u].kind in ("shape", "photo", "thin", "text")]
    if not cands:
        return None
    return models[max(cands, key=lambda u: ordering.contact[reg.label, u])]


def _stacked_above(label: int, above_of: dict[int, list[int]]) -> list[int]:
    """Every region above ``label``, directly or through a chain of 'lies above'."""
    seen: set[int] = set()
    stack = list(above_of.get(label, []))
    while stack:
        u = stack.pop()
        if u not in seen and u != label:
            seen.add(u)
            stack.extend(above_of.get(u, []))
    return sorted(seen)


SHADOW_SIGMAS = (1.0, 2.0, 3.5, 5.0, 7.0, 10.0)


def shadow_of(caster: "RegionModel", box, alpha: np.ndarray, data: np.ndarray,
              clear: np.ndarray) -> np.ndarray | None:
    """A drop shadow as its caster's shape, offset and blurred: ``k * blur(shift(S))``.

    ``alpha`` is the shadow's measured alpha in ``box`` (working resolution), trusted on
    ``data``; ``clear`` is background around it where the shadow must fade to nothing.
    Offset, blur and strength are the least-squares best over a small grid. None when
    no such shadow explains what is seen (then the shadow is filled from itself).
    """
    x0, y0, x1, y1 = box
    bh, bw = y1 - y0, x1 - x0
    shape = np.zeros((bh, bw), np.float32)
    cx0, cy0, cx1, cy1 = caster.box
    sx0, sy0, sx1, sy1 = max(x0, cx0), max(y0, cy0), min(x1, cx1), min(y1, cy1)
    if sx1 <= sx0 or sy1 <= sy0:
        return None
    shape[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = caster.support[sy0 - cy0:sy1 - cy0, sx0 - cx0:sx1 - cx0]
    ring = clear & ~data
    ys, xs = np.nonzero(data | ring)
    if data.sum() < 16:
        return None
    if ys.size > 3000:  # a sample is plenty for four numbers
        pick = np.random.default_rng(0).choice(ys.size, 3000, replace=False)
        ys, xs = ys[pick], xs[pick]
    target = np.where(data, alpha, 0.0)[ys, xs].astype(np.float32)
    wts = np.where(data[ys, xs], 1.0, 0.5).astype(np.float32)
    reach = int(min(24, max(4, 0.08 * max(cx1 - cx0, cy1 - cy0))))
    pad = reach + 3
    blurs = {sigma: cv2.GaussianBlur(np.pad(shape, pad), (0, 0), sigma) for sigma in SHADOW_SIGMAS}

    def score(sigma, dx, dy):
        b = blurs[sigma][ys + pad - dy, xs + pad - dx]
        bb = float((wts * b * b).sum())
        if bb < 1e-6:
            return None
        k = float((wts * b * target).sum()) / bb
        if not 0.05 <= k <= 1.0:
            return None
        return float((wts * (target - k * b) ** 2).sum()), sigma, dx, dy, k

    step = max(1, reach // 6)
    best = None
    for sigma in SHADOW_SIGMAS:  # coarse grid, then the neighbourhood of the best
        for dy in range(-reach, reach + 1, step):
            for dx in range(-reach, reach + 1, step):
                r = score(sigma, dx, dy)
                if r is not None and (best is None or r[0] < best[0]):
                    best = r
    if best is None:
        return None
    _, sigma0, dx0, dy0, _ = best
    for sigma in SHADOW_SIGMAS:
        for dy in range(max(-reach, dy0 - step), min(reach, dy0 + step) + 1):
            for dx in range(max(-reach, dx0 - step), min(reach, dx0 + step) + 1):
                r = score(sigma, dx, dy)
                if r is not None and r[0] < best[0]:
                    best = r
    err, sigma, dx, dy, k = best
    energy = float((wts * target * target).sum())
    if energy <= 0 or err > 0.15 * energy:
        return None
    blurred = blurs[sigma]
    out = k * blurred[pad - dy:pad - dy + bh, pad - dx:pad - dx + bw]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def build_models(seg: Segmentation, ordering: Ordering, rgb: np.ndarray, bg: Background,
                 pad: int = 2) -> dict[int, RegionModel]:
    h, w = seg.owner.shape
    rgb = seen_through(seg, rgb)
    above_of: dict[int, list[int]] = {}
    for (up, low) in ordering.above:
        above_of.setdefault(low, []).append(up)
    models = {}
    # shadows last: a shadow is modelled from its caster's completed shape
    for reg in sorted(seg.regions, key=lambda r: r.kind == "shadow"):
        ups = above_of.get(reg.label, [])
        caster = _caster(reg, ups, ordering, models)
        # strokes have no hidden body, but a thin visible frame of a covered card does
        complete = bool(ups) and reg.kind != "text"
        x0, y0, x1, y1 = reg.bbox
        if complete:
            # a fitted shape may reach under what covers it, beyond the visible part's box
            for u in ups:
                ux0, uy0, ux1, uy1 = seg.region(u).bbox
                x0, y0, x1, y1 = min(x0, ux0), min(y0, uy0), max(x1, ux1), max(y1, uy1)
        if caster is not None:
            cx0, cy0, cx1, cy1 = caster.box
            x0, y0, x1, y1 = min(x0, cx0), min(y0, cy0), max(x1, cx1), max(y1, cy1)
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
                fit = fit_covered_shape(own, real & ~edge, own | above, robust=reg.kind == "shape")
            if fit is not None:
                hidden = (fit > 0.01) & above & ~own
                covered |= hidden
                hidden_alpha = np.where(hidden, fit, 0.0).astype(np.float32)
            elif reg.kind in ("shadow", "photo", "shape"):  # not thin: an arc has no body
                hull = hull_mask(own)
                solid = own.sum() / max(1, hull.sum())
                if reg.kind == "shadow" or solid >= SOLIDITY_FOR_HULL:
                    covered |= hull & above
            support |= covered
        if "tint_cover" in reg.extras:  # what a translucent shape lies over is under it too
            support |= reg.extras["tint_cover"][y0:y1, x0:x1]
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
            cast = None
            if caster is not None:
                cast = shadow_of(caster, (x0, y0, x1, y1), np.clip(a, 0, 1), data,
                                 (crop == BG) & ~near_above)
            if cast is None and "cast" in reg.extras:
                # as fitted where it was found (overlays._drop_shadows): a frame's shadow
                # shows as a strip too thin to fit it again from
                cast = reg.extras["cast"][y0:y1, x0:x1]
            if cast is not None:
                # the caster's shape, offset and blurred, where the shadow cannot be seen;
                # what the fit misses along the visible part is carried in smoothly, so
                # the hidden part meets the visible one without a seam
                miss = np.where(data, np.clip(a, 0, 1) - cast, 0.0).astype(np.float32)
                fix = cv2.GaussianBlur(push_pull(miss, data.astype(np.float32)), (0, 0), 2.0)
                alpha = np.clip(cast + np.where(cast > 0.02, fix, 0.0), 0.0, 1.0).astype(np.float32)
                # hidden wherever anything stacked above it lies, directly or through what
                # covers its caster (a disc on the photo that casts it)
                hidden = cv2.dilate(np.isin(crop, _stacked_above(reg.label, above_of)).astype(np.uint8),
                                    np.ones((5, 5), np.uint8)).astype(bool)
                support = own | ((cast > 0.02) & (near_above | hidden))
        else:
            alpha = np.ones(own.shape, np.float32)
        if hidden_alpha is not None:
            # the fitted outline's own anti-aliasing where it runs under the object on top
            edge_px = hidden_alpha > 0
            alpha = np.where(edge_px, np.maximum(hidden_alpha, 0.0), alpha).astype(np.float32)
        fill = reg.extras.get("fill")
        if fill is not None:  # one flat colour at one opacity (overlays: a translucent shape, a frame)
            colour[...] = fill[1]
            alpha = alpha * np.float32(fill[0])
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
                                        colour.astype(np.float32), alpha.astype(np.float32),
                                        tint_of(reg))
    return models

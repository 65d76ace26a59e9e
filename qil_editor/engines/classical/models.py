"""What each region looks like where it is hidden: its support and fill.

A region's *support* is what it covers, seen or not: its own pixels plus the
parts of regions above it that sit inside its holes (text on a card) or its
convex hull (a disc overlapping a rectangle). Its colour model is a push-pull
fill of its flat pixels over that support, so a card stays a clean card when
its text is hidden, and its alpha model is 1 there (or, for a shadow, the
shadow's own soft alpha carried smoothly under the object that casts it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .background import Background
from .blends import blend_alpha, blend_residual, shadow_colour
from .colour import rgb_to_lab
from .fill import push_pull
from .glow import glow_of
from .grouping import GRAINLESS
from .ordering import Ordering
from .photo_blobs import grain_body
from .regions import BG, Segmentation
from .shapes import fit_covered_shape, hull_mask
from .softfit import capped_strength, caster_shape, explains, fit_samples
from .tints import seen_through, tint_of

SOLIDITY_FOR_HULL = 0.8
PIECE_SHARE = 0.1  # share of a region a separate piece needs to count as one of its pieces
PIECES_OF_HULL = 0.5  # share of their hull an object's pieces hold for the hull to be completed


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


def _in_pieces(own: np.ndarray) -> bool:
    """Does ``own`` fall in two or more pieces of a body each (``PIECE_SHARE`` of it or more)?"""
    n, _, stats, _ = cv2.connectedComponentsWithStats(own.astype(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= PIECE_SHARE * max(1, int(own.sum()))).sum()) >= 2


def _caster(reg, ups: list[int], ordering: Ordering, models: dict) -> "RegionModel | None":
    """The object that casts shadow ``reg``: the one above it it shares most outline with."""
    if reg.kind != "shadow":
        return None
    cands = [u for u in ups if u in models and models[u].kind in ("shape", "photo", "thin", "text")]
    if not cands:
        return None
    if reg.extras.get("caster") in cands:  # found by its caster's shape (overlays)
        return models[reg.extras["caster"]]
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


def _covers(ordering: Ordering, above_of: dict[int, list[int]]) -> dict[int, list[int]]:
    """Per region, the regions that may hide part of it: those said to lie above it, and
    those it touches that the final order puts above it. A pair decided the other way by a
    weak cue and then overruled by the order is dropped from ``ordering.above``; the region
    ranked on top still covers the other in the stack, so the covered one is completed
    under it (a photo lying on a card, its edge taken for the card's)."""
    rank = ordering.rank()
    out = {low: list(ups) for low, ups in above_of.items()}
    n = ordering.contact.shape[0]
    for a in range(1, n):
        for b in np.flatnonzero(ordering.contact[a, 1:]) + 1:
            b = int(b)
            if a in rank and b in rank and rank[b] > rank[a] and b not in out.get(a, []):
                out.setdefault(a, []).append(b)
    return out


def _lying_on(label: int, box, models: dict, above_of: dict[int, list[int]]) -> np.ndarray:
    """Where, in ``box``, region ``label`` lies on another object (the completed support of
    a region already modelled that is not stacked above it), not on the background."""
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0), bool)
    above = set(_stacked_above(label, above_of))
    for m in models.values():
        if m.label in above or m.kind == "shadow":
            continue
        mx0, my0, mx1, my1 = m.box
        ix0, iy0, ix1, iy1 = max(x0, mx0), max(y0, my0), min(x1, mx1), min(y1, my1)
        if ix1 > ix0 and iy1 > iy0:
            out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] |= m.support[iy0 - my0:iy1 - my0, ix0 - mx0:ix1 - mx0] > 0
    return out


SHADOW_ON_MISS = 0.02   # RGB miss of a pixel from a shape's fill darkened as the fitted shadow says
SHADOW_ON_FIT = 0.1     # how far a pixel's darkening may be from the fitted strength and still be the shadow's
SHADOW_ON_ALPHA = 0.03  # fitted shadow strength below which a shape is not said to be darkened


def _shadow_on_shapes(label: int, caster, box, cast: np.ndarray, col: np.ndarray, rgb: np.ndarray,
                      models: dict, rank: dict[int, int]) -> np.ndarray:
    """Where, in ``box``, shadow ``label`` (fitted strength ``cast``, colour ``col``) falls on
    a shape it lies above, and that shape's fill there made clean.

    Segmentation tells a shadow from the background darkened; the part falling on a card
    beneath is that card's colour darkened and stays in the card's region, so the card's
    fill carried the dark band and the shadow's layer lacked it. The card's clean fill is
    carried in from its pixels out of the shadow's reach; its pixels that are that fill
    darkened towards the shadow's colour by about the fitted strength are the shadow's
    (the card keeps them under it, clean)."""
    x0, y0, x1, y1 = box
    out = np.zeros(cast.shape, bool)
    for m in models.values():
        if m.kind != "shape" or m.label == caster.label or rank.get(m.label, -1) > rank.get(label, -1):
            continue
        mx0, my0, mx1, my1 = m.box
        ix0, iy0, ix1, iy1 = max(x0, mx0), max(y0, my0), min(x1, mx1), min(y1, my1)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        reach = np.zeros(m.own.shape, bool)
        reach[iy0 - my0:iy1 - my0, ix0 - mx0:ix1 - mx0] = cast[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] > 0.02
        own = m.own > 0
        if not (own & reach).any() or (own & ~reach).sum() < 16:
            continue
        img = rgb[my0:my1, mx0:mx1].astype(np.float32)
        clean = push_pull(img, (own & ~reach).astype(np.float32))
        a = np.zeros(m.own.shape, np.float32)
        a[iy0 - my0:iy1 - my0, ix0 - mx0:ix1 - mx0] = cast[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        a_px, miss = blend_residual(img, clean, col)
        took = own & reach & (a > SHADOW_ON_ALPHA) & (miss < SHADOW_ON_MISS) & (np.abs(a_px - a) < SHADOW_ON_FIT)
        if not took.any():
            continue
        m.colour[took] = clean[took]
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] |= took[iy0 - my0:iy1 - my0, ix0 - mx0:ix1 - mx0]
    return out


SHADOW_TINT_GAIN = 0.5  # share of black's miss a tinted shadow colour must come under to be taken


def _black_explains(img: np.ndarray, under: np.ndarray) -> bool:
    """Whether a black shadow explains ``img`` over ``under`` about as well as the best tinted
    one. The usual drop shadow is black; over a flat page colour and alpha trade off along
    one line, so a few pixels of a caster's or a neighbour's rim tint the fitted colour
    (a purple disc's shadow came out purple and too strong); a tint is taken only where it
    explains the shadow far better."""
    _, black = blend_residual(img, under, np.zeros(3, np.float32))
    _, tinted = blend_residual(img, under, shadow_colour(img, under, light=True))
    return float((tinted ** 2).mean()) >= SHADOW_TINT_GAIN * float((black ** 2).mean())


PHOTO_RIM = 2  # px of soft rim a picture's region holds beyond its half-alpha outline


def _cast_shape(caster: "RegionModel") -> "RegionModel":
    """The caster as its shadow is drawn from: a picture's region holds its soft rim (a
    blurred or anti-aliased edge, faint pixels the hysteresis took) a few pixels beyond
    where its alpha is one half, and a shadow cast from that outline comes out offset too
    little and too weak; the rim is taken off."""
    if caster.kind != "photo":
        return caster
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * PHOTO_RIM + 1, 2 * PHOTO_RIM + 1))
    return replace(caster, support=cv2.erode((caster.support > 0).astype(np.uint8), k).astype(np.float32))


SHADOW_SIGMAS = (1.0, 2.0, 3.5, 5.0, 7.0, 10.0, 14.0)
SHADOW_FINE = 1.12      # ratio between neighbouring blurs tried around the coarse best


def _sample(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """``img`` at (ys - dy, xs - dx), bilinear: a shadow's offset is rarely a whole pixel."""
    iy, ix = int(np.floor(dy)), int(np.floor(dx))
    ty, tx = np.float32(dy - iy), np.float32(dx - ix)
    y0, x0 = ys - iy, xs - ix
    if ty == 0 and tx == 0:
        return img[y0, x0]
    top = img[y0, x0] * (1 - tx) + img[y0, x0 - 1] * tx
    bot = img[y0 - 1, x0] * (1 - tx) + img[y0 - 1, x0 - 1] * tx
    return top * (1 - ty) + bot * ty


def shadow_of(caster: "RegionModel", box, alpha: np.ndarray, data: np.ndarray,
              clear: np.ndarray) -> np.ndarray | None:
    """A drop shadow as its caster's shape, offset and blurred: ``k * blur(shift(S))``.

    ``alpha`` is the darkening measured in ``box`` (working resolution), trusted on
    ``data`` (the shadow's visible pixels) and on ``clear`` (background around it, where
    the shadow's faint tail still shows: taken as measured, not as zero, or the fit
    prefers a shadow too weak and too sharp). Offset (to a half pixel), blur and strength
    are the least-squares best, each pixel's miss capped (pixels of another object's
    shadow or a glyph taken in with this one do not pull it their way). None when no such
    shadow explains what is seen (then the shadow is filled from itself).
    """
    shape = caster_shape(caster.support, caster.box, box)
    if shape is None or data.sum() < 16:
        return None
    bh, bw = shape.shape
    cx0, cy0, cx1, cy1 = caster.box
    reach = int(min(24, max(4, 0.08 * max(cx1 - cx0, cy1 - cy0))))
    # the background within the shadow's reach; farther out it says nothing about it
    near = cv2.dilate(((shape > 0) | data).astype(np.uint8),
                      np.ones((2 * reach + 31, 2 * reach + 31), np.uint8)).astype(bool)
    ys, xs, base, on_data = fit_samples(data, clear, near, 2000)
    target = np.clip(alpha[ys, xs], 0.0, 1.0).astype(np.float32)
    pad = reach + 3
    blurs: dict[float, np.ndarray] = {}
    py, px = ys + pad, xs + pad

    def blurred(sigma):
        if sigma not in blurs:
            blurs[sigma] = cv2.GaussianBlur(np.pad(shape, pad), (0, 0), sigma)
        return blurs[sigma]

    def score(wts, sigma, dx, dy):
        fit = capped_strength(_sample(blurred(sigma), py, px, dy, dx), target, wts)
        return None if fit is None else (fit[0], sigma, dx, dy, fit[1])

    def search(wts, cands, best=None):
        for c in cands:
            r = score(wts, *c)
            if r is not None and (best is None or r[0] < best[0]):
                best = r
        return best

    def fit(wts):
        step = max(1, reach // 6)
        best = search(wts, [(s, dx, dy) for s in SHADOW_SIGMAS for dy in range(-reach, reach + 1, step)
                            for dx in range(-reach, reach + 1, step)])
        if best is None:
            return None
        _, s0, dx0, dy0, _ = best
        steps = range(-step, step + 1)
        best = search(wts, [(s, dx0 + i, dy0 + j) for s in SHADOW_SIGMAS for j in steps for i in steps
                            if abs(dx0 + i) <= reach and abs(dy0 + j) <= reach], best)
        # the blur between the coarse steps, then the offset to half a pixel
        _, s0, dx0, dy0, _ = best
        fine = [s0 * SHADOW_FINE ** j for j in range(-3, 4) if j]
        best = search(wts, [(s, dx0 + i, dy0 + j) for s in fine for j in (-1, 0, 1) for i in (-1, 0, 1)], best)
        _, s0, dx0, dy0, _ = best
        return search(wts, [(s0, dx0 + i, dy0 + j) for j in (-0.5, 0, 0.5) for i in (-0.5, 0, 0.5)], best)

    best = fit(base)
    if best is None:
        return None
    err, sigma, dx, dy, k = best
    if not explains(err, (target - k * _sample(blurred(sigma), py, px, dy, dx)) ** 2, target, base, on_data):
        return None
    mat = np.float32([[1, 0, dx - pad], [0, 1, dy - pad]])
    out = k * cv2.warpAffine(blurred(sigma), mat, (bw, bh), flags=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def build_models(seg: Segmentation, ordering: Ordering, rgb: np.ndarray, bg: Background,
                 pad: int = 2) -> dict[int, RegionModel]:
    h, w = seg.owner.shape
    rgb = seen_through(seg, rgb)
    above_of: dict[int, list[int]] = {}
    for (up, low) in ordering.above:
        above_of.setdefault(low, []).append(up)
    covers = _covers(ordering, above_of)
    rank = ordering.rank()
    models = {}
    cast_by: set[int] = set()   # casters whose shadow is already modelled whole
    # shadows last: a shadow is modelled from its caster's completed shape (the biggest
    # piece of it first)
    for reg in sorted(seg.regions, key=lambda r: (r.kind == "shadow", -r.area if r.kind == "shadow" else 0)):
        caster = _caster(reg, above_of.get(reg.label, []), ordering, models)
        ups = covers.get(reg.label, [])
        # strokes have no hidden body, but a thin visible frame of a covered card does
        complete = bool(ups) and reg.kind != "text"
        if complete and reg.kind != "shadow":
            # what lies on what covers it hides it too (a picture set in a frame on a card,
            # a word on a card over a disc): its hidden part runs on under all of them (a
            # shadow's hidden part is its caster's shape, cast)
            ups = _stacked_above(reg.label, covers)
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
                # guesses at the hidden part for shapes only: a picture's soft rim rounds its
                # corners off, a corner radius measured there is no card's
                fit = fit_covered_shape(own, real & ~edge, own | above, robust=reg.kind == "shape",
                                        rectangle=reg.kind in ("shape", "photo"), guess=reg.kind == "shape")
            if fit is not None:
                hidden = (fit > 0.01) & above & ~own
                covered |= hidden
                hidden_alpha = np.where(hidden, fit, 0.0).astype(np.float32)
            elif reg.kind in ("shadow", "photo", "shape"):  # not thin: an arc has no body
                hull = hull_mask(own)
                solid = own.sum() / max(1, hull.sum())
                # pieces of one object on either side of what lies across it (joined by
                # ``regions._bridge_occluded``, which found the gap between them covered):
                # their hull is the object while they hold half of it (a picture's pieces
                # only when it is one, not a busy crumb of a shadow's rim: ``_busy_crumb``)
                pieces = solid >= PIECES_OF_HULL and _in_pieces(own) and not (
                    reg.kind == "photo" and reg.extras.get("grain", 1.0) < GRAINLESS)
                if reg.kind == "shadow" or solid >= SOLIDITY_FOR_HULL or pieces:
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
            if reg.kind == "photo" and complete and support.sum() > own.sum():
                # what is hidden is carried in from the picture's body, not from the rims of
                # a shadow or a glow the region took along beside it
                body = data & grain_body(own, rgb_to_lab(img), 0.0)
                if body.sum() >= 0.5 * data.sum():
                    data = body
            colour = push_pull(img, data.astype(np.float32))
        if reg.kind == "shadow":
            under = bg.rgb[y0:y1, x0:x1]
            data = own & ~near_above
            if data.sum() < 4:
                data = own
            # only where it falls on the background is the shadow the background darkened:
            # its colour and darkening are measured there, not on a card or photo beneath
            on_bg = data & ~_lying_on(reg.label, (x0, y0, x1, y1), models, above_of)
            seen = on_bg if on_bg.sum() >= 16 else data
            if on_bg.sum() >= 16 and on_bg.sum() < 0.8 * data.sum():
                colour[...] = shadow_colour(img[on_bg], under[on_bg], light=True)
            # judged clear of every other object's rim (mixed pixels)
            clean = on_bg & ~cv2.dilate(((crop != reg.label) & (crop != BG)).astype(np.uint8),
                                        np.ones((5, 5), np.uint8)).astype(bool)
            if clean.sum() >= 16 and _black_explains(img[clean], under[clean]):
                colour[...] = 0.0
            a = np.clip(blend_alpha(img, under, colour), 0, 1)
            alpha = np.clip(push_pull(a, data.astype(np.float32)), 0, 1)
            cast = None
            # found on a picture region (overlays._shadows_on_photos): fitted there against the
            # picture; ``a`` measures it against the page's background, which is not beneath it
            on_picture = "on" in reg.extras
            # another piece of a shadow already modelled whole would double it up under its caster
            if caster is not None and caster.label not in cast_by and not on_picture:
                clear = (crop == BG) & ~near_above
                cast = shadow_of(_cast_shape(caster), (x0, y0, x1, y1), a, seen, clear)
                if cast is None:  # no offset shadow: a glow, the caster's shape grown and blurred
                    cast = glow_of(caster, (x0, y0, x1, y1), a, seen, clear)
            if cast is None and "cast" in reg.extras:
                # as fitted where it was found (overlays._drop_shadows): a frame's shadow
                # shows as a strip too thin to fit it again from
                cast = reg.extras["cast"][y0:y1, x0:x1]
            if cast is not None:
                if caster is not None:
                    cast_by.add(caster.label)
                # the caster's shape, offset and blurred, where the shadow cannot be seen;
                # what the fit misses along the visible part is carried in smoothly, so
                # the hidden part meets the visible one without a seam
                miss = np.where(seen & ~on_picture, a - cast, 0.0).astype(np.float32)
                fix = cv2.GaussianBlur(push_pull(miss, seen.astype(np.float32)), (0, 0), 2.0)
                alpha = np.clip(cast + np.where(cast > 0.02, fix, 0.0), 0.0, 1.0).astype(np.float32)
                # hidden wherever anything stacked above it lies, directly or through what
                # covers its caster (a disc on the photo that casts it)
                hidden = cv2.dilate(np.isin(crop, _stacked_above(reg.label, above_of)).astype(np.uint8),
                                    np.ones((5, 5), np.uint8)).astype(bool)
                support = own | ((cast > 0.02) & (near_above | hidden))
                support |= _shadow_on_shapes(reg.label, caster, (x0, y0, x1, y1), cast, colour[0, 0],
                                             rgb, models, rank)
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

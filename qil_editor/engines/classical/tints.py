"""Translucent flat shapes: a colour laid at one opacity over what lies beneath.

Compositing is linear per pixel, ``I = (1 - a) U + a c``: whatever runs on unbroken
under the shape's outline (a photo, a gradient) shows inside scaled by ``1 - a`` and
shifted by ``a c``. Fitting that pair tells a tint from an opaque fill, gives the
layer its colour and opacity, recovers exactly what lies under it, and says which
neighbours it lies over (they show through it) and which lie over it.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .colour import delta_e, rgb_to_lab
from .regions import Region, Segmentation, relabel
from .shapes import hull_mask

TINT_SLOPE = (0.08, 0.6)  # photo share (1 - opacity) that shows through a translucent shape
TINT_FIT = 0.6           # share of the inside's variation along the outline the tint explains
TINT_RMS = 0.03          # ... with this little left over (RGB, 0..1)
TINT_TOL = 0.012         # a pair of local means (RGB) that agrees with a tint: the grain averaged out
TINT_STEP = 0.05         # mean RGB step across its outline: an outline at all
TINT_INLIERS = 0.6       # share of the outline where the outside is the photo under the shape
TINT_SHOWS = 12.0        # CIE76: what shows under a tint is that graphic's colour


def untint(px: np.ndarray, slope: float, offset: np.ndarray) -> np.ndarray:
    """What shows under a translucent shape fitted as ``(slope, offset)`` = (1 - a, a c):
    ``(I - a c) / (1 - a)``."""
    return np.clip((px - offset) / slope, 0.0, 1.0)


def _band_means(rgb: np.ndarray, inner: np.ndarray, outer: np.ndarray, win: int = 7):
    """Local means of the image on both sides of an outline, paired where both bands show
    within a ``win`` window: (inside (N, 3), outside (N, 3))."""
    k = (win, win)
    wi = cv2.blur(inner.astype(np.float32), k)
    wo = cv2.blur(outer.astype(np.float32), k)
    pts = (wi > 0.15) & (wo > 0.15)
    mi = cv2.blur(rgb * inner[..., None], k)[pts] / wi[pts][:, None]
    mo = cv2.blur(rgb * outer[..., None], k)[pts] / wo[pts][:, None]
    return mi, mo


def tint_fit(rgb: np.ndarray, mask: np.ndarray, taken: np.ndarray,
             min_step: float = TINT_STEP) -> tuple[float, np.ndarray] | None:
    """(1 - a, a c) when ``mask`` is a flat colour ``c`` laid at opacity ``a`` over the photo.

    Compositing is linear per pixel, ``I = (1 - a) P + a c``, and the photo runs on
    unbroken across the shape's outline, so the inside just within the outline is the
    outside just beyond it, scaled by a common ``1 - a`` and shifted by ``a c``. Fitted on
    local means paired along the outline (what other graphics, ``taken``, occupy is no
    photo and is left out); kept when the fit explains the inside's variation along the
    outline and the colour is a colour."""
    ys, xs = np.nonzero(mask)
    if ys.size < 32:
        return None
    h, w = mask.shape
    y0, y1 = max(0, ys.min() - 16), min(h, ys.max() + 17)
    x0, x1 = max(0, xs.min() - 16), min(w, xs.max() + 17)
    m = mask[y0:y1, x0:x1]
    if ndimage.binary_fill_holes(m).sum() > 1.5 * m.sum():
        return None  # a ring (a frame) around something else: no one flat tint
    img = rgb[y0:y1, x0:x1]
    d_in = cv2.distanceTransform(np.pad(m, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    d_out = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
    free = ~cv2.dilate(taken[y0:y1, x0:x1].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) | m
    inner = (d_in > 0) & (d_in <= 3)
    outer = (d_out >= 3) & (d_out <= 5) & free
    inside, outside = _band_means(img, inner, outer)
    if len(inside) < 24:
        return None
    if float(outside.std(0).max()) < 0.02:
        return None  # the photo along the outline is too even to tell a tint from a fill
    # the slope most pairs agree on (pairs whose outside is not the photo under the shape,
    # a graphic found only in part or a shape on top, disagree), then least squares on those
    best = None
    for slope in np.arange(0.0, 0.72, 0.02):
        offset = np.median(inside - slope * outside, axis=0)
        hits = int((np.abs(inside - slope * outside - offset).max(-1) < TINT_TOL).sum())
        if best is None or hits > best[0]:
            best = (hits, slope, offset)
    keep = np.abs(inside - best[1] * outside - best[2]).max(-1) < TINT_TOL
    if keep.sum() < max(24, TINT_INLIERS * len(inside)):
        return None
    o, i = outside[keep], inside[keep]
    oc = o - o.mean(0)
    var_o = float((oc * oc).sum())
    if var_o < 1e-9:
        return None
    slope = float((oc * (i - i.mean(0))).sum()) / var_o
    offset = i.mean(0) - slope * o.mean(0)
    if not TINT_SLOPE[0] <= slope <= TINT_SLOPE[1]:
        return None
    inside, outside = inside[keep], outside[keep]
    ic = inside - inside.mean(0)
    res = inside - (slope * outside + offset)
    explained = 1.0 - float((res * res).sum()) / max(float((ic * ic).sum()), 1e-9)
    if explained < TINT_FIT or float(np.sqrt((res * res).mean())) > TINT_RMS:
        return None
    if float(np.abs(inside - outside).mean()) < min_step:
        return None
    colour = offset / (1.0 - slope)
    if colour.min() < -0.05 or colour.max() > 1.05:
        return None
    return slope, offset.astype(np.float32)


def _tint_neighbours(owner: np.ndarray, regions: list[Region], lbl: int, rgb: np.ndarray,
                     slope: float, offset: np.ndarray) -> None:
    """Which graphics a translucent shape lies over, and which lie over it.

    It shows what it covers: where it lies over a neighbour, its pixels next to that
    neighbour, with the tint taken off (``(I - a c) / (1 - a)``), are the neighbour's colour;
    where the neighbour lies over it, they are the photo. The verdicts are kept on the
    region as masks (``tint_over``, ``tint_under``: the neighbours' pixels), which
    ``ordering.order_regions`` takes before its geometric cues: a thin overlap gives
    those little to go on, and a translucent shape has no bite to show."""
    mine = owner == lbl
    near = cv2.dilate(mine.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    over = np.zeros_like(mine)
    under = np.zeros_like(mine)
    for n in np.unique(owner[near & ~mine]):
        if n == 0:
            continue
        theirs = owner == n
        dist = cv2.distanceTransform((~theirs).astype(np.uint8), cv2.DIST_L2, 3)
        zone = mine & (dist >= 2.0) & (dist <= 6.0)
        if zone.sum() < 8:
            continue
        shown = rgb_to_lab(untint(rgb[zone], slope, offset))
        if float((delta_e(shown, regions[n - 1].lab) < TINT_SHOWS).mean()) >= 0.5:
            over |= theirs
        else:
            under |= theirs
    regions[lbl - 1].extras["tint_over"] = over
    regions[lbl - 1].extras["tint_under"] = under


DESIGN_TINT_STEP = 0.01    # RGB step across the outline of a shape the segmenter found: enough
DESIGN_TINT_SHARE = 0.002  # a translucent shape on a design covers at least this share
DESIGN_TINT_REST = 0.03    # RGB: what the tinted background may leave unexplained inside
SHADED_SPREAD = 0.06     # darkening by a shadow under a tint: the same share in R, G and B
SEEN_IN_HULL = 0.8         # share of a region inside a tint's hull for it to be seen through it


def design_tints(seg: Segmentation, rgb: np.ndarray, bg_rgb: np.ndarray) -> Segmentation:
    """Translucent flat shapes on a flat design's gradient background.

    The segmenter finds such a shape as an opaque region whose colour follows the
    gradient, and what it covers (the part of a word under it) as separate regions of
    tinted colours, so the word comes out cut and the shape opaque. A shape whose
    inside follows the background across its outline (``tint_fit``) becomes one colour
    at one opacity (``extras["fill"]``); each region within it whose colour, with the
    tint taken off, is the background joins the shape, and one that is a neighbouring
    graphic's colour joins that graphic: it lies under the tint (``extras["tint_cover"]``
    keeps those pixels in the tint's own support, ``tint_over`` / ``tint_under`` its
    order against its neighbours for ``ordering``)."""
    owner = seg.owner.copy()
    h, w = owner.shape
    by_label = {r.label: r for r in seg.regions}
    moved: dict[int, int] = {}
    found: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
    for r in seg.regions:
        if r.kind != "shape" or r.area < DESIGN_TINT_SHARE * h * w or "fill" in r.extras:
            continue
        mine = owner == r.label
        inner = cv2.erode(mine.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        fit = tint_fit(rgb, inner, (owner > 0) & ~mine, DESIGN_TINT_STEP)
        if fit is None:
            continue
        slope, offset = fit
        if not _follows_all_through(rgb[inner], bg_rgb[inner], slope, offset):
            continue
        hull = hull_mask(mine)
        cover = np.zeros((h, w), bool)
        for lbl in np.unique(owner[hull]):
            n = by_label.get(int(lbl))
            if n is None or n.label == r.label or n.label in moved or n.kind == "photo":
                continue
            theirs = owner == n.label
            if (theirs & hull).sum() < SEEN_IN_HULL * theirs.sum():
                continue
            shown = rgb_to_lab(untint(n.rgb[None], slope, offset))
            if float(delta_e(shown, rgb_to_lab(bg_rgb[theirs].mean(0)[None]))[0]) < TINT_SHOWS:
                owner[theirs] = r.label  # the background seen through the tint
                moved[n.label] = r.label
                continue
            ring = cv2.dilate(theirs.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~theirs
            best = None
            for m_lbl in np.unique(owner[ring]):
                m = by_label.get(int(m_lbl))
                if m is None or m.label in (r.label, n.label) or m.label in moved:
                    continue
                de = float(delta_e(shown, m.lab[None])[0])
                if de < TINT_SHOWS and (best is None or de < best[0]):
                    best = (de, m.label)
            if best is not None:  # a graphic running on under the tint
                owner[theirs] = best[1]
                moved[n.label] = best[1]
                cover |= theirs
        found[r.label] = (slope, offset, cover)
    if not found:
        return seg
    owner, regions, remap = relabel(owner, seg.regions)
    out = Segmentation(owner, regions, seg.fg, seg.core)
    for old, (slope, offset, cover) in found.items():
        t = out.region(remap[old])
        colour = np.clip(offset / (1.0 - slope), 0.0, 1.0).astype(np.float32)
        t.rgb, t.lab = colour, rgb_to_lab(colour[None])[0]
        t.extras["fill"] = (float(1.0 - slope), colour)
        t.extras["tint_cover"] = cover
        mine = out.owner == t.label
        seen = np.isin(out.owner, np.unique(out.owner[cover])) if cover.any() else np.zeros_like(mine)
        near = cv2.dilate((mine | cover).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        others = np.isin(out.owner, np.unique(out.owner[near & ~mine & ~cover])) & (out.owner > 0) & ~mine
        t.extras["tint_over"] = seen
        t.extras["tint_under"] = others & ~seen
    return out


def _follows_all_through(px: np.ndarray, under: np.ndarray, slope: float, offset: np.ndarray) -> bool:
    """Whether the inside of a shape is the background under it tinted all through, not
    only along the outline (an opaque gradient fill can follow the background's ramp at its
    rim by chance, never under the whole shape). The shape's own drop shadow, or another
    one, may darken what shows through: ``I = (1 - a) (1 - k) B + a c``, one ``k`` for all
    three channels."""
    res = px - (slope * under + offset)
    plain = np.abs(res).max(-1) <= DESIGN_TINT_REST
    k = -res / np.maximum(slope * under, 1e-3)
    lit = (under > 0.08).all(-1)
    dark = lit & (k.min(-1) > -0.03) & (np.ptp(k, axis=-1) < SHADED_SPREAD) & (k.mean(-1) < 0.8)
    return float((plain | dark).mean()) >= 0.9


def tint_of(region: Region) -> tuple[float, np.ndarray] | None:
    """(1 - a, a c) of a translucent shape that ``design_tints`` found graphics under."""
    if "tint_cover" not in region.extras:
        return None
    opacity, colour = region.extras["fill"]
    return 1.0 - opacity, (opacity * np.asarray(colour, np.float32)).astype(np.float32)


def seen_through(seg: Segmentation, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with the tint taken off where graphics lie under a translucent shape: their
    own colours, for the models of what lies beneath."""
    out = rgb
    for r in seg.regions:
        tint = tint_of(r)
        if tint is not None and r.extras["tint_cover"].any():
            out = out.copy() if out is rgb else out
            cover = r.extras["tint_cover"]
            out[cover] = untint(rgb[cover], *tint)
    return out

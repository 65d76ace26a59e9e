"""Pictures in a design: where the foreground is a photograph, one region per picture.

A photograph is dense in edges and colours, so it is found from the local edge density, not
from whole foreground blobs. What the density test takes along with a picture is handed back
(a flat card it sits on, the smooth margins of a glow, thin things sticking out of it), and a
blob holding several pictures is cut along their outlines (``photo_split``).
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .labels import nearest_label
from .photo_split import split_blob

PICTURE_SHARE = 0.1  # share of a photo blob a piece cut off it needs to be a picture of its own
PICTURE_EDGES = 0.2  # share of a picture's pixels that are edges (grain, detail)


def _two_colour_mix(px: np.ndarray, tol: float = 0.035) -> bool:
    """True when (N, 3) RGB colours all lie near one line: two colours and the
    anti-aliased blends between them (small text on a card, stripes, a gradient),
    which edge density alone would take for a photograph."""
    if px.shape[0] > 5000:
        px = px[np.random.default_rng(0).choice(px.shape[0], 5000, replace=False)]
    centred = px - px.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    off = centred - np.outer(centred @ vt[0], vt[0])
    return float(np.percentile(np.linalg.norm(off, axis=1), 90)) <= tol


def find_photo_blobs(fg: np.ndarray, edge: np.ndarray, lab: np.ndarray, min_area: int,
                 rgb: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """Foreground areas that look like photographs: dense edges and many colours.

    Found from the local density of edges rather than whole foreground blobs, so
    a flat shape (or a soft shadow) touching a photo stays a region of its own.
    """
    density = cv2.boxFilter(edge.astype(np.float32), -1, (9, 9))
    tex = (fg & (density > 0.3)).astype(np.uint8)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    tex = cv2.morphologyEx(tex, cv2.MORPH_CLOSE, disk)
    r = max(4, int(round(0.01 * min(fg.shape))))
    tex = cv2.morphologyEx(tex, cv2.MORPH_OPEN, cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))).astype(bool) & fg  # rims of shapes are thin
    n, blob, stats, _ = cv2.connectedComponentsWithStats(tex.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(fg)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    cand = area >= min_area
    cand[0] = False
    if not cand.any():
        return np.zeros_like(fg)
    is_photo = _picture_like(blob, n, cand, area, edge & tex, lab, rgb)
    for k in np.flatnonzero(is_photo):  # pictures are solid (boxes, ovals), not arcs along an edge
        x, y, bw, bh = stats[k, :4]
        pts = cv2.findNonZero((blob[y:y + bh, x:x + bw] == k).astype(np.uint8))
        if area[k] < 0.5 * cv2.contourArea(cv2.convexHull(pts)):
            is_photo[k] = False
    if not is_photo.any():
        return np.zeros_like(fg)
    photo = ndimage.binary_fill_holes(is_photo[blob]) & fg
    photo = _shed_flat_neighbours(photo, fg, edge, lab, min_area)
    return _shed_smooth_margins(photo, lab, min_area, noise)


ROUGH_LAB = 1.0    # CIELAB a pixel differs from its 3x3 mean by in a picture's grain
ROUGH_DENSE = 0.5  # share of rough pixels around a pixel of a picture's body (5x5)
SMOOTH_DEPTH = 8.0         # inscribed radius (px) of a smooth part that is a body of its own ...
SMOOTH_DEPTH_SHARE = 0.03  # ... or this share of the canvas's short side, if more


def _shed_smooth_margins(photo: np.ndarray, lab: np.ndarray, min_area: int, noise: float) -> np.ndarray:
    """A picture is grain all over; a shape the blob took along beside it is smooth: a glow
    ring round a card next to the picture is an edge-dense ramp, so the density test
    spread over it, and filling holes took the card it wraps. The picture's body is where
    pixels are rough (off their 3x3 mean by more than grain), opened so that a shape's
    anti-aliased outline is no body, and closed with its holes. Smooth parts of the blob
    outside it that reach the blob's outline and are thick (a shape's body: not text
    strokes, a shadow's rim or the picture's own smooth edge) go back to the ordinary
    segmentation. Only beside a thick body: a blob with no grain of its own (a striped
    card, a word) is left as the density test found it, and smooth patches the picture
    encloses stay in it."""
    if not photo.any():
        return photo
    ys, xs = np.nonzero(photo)
    y0, y1 = max(0, ys.min() - 3), min(photo.shape[0], ys.max() + 4)
    x0, x1 = max(0, xs.min() - 3), min(photo.shape[1], xs.max() + 4)
    crop = photo[y0:y1, x0:x1]
    body = grain_body(crop, lab[y0:y1, x0:x1], noise)
    rest = crop & ~body
    if not rest.any():
        return photo
    thick = max(SMOOTH_DEPTH, SMOOTH_DEPTH_SHARE * min(photo.shape))

    def deepest(mask, lbl, n):
        depth = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        out = np.zeros(n, np.float32)
        np.maximum.at(out, lbl[mask], depth[mask])
        return out

    blobs_n, blobs = cv2.connectedComponents(crop.astype(np.uint8), connectivity=8)
    has_body = (np.bincount(blobs[body], minlength=blobs_n) >= min_area) & (deepest(body, blobs, blobs_n) >= thick)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(rest.astype(np.uint8), connectivity=8)
    outline = cv2.dilate((~crop).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    part_of = np.zeros(n, np.int32)
    part_of[comp[rest]] = blobs[rest]
    cand = (np.bincount(comp[outline & rest], minlength=n) > 0) & has_body[part_of] \
        & (stats[:, cv2.CC_STAT_AREA] >= max(24, min_area // 4))
    cand[0] = False
    drop = cand & (deepest(rest, comp, n) >= thick)
    if not drop.any():
        return photo
    out = photo.copy()
    out[y0:y1, x0:x1] = crop & ~drop[comp]
    return out


def rough_pixels(lab: np.ndarray, noise: float) -> np.ndarray:
    """Pixels off their 3x3 mean by more than a picture's grain (and the image's noise)."""
    return np.abs(lab - cv2.blur(lab, (3, 3))).max(-1) > ROUGH_LAB + 2.0 * noise


def grain_body(mask: np.ndarray, lab: np.ndarray, noise: float, close: bool = True) -> np.ndarray:
    """The part of ``mask`` that is a picture's body: where pixels are rough
    (``rough_pixels``) nearly all round, opened so that a shape's anti-aliased outline is no
    body, and closed with its holes (not closed: a narrow gap between two bodies stays)."""
    rough = rough_pixels(lab, noise).astype(np.float32)
    dense = (cv2.blur(rough, (5, 5)) >= ROUGH_DENSE) & mask
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    body = cv2.morphologyEx(dense.astype(np.uint8), cv2.MORPH_OPEN, disk)
    if close:
        body = cv2.morphologyEx(body, cv2.MORPH_CLOSE, disk)
    return ndimage.binary_fill_holes(body) & mask


def _picture_like(blob: np.ndarray, n: int, cand: np.ndarray, area: np.ndarray, edge: np.ndarray,
                  lab: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Per label of ``blob``: dense edges and many colours, not two colours and their blends
    (text on a card, stripes)."""
    edges = np.bincount(blob[edge], minlength=n)
    sel = cand[blob]
    q = np.floor(lab[sel] / np.float32(6.0)).astype(np.int64)
    code = ((q[:, 0] + 20) * 64 + (q[:, 1] + 32)) * 64 + (q[:, 2] + 32)
    pairs = blob[sel].astype(np.int64) * (1 << 24) + code
    uniq, counts = np.unique(pairs, return_counts=True)
    owner = uniq >> 24
    big = counts >= np.maximum(3, 0.002 * area[owner])
    n_colours = np.bincount(owner[big], minlength=n)
    is_photo = cand & (edges > PICTURE_EDGES * area) & (n_colours >= 25)
    for k in np.flatnonzero(is_photo):
        if _two_colour_mix(rgb[blob == k]):
            is_photo[k] = False
    return is_photo


def split_photos(photo: np.ndarray, edge: np.ndarray, lab: np.ndarray, rgb: np.ndarray,
                  min_area: int, noise: float = 0.0) -> np.ndarray:
    """Labels of the photo regions: each blob cut along the straight outlines inside it
    (pictures side by side or overlapping, a picture beside a textured card); a piece
    that is no picture itself (a glow or shadow strip cut off) joins the nearest picture; a
    blob that holds only one picture stays whole."""
    n, blob, stats, _ = cv2.connectedComponentsWithStats(photo.astype(np.uint8), connectivity=8)
    out = np.zeros(photo.shape, np.int32)
    nxt = 1
    thick = max(SMOOTH_DEPTH, SMOOTH_DEPTH_SHARE * min(photo.shape))
    for k in range(1, n):
        x, y, bw, bh = stats[k, :4]
        crop = blob[y:y + bh, x:x + bw] == k
        if stats[k, 4] >= 2 * min_area:
            body = grain_body(crop, lab[y:y + bh, x:x + bw], noise, close=False)
            pieces = split_blob(crop, lab[y:y + bh, x:x + bw], min_area, body, thick)
        else:
            pieces = crop.astype(np.int32)
        m = int(pieces.max())
        if m > 1:
            area = np.bincount(pieces.ravel(), minlength=m + 1)
            cand = area >= max(min_area, PICTURE_SHARE * stats[k, 4])  # not a strip of one
            cand[0] = False
            like = _picture_like(pieces, m + 1, cand, area, edge[y:y + bh, x:x + bw] & crop,
                                 lab[y:y + bh, x:x + bw], rgb[y:y + bh, x:x + bw])
            # beside a picture, a thick piece with few edges (a flat or gradient card, a dark
            # box the blob took along) is handed back to the ordinary segmentation; a thin
            # one (a glow ring, a shadow strip) is no picture even when busy. An edge-dense
            # piece that fails the picture test (a grainy sky cut off along a horizon) is
            # no evidence against the cut being inside one picture, so it sheds nothing
            deep = _deepest(pieces, m + 1) >= thick
            keep = like & deep
            edges = np.bincount(pieces[edge[y:y + bh, x:x + bw] & crop], minlength=m + 1)
            shed = cand & deep & ~like & (edges < PICTURE_EDGES * area) if keep.any() else keep & False
            if not keep.any() and (cand & deep).sum() >= 2:
                # thick pieces and no thick one a picture (striped or flat cards; busy bits
                # between them are text or a glow): the blob looked busy only for the mix of
                # them, so it is no photo and all of it goes back to the ordinary segmentation
                keep[:] = False
            elif keep.sum() + shed.sum() < 2:  # one picture with a strip of something else: left whole
                keep[1:] = False
                pieces = crop.astype(np.int32)
                keep[1] = True
            else:  # the rest (a glow or shadow strip cut off) stays with the nearest picture
                pieces = _nearest_piece(np.where(shed[pieces], 0, pieces), keep)
            remap = np.zeros(m + 1, np.int32)
            remap[keep] = np.arange(nxt, nxt + int(keep.sum()))
            nxt += int(keep.sum())
        else:
            remap = np.array([0, nxt], np.int32)
            nxt += 1
        sub = out[y:y + bh, x:x + bw]
        sub[crop] = remap[pieces[crop]]
    return out


TRIM_RADIUS = 0.02  # share of the canvas's short side: what is thinner than this sticks out of a picture
TRIM_MIN = 1.0      # ... and is handed back when at least this many times the smallest photo blob
TRIM_FAR = 2.0      # ... and reaching farther than this many radii from the picture's body ...
TRIM_OUT = 0.5      # ... with at least this share of it
TRIM_BODY = 0.5     # a blob the opening takes more than this share of has no body to trim


def trim_protrusions(lbl: np.ndarray, min_area: int, side: int) -> np.ndarray:
    """Each picture without what sticks out of its body. The edge-density test spreads a few
    pixels past a picture's frame and so takes along busy things touching it (the glow or
    shadow rim of a card the photo lies on, a strip of a shape); the part outside the frame
    then moved with the photo and the object it belongs to came out cut. What an opening
    with a square (a rectangle keeps its corners) removes is handed back to the ordinary
    segmentation when it is at least as big as a photo blob and mostly lies far from the
    picture's body (it runs away from it). A rim hugging the picture (its own shadow or glow),
    small nubs and blobs with no body at all (a rim the text on it made busy) stay."""
    rad = max(3, int(round(TRIM_RADIUS * side)))
    se = np.ones((2 * rad + 1, 2 * rad + 1), np.uint8)
    out = lbl.copy()
    for k in range(1, int(lbl.max()) + 1):
        ys, xs = np.nonzero(lbl == k)
        if ys.size == 0:
            continue
        y0, y1, x0, x1 = max(0, ys.min() - rad), ys.max() + rad + 1, max(0, xs.min() - rad), xs.max() + rad + 1
        m = (lbl[y0:y1, x0:x1] == k).astype(np.uint8)
        body = cv2.dilate(cv2.morphologyEx(m, cv2.MORPH_OPEN, se), np.ones((3, 3), np.uint8))
        rest = (m > 0) & (body == 0)
        if rest.sum() > TRIM_BODY * ys.size:  # no picture body to stick out of: left alone
            continue
        n, comp, st, _ = cv2.connectedComponentsWithStats(rest.astype(np.uint8), connectivity=8)
        big = st[:, cv2.CC_STAT_AREA] >= TRIM_MIN * min_area
        big[0] = False
        if big.any():  # a rim hugging the picture (its own shadow or glow) stays with it
            far = cv2.distanceTransform((body == 0).astype(np.uint8), cv2.DIST_L2, 3) > TRIM_FAR * rad
            big &= np.bincount(comp[far], minlength=n) >= TRIM_OUT * st[:, cv2.CC_STAT_AREA]
        if big.any():
            sub = out[y0:y1, x0:x1]
            sub[big[comp]] = 0
    return out


BAND_SHARE = 0.3    # a picture's columns (rows) holding under this share of its fullest one ...
BAND_LONG = 2.0     # ... in a run from its end at least this many trim radii long are a band
BAND_BLENDS = 0.25  # share of a band's pixels between its two colours (a fifth of the way in) at most: crisp


def _blend_share(px: np.ndarray) -> float:
    """Share of (N, 3) colours of a two-colour mix that lie between the two (20-80 % of the
    way along their line): anti-aliased rims only on crisp letters, most of a blurred stroke."""
    if px.shape[0] > 5000:
        px = px[np.random.default_rng(0).choice(px.shape[0], 5000, replace=False)]
    centred = px - px.mean(axis=0)
    t = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
    t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
    return float(((t > 0.2) & (t < 0.8)).mean())


def trim_side_bands(lbl: np.ndarray, rgb: np.ndarray, min_area: int, side: int) -> np.ndarray:
    """Each picture without a band running off one of its sides. A line of text that starts
    on a picture and runs on beside it is busy too, so the density test takes it along: the
    picture's layer then carries the words beyond its frame and the shape they lie on is
    cut by them. Too thick for the opening (``trim_protrusions``) when the letters are big,
    such a band is still a run of columns (rows) at the blob's end that hold a small share of
    its height (width); it is handed back when it is long, as big as a photo blob, of two
    colours with few blends between them (crisp) while the rest is not two colours (a strip
    of the picture seen beside what covers it is a picture's; the soft ends of brush strokes
    taken for a picture are mostly blends)."""
    rad = max(3, int(round(TRIM_RADIUS * side)))
    out = lbl.copy()
    for k, slc in enumerate(ndimage.find_objects(lbl), start=1):
        if slc is None:
            continue
        m = lbl[slc] == k
        drop = np.zeros_like(m)
        for axis in (0, 1):
            count = m.sum(axis=axis)
            thin = count < BAND_SHARE * count.max()
            for from_end in (False, True):
                run = thin[::-1] if from_end else thin
                n = 0 if run.all() else int(np.argmin(run))  # thin columns (rows) from that end
                if n < BAND_LONG * rad:
                    continue
                sel = np.zeros(run.size, bool)
                sel[:n] = True
                sel = sel[::-1] if from_end else sel
                band = m & (sel[None, :] if axis == 0 else sel[:, None])
                # crisp words on one colour off a picture that is not: not a strip of the
                # picture, nor the end of a soft stroke taken for one (mostly blends)
                px = rgb[slc][band]
                if band.sum() >= TRIM_MIN * min_area and _two_colour_mix(px) \
                        and _blend_share(px) <= BAND_BLENDS and not _two_colour_mix(rgb[slc][m & ~band]):
                    drop |= band
        if drop.any() and drop.sum() <= TRIM_BODY * m.sum():
            out[slc][drop] = 0
    return out


def _deepest(lbl: np.ndarray, n: int) -> np.ndarray:
    """Per label of ``lbl``: its inscribed radius (px), how thick its body is."""
    out = np.zeros(n, np.float32)
    for k in range(1, n):
        m = np.pad(lbl == k, 1).astype(np.uint8)
        if m.any():
            out[k] = float(cv2.distanceTransform(m, cv2.DIST_L2, 3).max())
    return out


def _nearest_piece(pieces: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``pieces`` with the labels not in ``keep`` given to the nearest kept piece."""
    kept = np.where(keep[pieces], pieces, 0)
    near, _ = nearest_label(kept, (pieces > 0) & (kept == 0), np.inf)
    return np.where(kept > 0, kept, near).astype(np.int32)


def _shed_flat_neighbours(photo: np.ndarray, fg: np.ndarray, edge: np.ndarray, lab: np.ndarray,
                          min_area: int) -> np.ndarray:
    """A flat, uniform shape next to a photo (a card it sits on, a frame around it) is
    not part of the picture even when the edge-density test swallowed it: big flat
    single-colour (or linear-gradient) areas that reach the photo blob's outline are handed
    back. Flat areas the picture encloses stay in it."""
    flat = fg & ~edge
    n, comp, stats, _ = cv2.connectedComponentsWithStats(flat.astype(np.uint8), connectivity=4)
    if n <= 1:
        return photo
    area = stats[:, cv2.CC_STAT_AREA]
    big = area >= max(24, min_area // 4)
    big[0] = False
    inside = np.bincount(comp[photo], minlength=n)
    cand = big & (inside >= 0.5 * area)
    if not cand.any():
        return photo
    # through the anti-aliased rim (edge pixels, not flat) to the blob's outline
    outside = cv2.dilate((~photo).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    touches = np.bincount(comp[outside & flat], minlength=n) > 0
    cand &= touches
    sel = cand[comp]
    if not sel.any():
        return photo
    spread = np.zeros(n)
    for c in range(3):
        v = lab[..., c][sel]
        m = np.bincount(comp[sel], weights=v, minlength=n) / np.maximum(area, 1)
        spread = np.maximum(spread, np.sqrt(np.maximum(
            np.bincount(comp[sel], weights=v * v, minlength=n) / np.maximum(area, 1) - m * m, 0)))
    uniform = cand & (spread < 1.5)
    # a linear gradient fill is as little a picture as a flat one: what a colour plane leaves
    for k in np.flatnonzero(cand & ~uniform):
        ys, xs = np.nonzero(comp == k)
        if ys.size > 20000:
            pick = np.random.default_rng(0).choice(ys.size, 20000, replace=False)
            ys, xs = ys[pick], xs[pick]
        design = np.stack([np.ones(ys.size), xs / 100.0, ys / 100.0], 1)
        vals = lab[ys, xs].astype(np.float64)
        coef, *_ = np.linalg.lstsq(design, vals, rcond=None)
        resid = np.sqrt(((vals - design @ coef) ** 2).mean(0)).max()
        uniform[k] = resid < 1.5
    if not uniform.any():
        return photo
    out = photo & ~uniform[comp]
    # the shed shape's anti-aliased rim went with the photo too: an opening drops it
    out = cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_OPEN, np.ones((7, 7), np.uint8)).astype(bool)
    return out & photo


def picture_grain(seg, lab: np.ndarray) -> None:
    """Each photo region's share of picture body (``extras["grain"]``): a picture is grain
    all over, while a busy crumb the edge-density test took for one (the rims of glyphs on
    a card, a shadow's edge where a word crosses it) is mostly smooth, its roughness only
    along the outlines of the flat things it is made of. Rough is judged without allowing
    for the background's noise: in a grainy image a crumb then looks rough and is kept,
    where allowing for it made a small picture look smooth."""
    h, w = seg.owner.shape
    for r in seg.regions:
        if r.kind != "photo":
            continue
        ys, xs = r.slc
        y0, y1 = max(0, ys.start - 3), min(h, ys.stop + 3)
        x0, x1 = max(0, xs.start - 3), min(w, xs.stop + 3)
        mask = seg.owner[y0:y1, x0:x1] == r.label
        body = grain_body(mask, lab[y0:y1, x0:x1], 0.0)
        r.extras["grain"] = float(body.sum()) / max(1, int(mask.sum()))

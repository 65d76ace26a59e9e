"""Text and flat shapes laid over a photograph.

When the background is a photo, there is no smooth surface to subtract.
Graphics stand out differently: a glyph or a banner is one exact colour
with crisp, high-contrast edges, while a photo's flat patches (sky, blur)
drift in colour and fade into their surroundings. So: uniform cores, kept
only when their outline is a crisp step to something clearly different,
and only as text lines or as shapes big enough to matter. The photo under
them is filled by inpainting.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .background import Background
from .blends import SHADOW_DARK_L
from .colour import delta_e, rgb_to_lab
from .labels import CROSS, grow, label_means
from .regions import Region, Segmentation
from .tints import TINT_SHOWS, _tint_neighbours, untint, tint_fit

MIN_CONTRAST = 25.0      # CIE76 between an overlay and what surrounds it
MIN_CRISP = 0.35         # outline step per pixel / contrast
MIN_SHAPE_SHARE = 0.004  # a lone shape must cover this share of the picture
LOW_CONTRAST = 12.0      # ... or this much, for a big patch with a sharp outline all round
CARVE_SHARE = 0.2        # photo regions this big are searched for graphics drawn on them
RECALL_COLOUR = 10.0     # CIE76: a recalled glyph piece has the line's colour, not its ring's
RECT_STEP = 25.0         # CIE76 step across a picture's straight side on a photo
RECT_MIN_SIDE = 0.06     # share of the short side a picture's side must run straight
RECT_MAX_SHARE = 0.5     # a rectangle beyond this share of the canvas is no picture on it
SHADOW_MIN_ALPHA = 0.05  # darkening a drop shadow on a photo must reach to be one
SHADOW_GROUND = 0.9      # share of the ring round an object a photo region holds for it to lie on it
                         # (the photo under a shadow is estimated from around it: all of it the photo)
SHADOW_ACROSS = 0.25     # share of the ring round an object pictures hold for its shadow to be sought across them
SHADOW_SEEN = 0.5        # share of its fitted strength a shadow darkens a picture by, against the picture beyond it
SHADOW_SEEN_PAGE = 0.3   # ... and the page (its faint tail against a ring of a gradient page is read less exactly)
GLOW_CHROMA = 40.0       # CIE chroma of a soft blend's colour from which it is a glow, not a shadow
SHADOW_TAIL = 10         # px a soft shadow fades over beyond its offset (the photo is estimated past it)
SHARP_CRISP = 0.6        # outline step per pixel / contrast of such a sharp outline



def _uniform_cores(lab: np.ndarray, grad: np.ndarray, valid: np.ndarray) -> np.ndarray:
    mean = cv2.blur(lab, (3, 3))
    var = (cv2.blur(lab * lab, (3, 3)) - mean * mean).sum(-1)
    return valid & (var < 4.0) & (grad < 4.0)


def find_overlays(rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray, valid: np.ndarray,
                  max_segments: int = 4000) -> np.ndarray:
    """Label image (0 = photo) of graphic overlays found on a photographic background."""
    h, w = valid.shape
    npx = h * w
    core = _uniform_cores(lab, grad, valid)
    n, seg, stats, _ = cv2.connectedComponentsWithStats(core.astype(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros((h, w), np.int32)
    area = stats[:, cv2.CC_STAT_AREA]
    keep = (area >= max(6, int(2e-5 * npx))) & (area <= 0.2 * npx)
    keep[0] = False
    ids = np.flatnonzero(keep)
    if ids.size == 0:
        return np.zeros((h, w), np.int32)
    if ids.size > max_segments:  # a busy photo: look at the biggest patches only
        ids = ids[np.argsort(-area[ids])[:max_segments]]
    out = np.zeros((h, w), np.int32)
    nxt = 1
    big = MIN_SHAPE_SHARE * npx
    for k in ids:
        x, y, bw, bh = stats[k, :4]
        x0, y0 = max(0, x - 3), max(0, y - 3)
        x1, y1 = min(w, x + bw + 3), min(h, y + bh + 3)
        mine = seg[y0:y1, x0:x1] == k
        inner = lab[y0:y1, x0:x1][mine]
        colour = inner.mean(axis=0)
        if float(inner.std(axis=0).max()) > 3.0:
            continue
        grown = cv2.dilate(mine.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        outer = grown & ~cv2.dilate(mine.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        d_outer = delta_e(lab[y0:y1, x0:x1][outer], colour)
        other = d_outer > 10.0  # ignore more of the same graphic (the stem of a 'd')
        if other.sum() < 3 or other.mean() < 0.3:
            continue
        contrast = float(np.median(d_outer[other]))
        if contrast < LOW_CONTRAST:
            continue
        band = grown & ~mine
        d_band = delta_e(lab[y0:y1, x0:x1][band], colour)
        steps = grad[y0:y1, x0:x1][band][(d_band > 5.0) & (d_band < 0.9 * contrast)]
        if steps.size == 0:
            continue
        crisp = float(np.median(steps)) / contrast
        # a softer contrast is enough for a big patch whose whole outline is one sharp step
        # (a pale card on a blurred photo); a photo's own flat patches fade out instead
        if crisp < MIN_CRISP or (contrast < MIN_CONTRAST and (crisp < SHARP_CRISP or area[k] < big)):
            continue
        sub = out[y0:y1, x0:x1]
        sub[mine] = nxt
        nxt += 1
    return out


BACKDROP_COLOUR_SHARE = 0.2  # share of the backdrop round a line in a colour for it to be the backdrop's


def _backdrop_between_glyphs(lines: list[list[int]], regions: list[Region], labels: np.ndarray,
                             lab: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
    """``lines`` without those that are the backdrop showing between another line's glyphs,
    and ``labels`` without their pieces.

    On a calm backdrop (a pattern, blurred blobs) the inside of a big letter's counter and
    the gap between two stems are as uniform and as crisply outlined as ink, and several of
    them on a row pass for a line of text; grouped with the word they made its glyphs hollow.
    Such a line lies within another line's box and has the colour of the backdrop round that
    line; a line of its own (another colour beside a word) does not lie within it."""
    if len(lines) < 2:
        return lines, labels
    h, w = labels.shape
    reg = {r.label: r for r in regions}
    info = []
    for g in lines:
        rs = [reg[lbl] for lbl in g if lbl in reg]
        if not rs:
            info.append(None)
            continue
        box = (min(r.bbox[0] for r in rs), min(r.bbox[1] for r in rs),
               max(r.bbox[2] for r in rs), max(r.bbox[3] for r in rs))
        area = np.array([max(r.area, 1) for r in rs], np.float64)
        info.append((box, (np.stack([r.lab for r in rs]) * area[:, None]).sum(0) / area.sum(), area.sum()))
    drop = set()
    for i, a in enumerate(info):
        for j, b in enumerate(info):
            if i == j or a is None or b is None or a[2] >= b[2] or j in drop:
                continue
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a[0], b[0]
            if ax0 < bx0 - 2 or ay0 < by0 - 2 or ax1 > bx1 + 2 or ay1 > by1 + 2:
                continue
            # the ring 3..8 px round the bigger line's box, where no piece lies
            y0, y1, x0, x1 = max(0, by0 - 8), min(h, by1 + 8), max(0, bx0 - 8), min(w, bx1 + 8)
            out = labels[y0:y1, x0:x1] == 0
            out[max(0, by0 - 3) - y0:min(h, by1 + 3) - y0, max(0, bx0 - 3) - x0:min(w, bx1 + 3) - x0] = False
            # (a pattern's backdrop has several colours: any of them common round the line)
            ring = lab[y0:y1, x0:x1][out]
            if out.sum() >= 10 and \
                    (float(delta_e(a[1], np.median(ring, axis=0))) < LOW_CONTRAST
                     or float((delta_e(ring, a[1]) < LOW_CONTRAST).mean()) >= BACKDROP_COLOUR_SHARE):
                drop.add(i)
                break
    if not drop:
        return lines, labels
    gone = np.zeros(int(labels.max()) + 1, bool)
    gone[[lbl for i in drop for lbl in lines[i]]] = True
    return [g for i, g in enumerate(lines) if i not in drop], np.where(gone[labels], 0, labels).astype(np.int32)


def overlay_segmentation(rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray, valid: np.ndarray,
                         bg: Background) -> tuple[Segmentation, Background] | None:
    """Regions for the overlays and a background made by inpainting the photo under them."""
    from .text import find_text_lines, thin_text_lines
    labels = find_overlays(rgb, lab, grad, valid)
    labels = thin_text_lines(labels, valid, rgb, lab, valid.shape[0])  # small text: no cores
    n = int(labels.max())
    rects = find_rectangles(lab, valid)
    if n == 0 and not rects:
        return None
    # Each core takes its anti-aliased rim: pixels within 2 px that move away from the photo.
    near = grow(labels, 2)
    h, w = labels.shape
    regions = _regions(near, rgb, lab, labels, n)
    lines, labels = _backdrop_between_glyphs(find_text_lines(regions, h), regions, labels, lab)
    if lines:
        labels = _recall_line_glyphs(labels, lines, lab, valid)
        near = grow(labels, 2)
        regions = _regions(near, rgb, lab, labels, n)
    in_line = {lbl for g in lines for lbl in g}
    keep = set(in_line)
    for r in regions:
        if r.label not in in_line and r.area >= MIN_SHAPE_SHARE * h * w:
            keep.add(r.label)
    if not keep and not rects:
        return None
    remap = np.zeros(n + 1, np.int32)
    for new, lbl in enumerate(sorted(keep), start=1):
        remap[lbl] = new
    owner = remap[near]
    cores = remap[labels]
    shapes = [remap[lbl] for lbl in keep if lbl not in in_line]
    owner, cores = _inner_marks(owner, cores, lab, shapes)
    owner, pictures, frames = _add_rectangles(owner, grad, rgb, lab, rects)
    # a flat shape found by its core may be translucent (its inside follows the photo)
    # (judged inside its grown rim, which holds mixed pixels and a little of the photo)
    tints = {lbl: t for lbl in shapes
             if (t := tint_fit(rgb, cv2.erode((owner == lbl).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0,
                               (owner > 0) & (owner != lbl))) is not None}
    owner, shadows = _drop_shadows(owner, rgb, [s for s in shapes if s not in tints] + sorted(pictures))
    owner, found = _add_tints(owner, rgb, valid)
    tints.update(found)
    regions = _regions(owner, rgb, lab, cores, int(owner.max()))
    for r in regions:
        if r.label in shadows:
            # a drop shadow is black at the fitted strength: ``I = (1 - alpha) P``
            r.kind, r.sharp = "shadow", 0.0
            r.rgb, r.lab = np.zeros(3, np.float32), np.zeros(3, np.float32)
            r.extras["cast"] = shadows[r.label]
        elif pictures.get(r.label):
            r.kind = "photo"
        elif r.label in frames:
            r.rgb = frames[r.label]
            r.lab = rgb_to_lab(r.rgb[None])[0]
            r.extras["fill"] = (1.0, r.rgb)
        elif r.label in tints:
            slope, offset = tints[r.label]
            colour = np.clip(offset / (1.0 - slope), 0.0, 1.0).astype(np.float32)
            r.rgb, r.lab = colour, rgb_to_lab(colour[None])[0]
            r.extras["fill"] = (float(1.0 - slope), colour)
    for lbl in tints:
        _tint_neighbours(owner, regions, lbl, rgb, *tints[lbl])
    mask = cv2.dilate((owner > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    mask = ndimage.binary_fill_holes(mask).astype(np.uint8)  # no sources inside a banner
    src = rgb
    if tints:
        # under a translucent shape the photo is known exactly: (I - a c) / (1 - a)
        src = rgb.copy()
        shown = [r for r in regions if r.label not in tints and r.kind == "shape"]
        for lbl, (slope, offset) in tints.items():
            inner = cv2.erode((owner == lbl).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            under = untint(rgb[inner], slope, offset)
            # where another graphic lies under the tint, that graphic shows, not the photo
            under_lab = rgb_to_lab(under)
            other = np.zeros(len(under), bool)
            for r in shown:
                other |= delta_e(under_lab, r.lab) < TINT_SHOWS
            keep = np.zeros_like(inner)
            keep[inner] = ~other
            src[keep] = under[~other]
            mask[keep] = 0
    filled = _inpaint(src, mask)
    filled_lab = rgb_to_lab(filled)
    dist = delta_e(lab, filled_lab).astype(np.float32)
    new_bg = Background(filled, filled_lab, dist, bg.noise, True, max(bg.t_low, 8.0),
                        max(bg.t_high, 16.0))
    fg = owner > 0
    core = (remap[labels] > 0) | ~cv2.dilate(fg.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return Segmentation(owner, regions, fg, core), new_bg


def _add_tints(owner: np.ndarray, rgb: np.ndarray,
               valid: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[float, np.ndarray]]]:
    """Translucent shapes on a photo become regions (``tint_fit``); {label: (1 - a, a c)}.

    They have no uniform core (the photo shows through) but a crisp outline: the parts
    of the picture closed off by crisp edges (Canny on a lightly smoothed copy) and by the
    graphics found already are the candidates, each grown back out to its outline and
    completed where graphics on it (a word across it) cut it in parts."""
    h, w = owner.shape
    npx = h * w
    img8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    edges = cv2.Canny(cv2.GaussianBlur(img8, (0, 0), 1.0), 20, 50, L2gradient=True)
    taken = owner > 0
    wall = cv2.dilate(edges, np.ones((3, 3), np.uint8)).astype(bool) | \
        cv2.dilate(taken.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    n, comp, stats, _ = cv2.connectedComponentsWithStats((~wall & valid).astype(np.uint8), connectivity=4)
    out: dict[int, tuple[float, np.ndarray]] = {}
    nxt = int(owner.max()) + 1
    for k in range(1, n):
        x, y, bw, bh, area = stats[k]
        if area < MIN_SHAPE_SHARE * npx or bw * bh > RECT_MAX_SHARE * npx:
            continue
        if x == 0 or y == 0 or x + bw == w or y + bh == h:
            continue  # a part of the photo the canvas edge closes off
        sub = comp[y:y + bh, x:x + bw] == k
        full = np.zeros((h, w), bool)
        full[y:y + bh, x:x + bw] = sub
        fit = tint_fit(rgb, full, taken)
        if fit is None:
            continue
        grown = (grow(full.astype(np.int32), 3) > 0) & (owner == 0)
        grown |= _whole_tint(grown, owner, edges)
        owner[grown & (owner == 0)] = nxt
        out[nxt] = fit
        nxt += 1
    return owner, out


def _whole_tint(part: np.ndarray, owner: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The rest of a translucent shape that graphics on it (a word across it) cut off
    the part found: the simple shape fitted to the part's own outline
    (``shapes.fit_covered_shape``), kept only when crisp edges run along the fitted
    outline wherever nothing covers it. Returns the free pixels it adds (or none)."""
    from .shapes import fit_covered_shape
    h, w = part.shape
    ys, xs = np.nonzero(part)
    none = np.zeros_like(part)
    if ys.size == 0:
        return none
    py, px = int(0.5 * (ys.max() - ys.min())) + 4, int(0.5 * (xs.max() - xs.min())) + 4
    y0, y1 = max(0, ys.min() - py), min(h, ys.max() + py + 1)
    x0, x1 = max(0, xs.min() - px), min(w, xs.max() + px + 1)
    own = part[y0:y1, x0:x1]
    taken = owner[y0:y1, x0:x1] > 0
    near = cv2.dilate(taken.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    real = ~near
    real[:, :1] &= x0 > 0
    real[:, -1:] &= x1 < w
    real[:1] &= y0 > 0
    real[-1:] &= y1 < h
    cov = fit_covered_shape(own, real, np.ones_like(own), require_hidden=False, robust=True)
    if cov is None:
        return none
    shape = cov > 0.5
    ring = shape & ~cv2.erode(shape.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~near
    if ring.sum() < 12:
        return none
    crisp = cv2.dilate(edges[y0:y1, x0:x1], np.ones((5, 5), np.uint8)).astype(bool)
    if float(crisp[ring].mean()) < 0.8:
        return none
    out = none.copy()
    out[y0:y1, x0:x1] = (cov > 0.01) & ~taken
    return out


def _inner_marks(owner, cores, lab, shapes):
    """What is drawn on a banner (its text) shows as holes of another colour in it."""
    nxt = int(owner.max()) + 1
    h, w = owner.shape
    for lbl in shapes:
        ys, xs = np.nonzero(owner == lbl)
        if ys.size == 0:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        own = owner[y0:y1, x0:x1] == lbl
        colour = lab[y0:y1, x0:x1][cores[y0:y1, x0:x1] == lbl].mean(axis=0)
        holes = ndimage.binary_fill_holes(own) & ~own & (owner[y0:y1, x0:x1] == 0)
        holes &= delta_e(lab[y0:y1, x0:x1], colour) > 12.0
        n, comp = cv2.connectedComponents(holes.astype(np.uint8), connectivity=8)
        for k in range(1, n):
            m = comp == k
            d = delta_e(lab[y0:y1, x0:x1], colour)
            sub_o, sub_c = owner[y0:y1, x0:x1], cores[y0:y1, x0:x1]
            sub_o[m] = nxt
            sub_c[m & (d >= 0.7 * d[m].max())] = nxt  # the stroke's own colour
            nxt += 1
    return owner, cores


def _inpaint(rgb: np.ndarray, mask: np.ndarray, max_side: int = 400) -> np.ndarray:
    """Fill ``mask`` from the photo around it (Telea), on a reduced copy for big areas,
    then keep the original pixels outside the mask."""
    h, w = mask.shape
    f = min(1.0, max_side / max(h, w))
    sw, sh = max(1, int(round(w * f))), max(1, int(round(h * f)))
    img8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    small = cv2.resize(img8, (sw, sh), interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_NEAREST)
    m = cv2.dilate(m, np.ones((3, 3), np.uint8))
    out = cv2.inpaint(small, m, 5, cv2.INPAINT_TELEA)
    big = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    return np.where(mask[..., None] > 0, big, rgb).astype(np.float32)


def _regions(owner: np.ndarray, rgb: np.ndarray, lab: np.ndarray, cores: np.ndarray,
             n: int) -> list[Region]:
    flat = owner.ravel()
    area = np.bincount(flat, minlength=n + 1)
    mean = label_means(cores.ravel(), rgb.reshape(-1, 3), n + 1).astype(np.float32)
    mean_lab = rgb_to_lab(np.clip(mean, 0, 1))
    slices = ndimage.find_objects(owner, max_label=n)
    out = []
    for k in range(1, n + 1):
        slc = slices[k - 1] if slices[k - 1] is not None else (slice(0, 0), slice(0, 0))
        out.append(Region(k, "shape", slc, int(area[k]), mean[k], mean_lab[k], 1.0))
    return out


def carve_overlays(seg: Segmentation, rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray,
                   min_share: float = CARVE_SHARE) -> Segmentation:
    """Graphics drawn on photo regions come off them: flat shapes on big ones
    (``_carve_photos``), then the thin flat frame round a picture (``_split_frames``); drop
    shadows go to their casters (``_shadows_on_photos``, ``_picture_shadows_on_page``,
    ``_shadows_across_pictures``)."""
    seg = _shadows_on_photos(_split_frames(_carve_photos(seg, rgb, lab, grad, min_share), rgb, lab), rgb)
    return _shadows_across_pictures(_picture_shadows_on_page(seg, rgb, lab), rgb)


def _box_of(mask: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    return slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)


def _shadow_region(lbl: int, mask: np.ndarray, extras: dict) -> Region:
    """A drop shadow found from its caster's shape: black at the fitted strength
    (``extras["cast"]``), as on a photo background."""
    zero = np.zeros(3, np.float32)
    return Region(lbl, "shadow", _box_of(mask), int(mask.sum()), zero, zero.copy(), 0.0, extras)


def _shadows_on_photos(seg: Segmentation, rgb: np.ndarray) -> Segmentation:
    """Drop shadows that cards and pictures lying on a big photo region cast on it become
    regions of their own, found as on a photo background (``_drop_shadows``): left in the
    photo's region, the darkened picture beside a card goes into the photo's layer, merged
    with it, and stays behind when the card is moved. An object lies on the photo when the
    photo holds most of the ring round its outer outline, thin slivers aside."""
    from .ordering import _outer_share
    h, w = seg.owner.shape
    owner, regions = seg.owner, list(seg.regions)
    # thin slivers along an object's edge (a rim, a strip a picture cut left) are no ground
    slivers = [r.label for r in seg.regions if r.kind == "thin"]
    for g in seg.regions:
        if g.kind != "photo" or g.area < CARVE_SHARE * h * w:
            continue
        on = [r.label for r in seg.regions if r.kind in ("shape", "photo") and r.label != g.label
              and r.area >= MIN_SHAPE_SHARE * h * w
              and _outer_share(owner, r, g.label, slivers) >= SHADOW_GROUND]
        if not on:
            continue
        casters: dict[int, int] = {}
        found, shadows = _drop_shadows(owner.copy(), rgb, on, g.label, len(regions) + 1, casters)
        if not shadows:
            continue
        owner = found
        for lbl in sorted(shadows):
            regions.append(_shadow_region(lbl, owner == lbl,
                                          {"cast": shadows[lbl], "caster": casters[lbl], "on": g.label}))
        mask = owner == g.label
        regions[g.label - 1] = Region(g.label, g.kind, _box_of(mask), int(mask.sum()), g.rgb, g.lab,
                                      g.sharp, dict(g.extras))
    if owner is seg.owner:
        return seg
    return Segmentation(owner, regions, seg.fg, seg.core)


def _picture_shadows_on_page(seg: Segmentation, rgb: np.ndarray, lab: np.ndarray) -> Segmentation:
    """A picture's drop shadow on the page that segmentation left as slivers along its
    side (the band below it, cut where its faint tail fades into thin and flat bits)
    becomes a shadow region of its own, found from the picture's shape, offset and blurred
    (``_drop_shadows``, the slivers taken for page): left as slivers, they went into
    another object's shadow layer or took a layer of their own. Slivers are thin or flat
    pieces darker than the page, smaller than the picture; one goes to the shadow when
    most of it lies where the fitted shadow is seen and it is the page darkened by about
    the shadow's strength there (``_darkened_by``), and the shadow is kept when such
    slivers are most of it (the page alone darkened that little is no shadow worth a
    layer, or a gradient the fit took for one)."""
    h, w = seg.owner.shape
    owner, regions = seg.owner, list(seg.regions)
    if not (owner == 0).any():
        return seg
    page_l = float(np.median(lab[owner == 0][:, 0]))
    changed = False
    for g in seg.regions:
        if g.kind != "photo" or g.area < MIN_SHAPE_SHARE * h * w:
            continue
        small = [r.label for r in regions if r.kind in ("thin", "shape") and 0 < r.area < 0.5 * g.area
                 and float(np.median(lab[r.slc][owner[r.slc] == r.label][:, 0])) < page_l]
        loose = np.isin(owner, small)
        lbl = len(regions) + 1
        found, cast = _drop_shadows(np.where(loose, 0, owner), rgb, [g.label], 0, lbl, None, SHADOW_MIN_ALPHA)
        if not cast:
            continue
        seen = found == lbl
        inside = np.bincount(owner[seen & loose], minlength=lbl) >= 0.5 * np.bincount(owner.ravel(), minlength=lbl)
        inside[0] = True
        for b in np.flatnonzero(inside[1:]) + 1:
            inside[b] = _darkened_by(owner, int(b), rgb, cast[lbl])
        took = seen & ((owner == 0) | (loose & inside[owner]))
        if took.sum() < 16 or (took & loose).sum() < 0.5 * took.sum():
            continue
        owner = owner.copy() if not changed else owner
        owner[took] = lbl
        changed = True
        regions.append(_shadow_region(lbl, took, {"cast": cast[lbl], "caster": g.label}))
    if not changed:
        return seg
    return _relabelled(owner, regions, seg)


def _shadows_across_pictures(seg: Segmentation, rgb: np.ndarray) -> Segmentation:
    """The drop shadow of an object lying partly on pictures and partly on the page becomes
    one shadow region, found from its shape, offset and blurred (``_drop_shadows``, over the
    pictures, the page and the pieces of shadow segmentation found beside it): the part on
    a picture is the picture darkened and stayed in the picture's region (a dark band baked
    into it, left behind when the object moves), the part on the page a sliver or nothing.
    Objects lying on one big photo are ``_shadows_on_photos``'; objects whose shadow is
    already a region found from their shape are left alone."""
    h, w = seg.owner.shape
    npx = h * w
    owner, regions = seg.owner, list(seg.regions)
    kind_of = np.array(["bg"] + [r.kind for r in regions])
    # a soft blend towards a light or vivid colour is a glow (a shadow's is near black)
    glowing = np.array([False] + [r.kind == "shadow" and (float(r.lab[0]) >= SHADOW_DARK_L or float(
        np.hypot(r.lab[1], r.lab[2])) >= GLOW_CHROMA) for r in regions])
    cast_by = {r.extras.get("caster") for r in regions if r.kind == "shadow"}
    changed = False
    for r in seg.regions:
        if r.kind not in ("shape", "photo") or r.area < MIN_SHAPE_SHARE * npx or r.label in cast_by:
            continue
        x0, y0, x1, y1 = r.bbox
        x0, y0, x1, y1 = max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)
        crop = owner[y0:y1, x0:x1]
        filled = ndimage.binary_fill_holes(crop == r.label)
        ring = crop[cv2.dilate(filled.astype(np.uint8), CROSS).astype(bool) & ~filled]
        ring = ring[kind_of[ring] != "thin"]
        if ring.size == 0:
            continue
        pictures = (kind_of[ring] == "photo") & (ring != r.label)
        if pictures.mean() < SHADOW_ACROSS or glowing[ring].any():
            continue  # (an object seen glowing: the ground round it is lit, not shadowed)
        on = sorted({int(v) for v in ring[pictures]})
        grounds = sorted({0} | set(on) | {int(v) for v in ring[kind_of[ring] == "shadow"]})
        free = np.isin(owner, grounds)
        casters: dict[int, int] = {}
        found, shadows = _drop_shadows(np.where(free, 0, owner), rgb, [r.label], 0, len(regions) + 1, casters)
        if not shadows:
            continue
        lbl = next(iter(shadows))
        took = found == lbl
        on = [g for g in on if _darkens_picture(owner, g, rgb, took, shadows[lbl])]
        if not on or np.isin(owner[took], on).sum() < SHADOW_ACROSS * took.sum():
            continue  # the picture is not seen darkened by it: no shadow across pictures
        if (took & (owner == 0)).sum() >= 16 and not _darkens_picture(owner, 0, rgb, took, shadows[lbl],
                                                                       SHADOW_SEEN_PAGE):
            continue  # nor the page (a picture's edge inpainted into the page beside it)
        owner = owner.copy()
        owner[took] = lbl
        changed = True
        regions.append(_shadow_region(lbl, took, {"cast": shadows[lbl], "caster": r.label, "on": on}))
        kind_of = np.append(kind_of, "shadow")
        glowing = np.append(glowing, False)
    if not changed:
        return seg
    return _relabelled(owner, regions, seg)


def _darkens_picture(owner: np.ndarray, pic: int, rgb: np.ndarray, took: np.ndarray, cast: np.ndarray,
                     share: float = SHADOW_SEEN) -> bool:
    """Is picture ``pic`` (0: the page) where shadow ``took`` falls on it darker than the
    picture just beyond the shadow's reach by at least ``share`` of the fitted strength there (an object
    under a picture casts nothing on it; a picture's own soft rim is no shadow)?"""
    on = took & (owner == pic)
    if on.sum() < 16:
        return False
    reach = cv2.dilate((cast > 0.02).astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    beyond = reach & (cast <= 0.02) & (owner == pic)
    if beyond.sum() < 16:
        return False
    dark = 1.0 - float(np.median(rgb[on].sum(-1))) / max(float(np.median(rgb[beyond].sum(-1))), 1e-3)
    return dark >= share * float(np.median(cast[on]))


def _darkened_by(owner: np.ndarray, label: int, rgb: np.ndarray, cast: np.ndarray, pad: int = 8) -> bool:
    """Is region ``label`` the page round it darkened by about shadow ``cast``'s strength
    (``models.SHADOW_ON_FIT``), not a mark of its own darker than any shadow (a glyph's
    piece beside a picture)?"""
    from .models import SHADOW_ON_FIT
    h, w = owner.shape
    ys, xs = np.nonzero(owner == label)
    y0, y1, x0, x1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1), max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    page = owner[y0:y1, x0:x1] == 0
    if page.sum() < 4:
        return False
    under = np.median(rgb[y0:y1, x0:x1][page], axis=0).sum()
    a = 1.0 - rgb[ys, xs].sum(-1) / max(float(under), 1e-3)
    return float(np.median(np.abs(a - cast[ys, xs]))) < SHADOW_ON_FIT


def _relabelled(owner: np.ndarray, regions: list[Region], seg: Segmentation) -> Segmentation:
    """``regions.relabel`` (labels 1..K for those that still own pixels), the casters that
    shadow regions name renumbered with them."""
    from .regions import relabel
    owner, regions, remap = relabel(owner, regions)
    for r in regions:
        if "caster" in r.extras:
            r.extras["caster"] = remap.get(r.extras["caster"], r.extras["caster"])
        on = r.extras.get("on")
        if isinstance(on, list):
            r.extras["on"] = [remap[g] for g in on if g in remap]
        elif on is not None:
            r.extras["on"] = remap.get(on, on)
    return Segmentation(owner, regions, seg.fg, seg.core)


def _split_frames(seg: Segmentation, rgb: np.ndarray, lab: np.ndarray) -> Segmentation:
    """A picture region that fills its box and runs along a thin flat band all round
    (``frame_ring``) is a picture in a frame: the band becomes a flat shape region of its
    own (completed under the picture by the models, as any covered rectangle)."""
    owner, regions = seg.owner, list(seg.regions)
    for r in seg.regions:
        if r.kind != "photo":
            continue
        x0, y0, x1, y1 = r.bbox
        if r.area < 0.9 * (x1 - x0) * (y1 - y0):
            continue  # not a rectangle
        found = _frame_in(owner, rgb, lab, r.bbox, (r.label,))
        if found is None:
            continue
        win, frame, picture, colour = found
        if owner is seg.owner:
            owner = owner.copy()
        crop = owner[win]
        cy0, cx0 = win[0].start, win[1].start
        new = len(regions) + 1
        crop[frame & (crop == r.label)] = new
        ys, xs = np.nonzero(crop == new)
        regions.append(Region(new, "shape", (slice(cy0 + ys.min(), cy0 + ys.max() + 1),
                                             slice(cx0 + xs.min(), cx0 + xs.max() + 1)),
                              int(ys.size), colour, rgb_to_lab(colour[None])[0], 1.0,
                              {"fill": (1.0, colour)}))
        ys, xs = np.nonzero(crop == r.label)
        regions[r.label - 1] = Region(r.label, r.kind, (slice(cy0 + ys.min(), cy0 + ys.max() + 1),
                                                        slice(cx0 + xs.min(), cx0 + xs.max() + 1)),
                                      int(ys.size), r.rgb, r.lab, r.sharp, dict(r.extras))
    if owner is seg.owner:
        return seg
    return Segmentation(owner, regions, seg.fg, seg.core)


def _carve_photos(seg: Segmentation, rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray,
                  min_share: float) -> Segmentation:
    """Crisp flat shapes lying on a big photo region come off it.

    The edge-density test makes one blob of a photo and whatever is drawn on it (a card
    over a picture panel, a framed photo on it), so they would go into the photo's layer.
    The test for graphics over a photographic background (``find_overlays``: uniform cores
    whose outline is a crisp step) is run inside each photo region of at least
    ``min_share`` of the picture; shapes big enough to matter become regions of their own,
    and what a shape encloses (the picture in a frame) becomes one too. Text on pictures is
    carved before this, by ``text.carve_glyphs_from_photos`` (which also reads the lines
    running on beside a picture), so this pass leaves glyphs alone."""
    h, w = seg.owner.shape
    npx = h * w
    photos = [r for r in seg.regions if r.kind == "photo" and r.area >= min_share * npx]
    if not photos:
        return seg
    owner, core = seg.owner.copy(), seg.core.copy()
    kinds = [r.kind for r in seg.regions]
    changed = False
    for photo in photos:
        inside = owner == photo.label
        # cores clear of the photo's own outline: its rim against the page is no overlay
        deep = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        labels = find_overlays(rgb, lab, grad, deep)
        n = int(labels.max())
        if n == 0:
            continue
        near = grow(labels, 2)
        near[~inside] = 0
        cand = _regions(near, rgb, lab, labels, n)
        for r in cand:
            if r.area < MIN_SHAPE_SHARE * npx:
                continue
            mine = near == r.label
            owner[mine] = len(kinds) + 1
            core |= labels == r.label
            kinds.append("shape")
            ys, xs = np.nonzero(mine)
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            holes = ndimage.binary_fill_holes(mine[y0:y1, x0:x1]) & (owner[y0:y1, x0:x1] == photo.label)
            m, comp = cv2.connectedComponents(holes.astype(np.uint8), connectivity=4)
            for k in range(1, m):
                piece = comp == k
                if piece.sum() < MIN_SHAPE_SHARE * npx:
                    continue
                owner[y0:y1, x0:x1][piece] = len(kinds) + 1
                kinds.append("photo")
        changed = True
    if not changed:
        return seg
    n = len(kinds)
    regions = _regions(owner, rgb, lab, np.where(core, owner, 0), n)
    old = {r.label: r for r in seg.regions}
    out = []
    for r in regions:
        if r.area == 0:
            continue
        # the regions that were there keep their colour: only photos lost pixels, and a
        # thin stroke's colour is not its core's mean (a word too thin for a uniform core
        # would turn black and unblend to nothing)
        prev = old.get(r.label)
        out.append(Region(r.label, kinds[r.label - 1], r.slc, r.area,
                          prev.rgb if prev is not None else r.rgb,
                          prev.lab if prev is not None else r.lab,
                          prev.sharp if prev is not None else 1.0,
                          dict(prev.extras) if prev is not None else {}))
    if len(out) != n:  # a region lost every pixel: relabel densely
        remap = np.zeros(n + 1, np.int32)
        for new, r in enumerate(out, start=1):
            remap[r.label] = new
            r.label = new
        owner = remap[owner]
    return Segmentation(owner, out, seg.fg, core)


def _recall_line_glyphs(labels: np.ndarray, groups: list[list[int]], lab: np.ndarray,
                        valid: np.ndarray) -> np.ndarray:
    """Glyph pixels of a found text line that the overlay test left behind.

    A glyph's uniform core is found only where its stroke is wider than the 3x3 test and
    its outline a crisp step against a calm part of the photo: thin serifs, a descender
    over an edge, a word over a busy patch stay behind in the inpainted background (ghost
    letters) and the word is split. Once the line is known, pixels of the line's exact
    colour in its band, in pieces that stand apart from what surrounds them, are its
    glyphs too (so are pieces the overlay test took that no line holds: a last letter set
    a little apart); each piece joins the nearest glyph of the line."""
    if not groups:
        return labels
    h, w = labels.shape
    slices = ndimage.find_objects(labels)
    out = labels.copy()
    lined = np.zeros(int(labels.max()) + 1, bool)
    lined[[k for g in groups for k in g]] = True
    for g in groups:
        members = [k for k in g if k - 1 < len(slices) and slices[k - 1] is not None]
        if not members:
            continue
        boxes = np.array([(slices[k - 1][1].start, slices[k - 1][0].start,
                           slices[k - 1][1].stop, slices[k - 1][0].stop) for k in members], np.float64)
        hl = float(boxes[:, 3].max() - boxes[:, 1].min())  # the line's height, descenders included
        x0 = int(max(0, boxes[:, 0].min() - hl))
        y0 = int(max(0, boxes[:, 1].min() - 0.25 * hl))
        x1 = int(min(w, boxes[:, 2].max() + hl + 1))
        y1 = int(min(h, boxes[:, 3].max() + 0.25 * hl + 1))
        sub = out[y0:y1, x0:x1]
        sub_lab = lab[y0:y1, x0:x1]
        colour = sub_lab[np.isin(sub, members)].mean(axis=0)
        # the line has the colour of a graphic it lies within: it is that graphic's gaps
        # (the counters of letters on a banner), not text to recall
        lx0, ly0, lx1, ly1 = boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()
        if any(s is not None and k not in members and s[1].start <= lx0 and s[0].start <= ly0
               and s[1].stop >= lx1 and s[0].stop >= ly1
               and float(delta_e(lab[s][labels[s] == k].mean(axis=0), colour)) < RECALL_COLOUR
               for k, s in enumerate(slices, start=1)):
            continue
        d = delta_e(sub_lab, colour)
        # free pixels, or pieces the overlay test took that no line holds (a last letter
        # set a little apart)
        free = ~lined[sub]
        key = (d < RECALL_COLOUR) & free & valid[y0:y1, x0:x1]
        n, comp = cv2.connectedComponents(key.astype(np.uint8), connectivity=8)
        if n <= 1:
            continue
        area = np.bincount(comp.ravel(), minlength=n)
        ring = cv2.dilate(key.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~key & free
        ring_of = grow(np.where(key, comp, 0), 2)
        ring_of = np.where(ring, ring_of, 0)
        # median colour distance of each piece's ring from the line colour
        centres = (boxes[:, 0] + boxes[:, 2]) / 2.0 - x0
        for k in range(1, n):
            if area[k] < 3:
                continue
            rk = ring_of == k
            if rk.sum() < 3 or float(np.median(d[rk])) < RECALL_COLOUR:
                continue
            piece = comp == k
            rows, cols = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
            # no glyph (or two touching): a frame or a bar of the line's colour; the line's
            # height is that of its cores, a pixel or two inside the glyphs' edges
            if rows[-1] - rows[0] + 1 > 1.25 * hl + 3 or cols[-1] - cols[0] + 1 > 3.0 * hl:
                continue
            cx = float(cols.mean())
            sub[piece] = members[int(np.argmin(np.abs(centres - cx)))]
    return out


def _drop_shadows(owner: np.ndarray, rgb: np.ndarray, shapes: list[int], ground: int = 0,
                  first: int | None = None, casters: dict[int, int] | None = None,
                  min_dark: float = 2 * SHADOW_MIN_ALPHA) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Drop shadows that shapes on a photo cast on it become regions of their own.

    Beside a card on a photo the photo is darkened by the card's shadow; left in the
    background it is inpainted into a dark smudge where the card was, and it stays behind
    when the card is moved. The photo there is estimated from beyond the shadow's reach
    (inpainting), the darkening measured against it, and kept as a shadow only when the
    card's own shape, offset and blurred (``models.shadow_of``), explains it. Returns the
    owner image and {label: the fitted shadow's alpha}, hidden parts included (a frame's
    shadow shows as a strip a few pixels wide, too little to fit it again from). ``ground``:
    the label of the photo they lie on (0: the photo background); ``first``: the first new
    label; ``casters`` gets {shadow label: the shape that casts it}; ``min_dark``: the median
    darkening its visible part must reach (twice the least on a photo, whose estimate
    under the shadow is inpainted and grainy; a flat page is measured exactly)."""
    from types import SimpleNamespace
    from .models import shadow_of
    h, w = owner.shape
    npx = h * w
    shadows: dict[int, np.ndarray] = {}
    nxt = int(owner.max()) + 1 if first is None else first
    for lbl in shapes:
        mine = owner == lbl
        area = int(mine.sum())
        if area < MIN_SHAPE_SHARE * npx:
            continue
        ys, xs = np.nonzero(mine)
        sy0, sy1, sx0, sx1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        reach = int(min(24, max(4, 0.08 * max(sx1 - sx0, sy1 - sy0)))) + SHADOW_TAIL
        x0, y0 = max(0, sx0 - 2 * reach), max(0, sy0 - 2 * reach)
        x1, y1 = min(w, sx1 + 2 * reach), min(h, sy1 + 2 * reach)
        shape = mine[y0:y1, x0:x1]
        body = ndimage.binary_fill_holes(shape)
        k = lambda r: np.ones((2 * r + 1, 2 * r + 1), np.uint8)  # noqa: E731
        reach_m = cv2.dilate(body.astype(np.uint8), k(reach)).astype(bool)
        free = owner[y0:y1, x0:x1] == ground
        # the caster's anti-aliased rim is a mix with its own colour, no measure of darkening
        outside = ~cv2.dilate(body.astype(np.uint8), k(1)).astype(bool)
        data = reach_m & outside & free
        clear = cv2.dilate(body.astype(np.uint8), k(reach + 3)).astype(bool) & ~reach_m & free
        if data.sum() < 16 or clear.sum() < 16:
            continue
        img = rgb[y0:y1, x0:x1]
        # the photo without the shadow: filled in from beyond the shadow's reach
        img8 = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
        photo = cv2.inpaint(img8, reach_m.astype(np.uint8), 5, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
        dark = 1.0 - img.sum(-1) / np.maximum(photo.sum(-1), 1e-3)
        # smoothed over the photo only: the caster's own pixels say nothing about its shadow
        wt = outside.astype(np.float32)
        dark = cv2.GaussianBlur(dark * wt, (0, 0), 1.5) / np.maximum(cv2.GaussianBlur(wt, (0, 0), 1.5), 1e-3)
        dark = np.clip(dark, 0.0, 1.0)
        caster = SimpleNamespace(box=(int(sx0), int(sy0), int(sx1), int(sy1)),
                                 support=body[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0].astype(np.float32))
        cast = shadow_of(caster, (x0, y0, x1, y1), dark, data, clear)
        if cast is None:
            continue
        seen = data & (cast > SHADOW_MIN_ALPHA)
        if seen.sum() >= MIN_SHAPE_SHARE * npx * 0.25:  # with the rim the fit left out: it meets its caster
            seen |= reach_m & ~body & free & ~outside & (cast > SHADOW_MIN_ALPHA)
        if seen.sum() < MIN_SHAPE_SHARE * npx * 0.25 or float(np.median(dark[seen])) < min_dark:
            continue
        owner[y0:y1, x0:x1][seen] = nxt
        full = np.zeros((h, w), np.float32)
        full[y0:y1, x0:x1] = cast
        shadows[nxt] = full
        if casters is not None:
            casters[nxt] = lbl
        nxt += 1
    return owner, shadows


def _edge_runs(strong: np.ndarray, min_len: int) -> list[tuple[float, int, int]]:
    """Straight runs of a strong step along rows: (row, first, last column), runs on
    neighbouring rows (an anti-aliased edge) joined."""
    runs = []
    for y in np.flatnonzero(strong.sum(1) >= min_len):
        d = np.diff(np.concatenate([[0], strong[y].astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        for a, b in zip(starts, stops):
            if b - a >= min_len:
                runs.append([float(y), int(a), int(b - 1), 1])
    runs.sort()
    out: list[list] = []
    for r in runs:
        for o in out:
            if r[0] - o[0] / o[3] <= 2.5 and min(r[2], o[2]) - max(r[1], o[1]) > 0.5 * (r[2] - r[1]):
                o[0] += r[0]
                o[1], o[2], o[3] = min(o[1], r[1]), max(o[2], r[2]), o[3] + 1
                break
        else:
            out.append(list(r))
    return [(o[0] / o[3], o[1], o[2]) for o in out]


def find_rectangles(lab: np.ndarray, valid: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Axis-aligned rectangles (x0, y0, x1, y1) whose four sides are long straight steps.

    A picture (or a frame) placed on a photo has no uniform core to find, but its outline
    is four straight, crisp edges meeting at right angles, which a photo's own edges
    almost never are."""
    h, w = valid.shape
    min_len = max(20, int(RECT_MIN_SIDE * min(h, w)))
    gy = np.zeros((h, w), np.float32)
    gx = np.zeros((h, w), np.float32)
    gy[1:-1] = delta_e(lab[2:], lab[:-2])
    gx[:, 1:-1] = delta_e(lab[:, 2:], lab[:, :-2])
    gy[~valid], gx[~valid] = 0, 0
    along_rows = (gy > RECT_STEP) & (gy >= gx)
    along_cols = (gx > RECT_STEP) & (gx >= gy)
    rows = _edge_runs(along_rows, min_len)
    cols = _edge_runs(along_cols.T, min_len)
    tol = 3
    span = max(6, min_len // 3)

    def runs_on(strong, line, a, b):
        """Does the step run on in line past the end at ``a`` (towards ``b``)?"""
        line = int(round(line))
        lo, hi = max(0, line - 1), min(strong.shape[0], line + 2)
        if b > a:
            seg = strong[lo:hi, a:min(strong.shape[1], b)]
        else:
            seg = strong[lo:hi, max(0, b):a]
        return seg.shape[1] > 0 and float(seg.any(axis=0).mean()) >= 0.5

    def isolated(x0, yt, x1, yb):
        """A picture's sides end at its corners; the edges of a pattern of boxes (checks,
        tiles) run on in line into the next box."""
        x0i, x1i, yti, ybi = int(round(x0)), int(round(x1)), int(round(yt)), int(round(yb))
        for strong, line, a, b in ((along_rows, yt, x0i - 3, x0i - 3 - span), (along_rows, yt, x1i + 3, x1i + 3 + span),
                                   (along_rows, yb, x0i - 3, x0i - 3 - span), (along_rows, yb, x1i + 3, x1i + 3 + span),
                                   (along_cols.T, x0, yti - 3, yti - 3 - span), (along_cols.T, x0, ybi + 3, ybi + 3 + span),
                                   (along_cols.T, x1, yti - 3, yti - 3 - span), (along_cols.T, x1, ybi + 3, ybi + 3 + span)):
            if runs_on(strong, line, a, b):
                return False
        return True
    found = []
    for i, (yt, ax0, ax1) in enumerate(rows):
        for yb, bx0, bx1 in rows[i + 1:]:
            if yb - yt < min_len or abs(ax0 - bx0) > tol or abs(ax1 - bx1) > tol:
                continue
            x0, x1 = (ax0 + bx0) / 2.0, (ax1 + bx1) / 2.0

            def side(x):
                return any(abs(cx - x) <= tol and cy0 <= yt + tol + 0.2 * (yb - yt)
                           and cy1 >= yb - tol - 0.2 * (yb - yt) for cx, cy0, cy1 in cols)
            if side(x0) and side(x1) and isolated(x0, yt, x1, yb):
                # a step between rows k and k+1 sits at k + 0.5: the box starts (ends) at k+1
                found.append((int(round(x0)), int(np.floor(yt + 1.0)), int(round(x1)) + 1,
                              int(np.floor(yb + 1.0))))
    return found


def _add_rectangles(owner: np.ndarray, grad: np.ndarray, rgb: np.ndarray, lab: np.ndarray,
                    rects: list[tuple[int, int, int, int]]
                    ) -> tuple[np.ndarray, dict[int, bool], dict[int, np.ndarray]]:
    """Pictures and frames on a photo (``find_rectangles``) become regions: innermost
    first, so a picture in its frame is one region and the frame's ring another. A
    rectangle mostly taken already (a flat card found by its core) is left as it is; a
    picture whose thin frame was found as one box with it is split (``frame_ring``).
    Returns the owner image, {label: is a picture (busy inside)} and {label: colour} of
    the frames split off."""
    out: dict[int, bool] = {}
    frames: dict[int, np.ndarray] = {}
    if not rects:
        return owner, out, frames
    rects = sorted(rects, key=lambda r: (r[2] - r[0]) * (r[3] - r[1]))
    kept: list = []
    for r in rects:  # near-duplicates (an edge found on the frame's side or the picture's)
        if not any(all(abs(a - b) <= 4 for a, b in zip(r, k)) for k in kept):
            kept.append(r)
    h, w = owner.shape
    nxt = int(owner.max()) + 1
    for x0, y0, x1, y1 in kept:
        if (x1 - x0) * (y1 - y0) > RECT_MAX_SHARE * h * w:
            continue
        sub = owner[y0:y1, x0:x1]
        free = sub == 0
        if free.mean() < 0.5:
            continue
        sub[free] = nxt
        out[nxt] = bool((grad[y0:y1, x0:x1][free] > 3.0).mean() > 0.3)
        if out[nxt]:
            found = _frame_in(owner, rgb, lab, (x0, y0, x1, y1), (nxt, 0))
            if found is not None:  # the ring is the frame, a shape; what it encloses the picture
                win, frame, picture, colour = found
                crop = owner[win]
                crop[frame], crop[picture] = nxt, nxt + 1
                out[nxt], out[nxt + 1] = False, True
                frames[nxt] = colour
                nxt += 1
        nxt += 1
    return owner, out, frames


FRAME_FLAT = 10.0        # CIE76 from the frame's colour: still the frame
FRAME_RING = 0.85        # share of the outline the flat ring must follow
FRAME_REACH = 5          # px from a picture's side found within which its frame lies


def _frame_in(owner: np.ndarray, rgb: np.ndarray, lab: np.ndarray, box: tuple[int, int, int, int],
              labels: tuple[int, ...]):
    """``frame_ring`` on the window of the full images round ``box`` (x0, y0, x1, y1), the
    pixels of ``owner`` in ``labels`` its candidates: (window slices, frame, picture masks in
    the window, the frame's colour), or None."""
    h, w = owner.shape
    x0, y0, x1, y1 = box
    win = (slice(max(0, y0 - FRAME_REACH), min(h, y1 + FRAME_REACH)),
           slice(max(0, x0 - FRAME_REACH), min(w, x1 + FRAME_REACH)))
    oy, ox = win[0].start, win[1].start
    split = frame_ring(rgb[win], lab[win], np.isin(owner[win], labels),
                       (x0 - ox, y0 - oy, x1 - ox, y1 - oy), FRAME_REACH)
    return None if split is None else (win, *split)


def frame_ring(rgb: np.ndarray, lab: np.ndarray, cand: np.ndarray, box: tuple[int, int, int, int],
               reach: int = FRAME_REACH) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(frame, picture masks, the frame's colour) when the rectangle ``box`` (x0, y0, x1, y1)
    in the crop is a picture in a flat frame; ``cand``: the crop's pixels that may belong
    to either.

    A thin frame is no region of its own to the tests that find pictures (its two edges
    a few pixels apart read as one straight side, its core is too thin to be flat), so a
    framed picture comes out as one region. Along all four sides of it, within ``reach``
    of the side found, then runs a band of one flat colour: that band is the frame (a
    shape, completed under the picture as the rectangle it is) and what it encloses the
    picture. The side found is the frame's outer edge or its inner one, so the frame's
    colour is looked for just inside the box, then just outside it."""
    from .background import dominant_colour
    h, w = cand.shape
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) < 4 * reach:
        return None
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    # signed distance to the box's outline: > 0 inside, <= 0 outside
    depth = np.minimum(np.minimum(rows - y0 + 1, y1 - rows), np.minimum(cols - x0 + 1, x1 - cols))
    outside = np.maximum(np.maximum(y0 - rows, rows - y1 + 1), np.maximum(x0 - cols, cols - x1 + 1))
    depth = np.where(depth > 0, depth, -outside + 1)
    band = cand & (np.abs(depth) <= reach)
    if band.sum() < 32:
        return None
    for strip in (band & (depth > 0) & (depth <= 2), band & (depth <= 0) & (depth > -2)):
        if strip.sum() < 16:
            continue
        found = _frame_of(rgb, lab, cand, box, band, dominant_colour(lab[strip]), reach)
        if found is not None:
            return found
    return None


def _frame_of(rgb, lab, cand, box, band, colour, reach):
    """``frame_ring`` for one candidate frame colour."""
    h, w = cand.shape
    x0, y0, x1, y1 = box
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    flat = band & (delta_e(lab, colour) < FRAME_FLAT)
    lo_y, hi_y = max(0, y0 - reach), min(h, y0 + reach + 1)
    lo_b, hi_b = max(0, y1 - 1 - reach), min(h, y1 + reach)
    lo_x, hi_x = max(0, x0 - reach), min(w, x0 + reach + 1)
    lo_r, hi_r = max(0, x1 - 1 - reach), min(w, x1 + reach)
    span_x = slice(x0 + reach, x1 - reach)
    span_y = slice(y0 + reach, y1 - reach)
    sides = (flat[lo_y:hi_y, span_x], flat[lo_b:hi_b, span_x], flat[span_y, lo_x:hi_x].T, flat[span_y, lo_r:hi_r].T)
    if any(sd.shape[1] == 0 or float(sd.any(axis=0).mean()) < FRAME_RING for sd in sides):
        return None

    def edges(sd, lo):  # outermost and innermost flat row per position, median over the side
        has = sd.any(axis=0)
        first = np.argmax(sd, axis=0)[has]
        last = sd.shape[0] - 1 - np.argmax(sd[::-1], axis=0)[has]
        return lo + int(np.median(first)), lo + int(np.median(last))
    t_out, t_in = edges(sides[0], lo_y)
    b_in, b_out = edges(sides[1], lo_b)
    l_out, l_in = edges(sides[2], lo_x)
    r_in, r_out = edges(sides[3], lo_r)
    if min(t_in - t_out, b_out - b_in, l_in - l_out, r_out - r_in) < 1:
        return None  # a line, not a band: the picture's own edge
    if t_out <= lo_y or b_out >= hi_b - 1 or l_out <= lo_x or r_out >= hi_r - 1:
        return None  # the flat colour runs on outside: the backdrop round the picture, no frame
    picture = cand & (rows > t_in) & (rows < b_in) & (cols > l_in) & (cols < r_in)
    outer = (rows >= t_out - 1) & (rows <= b_out + 1) & (cols >= l_out - 1) & (cols <= r_out + 1)
    frame = cand & outer & ~picture
    if picture.sum() < 0.3 * (frame.sum() + picture.sum()) or float((delta_e(lab[picture], colour) < FRAME_FLAT).mean()) > 0.5:
        return None
    return frame, picture, np.median(rgb[flat], axis=0).astype(np.float32)

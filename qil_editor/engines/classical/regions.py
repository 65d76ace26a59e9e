"""Find the objects of a design at working resolution.

Pipeline (all vectorised):
1. foreground = pixels that differ from the background model (hysteresis on
   the CIELAB distance, so faint anti-aliased rims stay attached to strong
   seeds);
2. textured blobs (many colours, many edges) become "photo" regions, one per
   picture (``photo_blobs``);
3. flat "cores" (low local gradient) split into connected segments: shapes,
   big glyphs, gradient fills;
4. rim pixels whose colour cannot be a mix of the cores around them (thin
   strokes, small text on a card) become "thin" regions with the colour of
   their most saturated pixels;
5. every remaining foreground pixel goes to the nearest region, and soft,
   darkened-background segments are recognised as shadows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .background import Background
from .blends import (GLOW_RESID, blend_from_biggest, blend_pieces, blend_residual,
                     glow_pixels, shadow_blend, shadow_colour)
from .colour import delta_e, rgb_to_lab
from .fill import push_pull
from .labels import label_means, label_medians, nearest_label
from .photo_blobs import (find_photo_blobs, grain_body, rough_pixels, split_photos, trim_protrusions,
                          trim_side_bands)

BG = 0  # owner label of the background
PHOTO_MIN_SHARE = 0.002  # share of the canvas a photo blob needs (at least 64 px)


def photo_min_area(npx: int) -> int:
    """The least area (px) of a photo blob, and of a picture piece, on a canvas of ``npx``."""
    return max(64, int(PHOTO_MIN_SHARE * npx))


@dataclass
class Region:
    label: int
    kind: str                      # "shape", "thin", "photo" or "shadow"
    slc: tuple[slice, slice]       # bounding box (working resolution) of owned pixels
    area: int
    rgb: np.ndarray                # representative colour, float32 [0, 1]
    lab: np.ndarray
    sharp: float = 1.0             # rim gradient / contrast against the background (soft < 0.35)
    extras: dict = field(default_factory=dict)

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        ys, xs = self.slc
        return xs.start, ys.start, xs.stop, ys.stop

    @property
    def height(self) -> int:
        return self.slc[0].stop - self.slc[0].start

    @property
    def width(self) -> int:
        return self.slc[1].stop - self.slc[1].start


@dataclass
class Segmentation:
    owner: np.ndarray              # (h, w) int32: 0 background, k -> regions[k - 1]
    regions: list[Region]
    fg: np.ndarray                 # foreground mask
    core: np.ndarray               # flat-interior mask (all labels, background included)

    def region(self, label: int) -> Region:
        return self.regions[label - 1]


def _cc(mask: np.ndarray, connectivity: int = 8):
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=connectivity, ltype=cv2.CV_32S)
    return n, lab


def _hysteresis(dist: np.ndarray, valid: np.ndarray, low: float, high: float) -> np.ndarray:
    weak = (dist > low) & valid
    n, lab = _cc(weak)
    if n <= 1:
        return weak
    keep = np.zeros(n, bool)
    keep[np.unique(lab[(dist > high) & weak])] = True
    keep[0] = False
    return keep[lab]


def _local_box(lab: np.ndarray, core: np.ndarray, radius: int):
    """Per-channel min and max of core colours within a square window."""
    k = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    hi = np.where(core[..., None], lab, np.float32(-1e4)).astype(np.float32)
    lo = np.where(core[..., None], lab, np.float32(1e4)).astype(np.float32)
    return cv2.erode(lo, k), cv2.dilate(hi, k)


def segment(rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray, valid: np.ndarray,
            bg: Background) -> Segmentation:
    h, w = valid.shape
    npx = h * w
    dist = bg.delta
    g_edge = max(3.0, 2.5 * bg.noise + 1.0)
    fg = _hysteresis(dist, valid, bg.t_low, bg.t_high)
    edge = grad > g_edge
    min_photo = photo_min_area(npx)
    photo = find_photo_blobs(fg, edge, lab, min_photo, rgb, bg.noise) & valid
    photo_lbl = split_photos(photo, edge, lab, rgb, min_photo, bg.noise)
    photo_lbl = trim_protrusions(photo_lbl, min_photo, min(h, w))
    photo_lbl = trim_side_bands(photo_lbl, rgb, min_photo, min(h, w))
    fg |= photo
    photo_lbl, shed = _shed_photo_shadows(photo_lbl, rgb, lab, bg, min_photo)
    photo = photo_lbl > 0
    taken = photo | (shed > 0)

    core_fg = fg & ~edge & ~taken
    min_seg = max(3, int(2e-5 * npx))
    n_seg, seg, sstats, _ = cv2.connectedComponentsWithStats(core_fg.astype(np.uint8), connectivity=4)
    big = sstats[:, cv2.CC_STAT_AREA] >= min_seg
    big[0] = False
    seg = np.where(big[seg], seg, 0)
    seg = _shed_shadow_tails(seg, sstats[:, cv2.CC_STAT_AREA], rgb, bg, min_photo)
    core_fg = seg > 0
    bg_core = ~fg & valid & ~edge
    core_any = core_fg | bg_core

    # Rims that are not a blend of the cores around them: thin strokes, small text.
    rim = fg & ~core_fg & ~taken
    radius = 4
    lo, hi = _local_box(lab, core_any, radius)
    margin = np.float32(max(8.0, bg.t_low + 4.0))
    outside = ((lab < lo - margin) | (lab > hi + margin)).any(axis=-1)
    unexplained = rim & outside
    n_thin, thin = _cc(unexplained, 8)
    thin = _shed_shadow_tails(thin, np.bincount(thin.ravel(), minlength=n_thin), rgb, bg, min_photo)
    n_thin = int(thin.max()) + 1

    owner = np.zeros((h, w), np.int32)
    # Relabel: segments first, then thin components, then photo blobs.
    seg_ids = np.unique(seg[seg > 0])
    seg_map = np.zeros(int(seg.max()) + 1, np.int32)
    seg_map[seg_ids] = np.arange(1, seg_ids.size + 1)
    owner[core_fg] = seg_map[seg[core_fg]]
    next_label = seg_ids.size + 1
    kinds = ["shape"] * seg_ids.size
    if n_thin > 1:
        owner[thin > 0] = thin[thin > 0] + (next_label - 1)
        kinds += ["thin"] * (n_thin - 1)
        next_label += n_thin - 1
    next_label = _append_labels(owner, photo_lbl, "photo", kinds, next_label)
    next_label = _append_labels(owner, shed, "shadow", kinds, next_label)

    # Remaining foreground pixels: the nearest region; far-away leftovers form their own.
    rest = fg & (owner == 0)
    if rest.any():
        near, _ = nearest_label(owner, rest, max_dist=3.5)
        owner[rest] = near[rest]
        left = fg & (owner == 0)
        if left.any():
            n_left, lab_left = _cc(left, 8)
            owner[left] = lab_left[left] + (next_label - 1)
            kinds += ["thin"] * (n_left - 1)
            next_label += n_left - 1

    kinds, thick = _thick_strokes(owner, kinds)
    regions = _describe(owner, kinds, rgb, lab, core_fg, grad, bg)
    owner, kinds, changed = _absorb_rim_fragments(owner, regions, lab, bg, margin)
    owner, kinds, changed2 = _merge_counters(owner, regions if not changed else
                                             _describe(owner, kinds, rgb, lab, core_fg, grad, bg))
    if changed or changed2:
        owner, kinds = _compact(owner, kinds)
        regions = _describe(owner, kinds, rgb, lab, core_fg, grad, bg)
    owner, kinds, changed = _grow_shadows(owner, regions, rgb, bg)
    if changed:
        owner, kinds = _compact(owner, kinds)
        regions = _describe(owner, kinds, rgb, lab, core_fg, grad, bg)
    owner, kinds, changed = _bridge_occluded(owner, regions, lab, bg.noise)
    if changed:
        owner, kinds = _compact(owner, kinds)
        regions = _describe(owner, kinds, rgb, lab, core_fg, grad, bg)
    owner, regions = _drop_specks(owner, regions, bg, dist, npx)
    was_thin = {r.label for r in regions if r.kind == "thin"}
    _mark_shadows(regions, owner, rgb, bg, thin=True)
    slivers = {r.label for r in regions if r.kind == "shadow" and r.label in was_thin}
    # slivers of one shadow (the sides of a card's shadow, split at a corner) are one shadow
    owner, kinds, changed = _grow_shadows(owner, regions, rgb, bg, slivers)
    owner, kinds, changed2 = _join_shadows_of_one_caster(owner, kinds if changed else None, regions,
                                                         slivers)
    if changed or changed2:
        owner, kinds = _compact(owner, kinds)
        regions = _describe(owner, kinds, rgb, lab, core_fg, grad, bg)
    owner, kinds, glows = _gather_glows(owner, regions, rgb, bg)
    if glows is not None:
        owner, kinds = _compact(owner, kinds)
        regions = _describe(owner, kinds, rgb, lab, core_fg, grad, bg, glows)
    return Segmentation(owner, regions, fg, core_any)


PHOTO_SHADOW_MISS = 0.02  # RGB miss of a pixel from the background darkened towards black
PHOTO_SHADOW_ALPHA = (0.03, 0.9)  # a drop shadow's strength: seen, and not solid black


def _shed_photo_shadows(photo_lbl: np.ndarray, rgb: np.ndarray, lab: np.ndarray,
                        bg: Background, min_area: int) -> tuple[np.ndarray, np.ndarray]:
    """A picture's drop shadow, taken along with the picture, becomes a shadow of its own.

    Beside a photo its shadow's dense part is edge-dense at the picture's outline and thin,
    so the density test takes it along with the picture and the smooth margins shed
    (``photo_blobs``) are only the thick ones; kept in the photo, the photo's layer carries a
    dark band beside it and its shadow layer is left with crumbs. Its pixels are smooth (no
    grain) and the background darkened towards black, which a picture's pixels are only by
    chance, here and there: the pieces of such pixels that reach the blob's outline and are
    more than specks are dropped from the photo. Returns the photo labels and the shadows'
    pixels, labelled by the picture that casts them (one shadow each, in pieces where
    something lies on it). A small busy blob may be a shadow whole (``_mark_shadows``)."""
    shed = np.zeros_like(photo_lbl)
    photo = photo_lbl > 0
    if not photo.any():
        return photo_lbl, shed
    ys, xs = np.nonzero(photo)
    y0, y1 = max(0, ys.min() - 2), min(photo.shape[0], ys.max() + 3)
    x0, x1 = max(0, xs.min() - 2), min(photo.shape[1], xs.max() + 3)
    crop = photo[y0:y1, x0:x1]
    smooth = ~rough_pixels(lab[y0:y1, x0:x1], bg.noise)
    a, miss = blend_residual(rgb[y0:y1, x0:x1], bg.rgb[y0:y1, x0:x1], np.zeros(3, np.float32))
    dark = crop & smooth & (miss < PHOTO_SHADOW_MISS) & (a > PHOTO_SHADOW_ALPHA[0]) & (a < PHOTO_SHADOW_ALPHA[1])
    # a band a few pixels wide: the anti-aliased rim of a dark picture is the background
    # darkened too, but a pixel or two wide; a shadow cast nearly under its picture shows
    # as a band of 3-6 rows, which only the narrower opening keeps
    dark = dark.astype(np.uint8)
    outline = cv2.dilate((~crop).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cut = np.zeros_like(crop)
    for size in (5, 3):
        n, comp, stats, _ = cv2.connectedComponentsWithStats(
            cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))),
            connectivity=8)
        drop = (np.bincount(comp[outline & (comp > 0)], minlength=n) > 0) & (stats[:, cv2.CC_STAT_AREA] >= min_area)
        drop[0] = False
        # what only the narrower opening keeps goes only when it darkens the page as a drop
        # shadow does, not as a near-solid dark edge of the picture itself, which a thin
        # band so often is
        for k in np.flatnonzero(drop) if size == 3 else ():
            m = comp == k
            drop[k] = shadow_blend(rgb[y0:y1, x0:x1][m].astype(np.float32), bg.rgb[y0:y1, x0:x1][m],
                                    bg.lab[y0:y1, x0:x1][m], np.zeros(3, np.float32))
        cut |= drop[comp]
    lbl = photo_lbl[y0:y1, x0:x1]
    big = np.bincount(photo_lbl[photo]) >= SHADOW_AS_PHOTO * photo.size
    cut &= big[lbl]
    if not cut.any():
        return photo_lbl, shed
    out = photo_lbl.copy()
    out[y0:y1, x0:x1][cut] = 0
    shed[y0:y1, x0:x1][cut] = lbl[cut]
    return out, shed


SHADOW_TAIL_MIN = 0.25  # share of the smallest photo blob a shadow tail cut off a shape covers at least


def _shed_shadow_tails(seg: np.ndarray, areas: np.ndarray, rgb: np.ndarray, bg: Background,
                       min_photo: int) -> np.ndarray:
    """Shape pieces (labels ``seg`` with ``areas``: flat cores, or the rim components a striped
    fill arrives as) without the band of another object's drop shadow that they run on into.

    Under a dark shadow the step between two things it falls on is small, so the shadow's
    band along its caster's rim joins the piece of the shape it also falls on and runs off it
    over the background: kept, the shape's layer carries the band and, wrapped round the
    caster, is stacked over it and left uncompleted under it. What an opening cuts off a piece
    and reaches away from its body (``trim_protrusions``) becomes a piece of its own when its
    pixels are the background darkened towards one colour (a shadow's), and so does the part
    of it that is the background blended towards one colour at a partial, varying alpha (a
    soft glow's ring, ``glow_pixels``: later stages make it the glow of what it hugs); a
    shape's own tip, in the shape's colour, stays, and so does a shadow's or glow's own
    tapering end (a piece that is itself such a blend: cut off, the end would be fitted apart
    from its shadow and show as a line across it)."""
    h, w = seg.shape
    min_area = max(16, int(SHADOW_TAIL_MIN * min_photo))
    big = np.flatnonzero(areas >= 4 * min_area)
    big = big[big > 0]
    if big.size == 0:
        return seg
    remap = np.zeros(areas.size, np.int32)
    remap[big] = np.arange(1, big.size + 1)
    lbl = remap[seg]
    cut = (lbl > 0) & (trim_protrusions(lbl, min_area, min(h, w)) == 0)
    if not cut.any():
        return seg
    n, comp, st, _ = cv2.connectedComponentsWithStats(cut.astype(np.uint8), connectivity=8)
    out = seg.copy()
    nxt = int(seg.max()) + 1
    body_is_shadow: dict[int, bool] = {}

    def blend(m: np.ndarray, box) -> bool:
        # a plain drop shadow (towards black) too: the caster's rim and what else the band
        # crosses pull the fitted colour off
        img = rgb[box][m].astype(np.float32)
        return any(shadow_blend(img, bg.rgb[box][m], bg.lab[box][m], col)
                   for col in (None, np.zeros(3, np.float32)))

    def glow(m: np.ndarray, box) -> np.ndarray:
        # a soft glow's band: where it runs over other things too, only its part over the page
        part = np.zeros(m.shape, bool)
        part[m] = glow_pixels(rgb[box][m].astype(np.float32), bg.rgb[box][m])
        return cv2.morphologyEx(part.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)

    for k in range(1, n):
        x, y, bw, bh = st[k, :4]
        box = (slice(y, y + bh), slice(x, x + bw))
        m = comp[box] == k
        if not blend(m, box):
            m = glow(m, box)
            if m.sum() < min_area:
                continue
        parent = int(np.bincount(seg[box][m]).argmax())
        if parent not in body_is_shadow:
            ys, xs = np.nonzero((seg == parent) & ~cut)
            pbox = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)) if ys.size else None
            body = (seg[pbox] == parent) & ~cut[pbox] if pbox is not None else None
            body_is_shadow[parent] = body is not None and (
                blend(body, pbox) or 2 * int(glow(body, pbox).sum()) > int(body.sum()))
        if not body_is_shadow[parent]:
            out[box][m] = nxt
            nxt += 1
    return out


def _append_labels(owner: np.ndarray, lbl: np.ndarray, kind: str, kinds: list[str], next_label: int) -> int:
    """Regions ``lbl`` > 0 (numbered in any way) take the labels from ``next_label`` on in
    ``owner``, of ``kind``; returns the next free label."""
    on = lbl > 0
    if not on.any():
        return next_label
    ids = np.unique(lbl[on])
    remap = np.zeros(int(ids.max()) + 1, np.int32)
    remap[ids] = np.arange(next_label, next_label + ids.size)
    owner[on] = remap[lbl[on]]
    kinds += [kind] * ids.size
    return next_label + ids.size


GLOW_REACH = 0.08     # share of the canvas's short side a glow reaches out from its host
GLOW_HOST = 0.002     # share of the canvas a glow's host covers
GLOW_INSIDE = 0.5     # share of a piece that lies within the reach (a whole neighbour does not)
GLOW_FALL = -0.3      # correlation of a glow's alpha with the distance from its host: it fades out
GLOW_AROUND = 0.25    # share of the host's surroundings (2-4 px out) the glow holds
GLOW_CRUMB = 0.05     # a crisp piece below this share of the host may be a bit of its glow


def _gather_glows(owner, regions, rgb, bg: Background):
    """The pieces of a soft coloured glow around an object are one glow: the background
    blended towards one colour with an alpha fading out from the object. Its fast colour
    ramp is all edges, so it came apart into rims, slivers and a soft tail (some read as
    strokes or text, the tail often joined to a neighbour's glow); joined, what lies within
    its reach is modelled as a shadow is (one colour, a smooth alpha, completed under the
    object from its shape) and lies right beneath the object. Returns the owner image, the
    kinds and (None when no glow was found) the glows' pixels: 1 over the background, 2 over
    other things (``_glow_on_ground``)."""
    h, w = owner.shape
    kinds = [r.kind for r in regions]
    reach = max(6, int(round(GLOW_REACH * min(h, w))))
    soft = np.array([False] + [r.kind == "thin" or (r.kind == "shape" and r.sharp < 0.35) for r in regions])
    hosts = [r for r in regions if r.kind in ("shape", "photo") and r.sharp >= 0.35
             and r.area >= GLOW_HOST * owner.size]
    if not hosts:
        return owner, kinds, None
    # each pixel's nearest object: where two glows run together, the tail is split there
    nearest, _ = nearest_label(np.where(np.isin(owner, [r.label for r in hosts]), owner, 0),
                               np.ones(owner.shape, bool), reach)
    out = owner.copy()
    changed = False
    glows = np.zeros(owner.shape, np.uint8)
    for host in sorted(hosts, key=lambda r: -r.area):
        x0, y0, x1, y1 = host.bbox
        x0, y0, x1, y1 = max(0, x0 - reach - 2), max(0, y0 - reach - 2), min(w, x1 + reach + 2), min(h, y1 + reach + 2)
        crop = out[y0:y1, x0:x1]
        mine = crop == host.label
        dist = cv2.distanceTransform((~mine).astype(np.uint8), cv2.DIST_L2, 3)
        near = dist <= reach
        # soft pieces and crumbs around it (the glow's rims, slivers and faint tail), each
        # mostly within the glow's reach; whether they are the glow the fit below says
        nbs = [int(b) for b in np.unique(crop[near & ~mine]) if 0 < b < len(soft)
               and (soft[b] or (regions[b - 1].kind in ("shape", "thin")
                                and regions[b - 1].area < GLOW_CRUMB * host.area))]
        # a glow lies outside its object: words or marks in its holes are not one
        body = ndimage.binary_fill_holes(mine)
        pieces = [b for b in nbs if ((crop == b) & near & ~body).sum() >= GLOW_INSIDE * regions[b - 1].area]
        # two glows run together (their tails one piece, or each other's rims within reach):
        # of the soft pieces mostly within reach of some object, the part nearer this object
        # than any other
        cell = near & (nearest[y0:y1, x0:x1] == host.label)
        left = np.bincount(out.ravel(), minlength=len(soft))       # (what another glow left of it)
        within = np.bincount(out[nearest > 0], minlength=len(soft))
        shared = [b for b in nbs if b not in pieces and soft[b] and ((crop == b) & cell & ~body).sum() >= 16
                  and within[b] >= GLOW_INSIDE * left[b]]
        img, under = rgb[y0:y1, x0:x1], bg.rgb[y0:y1, x0:x1]
        avail = (np.isin(crop, pieces) & near) | (np.isin(crop, shared) & cell)
        # what else lies round it within reach (pictures, cards): the glow may lie over them
        ground = [int(b) for b in np.unique(crop[near & ~body]) if 0 < b < len(soft) and b != host.label
                  and b not in pieces and b not in shared and regions[b - 1].kind in ("shape", "photo")]
        glow = _glow_within(crop, img, under, dist, pieces + shared, avail, ground=ground)
        if glow is None:  # the other object's rims within reach of this one too
            glow = _glow_within(crop, img, under, dist, pieces + shared, cell, ground=ground)
        for within in (avail, cell):  # a word crossing the glow outlasted its ring
            if glow is None:
                glow = _glow_within(crop, img, under, dist, pieces + shared, within, blend_from_biggest,
                                    ground)
        if glow is None:
            continue
        kinds.append("shadow")
        glows[y0:y1, x0:x1][glow] = np.where(np.isin(crop[glow], ground), 2, 1)
        crop[glow] = len(kinds)
        changed = True
    return out, kinds, glows if changed else None


def _glow_within(crop, rgb, under_rgb, dist, pieces: list[int], avail: np.ndarray, pick=None,
                 ground: list[int] = ()):
    """The glow the ``pieces`` (labels in ``crop``) form within ``avail`` around the host
    (``dist``: px from it), or None: the pieces that are one blend towards one colour, whose
    alpha falls with the distance from the host and which hold enough of its surroundings.
    Where it lies over the ``ground`` regions (pictures, cards beneath the host) it was taken
    into them; that part is found against them (``_glow_on_ground``) and counts too."""
    # judged clear of the host's anti-aliased rim, where the host's colour mixes in
    sel = np.isin(crop, pieces) & avail & (dist >= 2)
    if sel.sum() < 16:
        return None
    img, under, which = rgb[sel], under_rgb[sel], crop[sel]
    keep, a = (pick or blend_pieces)(img, under, which, [b for b in pieces if (which == b).any()])
    m = np.isin(which, keep)
    if m.sum() < 16 or float(np.std(a[m])) < 0.02:
        return None
    if float(np.corrcoef(a[m], dist[sel][m])[0, 1]) > GLOW_FALL:
        return None
    glow = np.isin(crop, keep) & avail
    ring = (dist >= 2) & (dist <= 4)
    if glow[ring].mean() < GLOW_AROUND and ground:
        glow |= _glow_on_ground(crop, rgb, under_rgb, dist, ground, a[m], dist[sel][m], img[m], under[m])
    if glow[ring].mean() < GLOW_AROUND:
        return None
    return glow


GLOW_SEEN = 0.05      # a glow's alpha where it still shows
GLOW_GAIN = 0.5       # share of a region's miss from its own colours left once a glow over it is fitted


def _glow_on_ground(crop, rgb, under_rgb, dist, ground: list[int], a: np.ndarray, d: np.ndarray,
                    page: np.ndarray, page_under: np.ndarray) -> np.ndarray:
    """The part of a glow lying over the ``ground`` regions of ``crop`` (alpha ``a`` at ``d``
    px from its host on its pixels ``page`` over the background ``page_under``): the
    segmentation gave it to the picture or card beneath (a glow over a photo is its yellow
    ring there) or to a soft neighbour it runs into. The glow shows as far from its host as
    its alpha over the background stays above GLOW_SEEN; within that band a region's pixels
    are the glow's when they are the background blended towards the glow's colour (a ring
    over the page taken by a patterned card beside it) or, all together, the region itself,
    as seen beyond the band, blended so (median miss < GLOW_RESID, or well below the
    region's own, alpha falling off the host). Over one background a glow's colour and
    strength trade off (a paler colour, stronger); over two they are fixed, so over a
    region the colour is fitted again on both."""
    out = np.zeros(crop.shape, bool)
    col = shadow_colour(page, page_under, light=True)
    bins = np.round(d).astype(np.int32)
    prof = label_medians(a, bins, [int(b) for b in np.unique(bins)])
    shown = [k for k, v in prof.items() if v >= GLOW_SEEN and (bins == k).sum() >= 8]
    if not shown:
        return out
    band = dist <= max(shown) + 1
    # over the page: pixel by pixel (the glow is smooth where it lies on a flat background)
    ab, mb = blend_residual(rgb, under_rgb, col)
    blend = (mb < GLOW_RESID) & (ab > GLOW_SEEN) & (ab < 0.95)
    for g in ground:
        mine = crop == g
        part = mine & band
        judged = part & (dist >= 2)  # clear of the host's anti-aliased rim
        if judged.sum() < 16:
            continue
        on_page = cv2.morphologyEx((part & blend).astype(np.uint8), cv2.MORPH_OPEN,
                                   np.ones((3, 3), np.uint8)).astype(bool)
        seen = on_page & judged
        if seen.sum() >= 16 and float(np.corrcoef(ab[seen], dist[seen])[0, 1]) <= GLOW_FALL:
            out |= on_page
        # over the region: it continued from beyond the band into it
        clean = mine & ~cv2.dilate(band.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if clean.sum() < 16:
            continue
        beneath = push_pull(rgb, clean.astype(np.float32))
        both = shadow_colour(np.concatenate([page, rgb[judged]]),
                             np.concatenate([page_under, beneath[judged]]), light=True)
        if float(np.median(blend_residual(page, page_under, both)[1])) >= GLOW_RESID:
            continue
        ag, mg = blend_residual(rgb[judged], beneath[judged], both)
        # a picture's grain is no blend: it is missed as much with the glow as without
        plain = float(np.median(np.linalg.norm(rgb[judged] - beneath[judged], axis=-1)))
        if float(np.median(mg)) < max(GLOW_RESID, GLOW_GAIN * plain) and float(np.median(ag)) > GLOW_SEEN \
                and float(np.corrcoef(ag, dist[judged])[0, 1]) <= GLOW_FALL:
            out |= part
    return out


def _thick_strokes(owner: np.ndarray, kinds: list[str]) -> tuple[list[str], bool]:
    """A "thin" region with a wide solid interior is no stroke: a shape whose fill is a
    texture (stripes, grain) has no flat core, so it arrived as unexplained rim. A
    stroke or glyph is a few pixels across; such a region is a shape (drawn under what
    it touches, completed when covered), not a stroke drawn over everything."""
    is_thin = np.array([False] + [k == "thin" for k in kinds])
    if not is_thin.any():
        return kinds, False
    mask = is_thin[owner]
    # distance to the nearest pixel of any other label (or the canvas edge beyond)
    inner = np.pad(mask, 1).astype(np.uint8)
    dist = cv2.distanceTransform(inner, cv2.DIST_L2, 3)[1:-1, 1:-1]
    depth = np.zeros(len(kinds) + 1, np.float32)
    np.maximum.at(depth, owner[mask], dist[mask])
    limit = max(10.0, 0.03 * min(owner.shape))
    out = list(kinds)
    changed = False
    for k in np.flatnonzero(is_thin & (depth > limit)):
        out[k - 1] = "shape"
        changed = True
    return out, changed


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from colours ``p`` to the segments [a, b] (all (N, 3))."""
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-6), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=-1)


def _absorb_rim_fragments(owner, regions, lab, bg: Background, margin: float):
    """Thin fragments that are just a mix of a neighbouring shape and the background
    (anti-aliased corners far from the shape's flat core) join that shape."""
    kinds = [r.kind for r in regions]
    n = len(regions) + 1
    is_thin = np.array([False] + [k == "thin" for k in kinds])
    if not is_thin.any():
        return owner, kinds, False
    solid = np.where(~is_thin[owner] & (owner > 0), owner, 0)
    thin_px = is_thin[owner]
    near, _ = nearest_label(solid, thin_px, max_dist=8.0)
    cand = thin_px & (near > 0)
    if not cand.any():
        return owner, kinds, False
    lab_by_label = np.stack([np.zeros(3, np.float32)] + [r.lab for r in regions])
    p = lab[cand]
    d = _segment_distance(p, lab_by_label[near[cand]], bg.lab[cand])
    ok = d <= margin
    lbl = owner[cand]
    tot = np.bincount(owner[thin_px], minlength=n)
    good = np.bincount(lbl[ok], minlength=n)
    from .ordering import contact_matrix  # local: ordering imports this module
    on_bg = contact_matrix(owner, n)[:, BG] > 0  # a rim between a shape and the background
    absorb = is_thin & on_bg & (good >= 0.9 * np.maximum(tot, 1)) & (tot > 0)
    if not absorb.any():
        return owner, kinds, False
    # target: the most common nearest solid label per fragment
    pairs = lbl.astype(np.int64) * n + near[cand]
    uniq, cnt = np.unique(pairs[absorb[lbl]], return_counts=True)
    target = np.zeros(n, np.int64)
    best = np.zeros(n, np.int64)
    for u, c in zip(uniq, cnt):
        f, t = divmod(int(u), n)
        if c > best[f]:
            best[f], target[f] = c, t
    remap = np.arange(n)
    remap[absorb] = target[absorb]
    return remap[owner].astype(np.int32), kinds, True


def _merge_counters(owner, regions):
    """Pieces of a shape cut off by what is drawn on it (the inside of an 'o' on a
    card) rejoin the shape: same colour, enclosed by non-background pixels."""
    kinds = [r.kind for r in regions]
    n = len(regions) + 1
    remap = np.arange(n)
    big = sorted((r for r in regions if r.kind in ("shape", "photo")), key=lambda r: -r.area)
    changed = False
    for small in regions:
        if small.kind not in ("shape", "thin") or small.area == 0:
            continue
        y0, y1 = max(0, small.slc[0].start - 2), min(owner.shape[0], small.slc[0].stop + 2)
        x0, x1 = max(0, small.slc[1].start - 2), min(owner.shape[1], small.slc[1].stop + 2)
        crop = owner[y0:y1, x0:x1]
        mine = (crop == small.label).astype(np.uint8)
        ring = cv2.dilate(mine, np.ones((5, 5), np.uint8)).astype(bool) & ~mine.astype(bool)
        if not ring.any() or (crop[ring] == BG).any():
            continue
        if y0 == 0 and small.slc[0].start == 0 or x0 == 0 and small.slc[1].start == 0:
            continue
        for host in big:
            if host.label == small.label or host.area < 4 * small.area:
                continue
            hx0, hy0, hx1, hy1 = host.bbox
            sx0, sy0, sx1, sy1 = small.bbox
            if not (hx0 <= sx0 and hy0 <= sy0 and sx1 <= hx1 and sy1 <= hy1):
                continue
            if float(delta_e(small.lab, host.lab)) < (5.0 if small.kind == "shape" else 14.0):
                remap[small.label] = remap[host.label]
                changed = True
                break
    if not changed:
        return owner, kinds, False
    return remap[owner].astype(np.int32), kinds, True


def _compact(owner, kinds):
    """Renumber labels 1..K after merges, dropping the ones that vanished."""
    present = np.unique(owner)
    present = present[present > 0]
    remap = np.zeros(len(kinds) + 1, np.int32)
    remap[present] = np.arange(1, present.size + 1)
    return remap[owner], [kinds[p - 1] for p in present]


def relabel(owner: np.ndarray, regions: list[Region]) -> tuple[np.ndarray, list[Region], dict[int, int]]:
    """Labels 1..K for the regions that still own pixels once others joined them
    (``_compact``), their boxes and areas redone, and old label -> new."""
    dense, kept = _compact(owner, regions)
    boxes = ndimage.find_objects(dense, max_label=len(kept))
    out = [Region(i, r.kind, boxes[i - 1], int((dense[boxes[i - 1]] == i).sum()), r.rgb, r.lab,
                  r.sharp, dict(r.extras)) for i, r in enumerate(kept, start=1)]
    return dense, out, {r.label: i for i, r in enumerate(kept, start=1)}


def _describe(owner, kinds, rgb, lab, core_fg, grad, bg: Background, glows=None) -> list[Region]:
    n = len(kinds) + 1
    flat = owner.ravel()
    area = np.bincount(flat, minlength=n)
    # Representative colour: mean of the flat core for shapes; for thin regions the
    # pixels farthest from their surroundings (the stroke's own colour).
    defining = core_fg.copy()
    kinds_arr = np.array(["bg"] + kinds)
    is_thin = kinds_arr == "thin"
    is_photo = kinds_arr == "photo"
    thin_px = is_thin[owner]
    if thin_px.any():
        surround = _surround_colour(owner, thin_px, rgb, bg, n)
        idx = np.flatnonzero(thin_px)  # thin regions' pixels only: they are few, the canvas is not
        lbl = flat[idx]
        d = np.linalg.norm(rgb.reshape(-1, 3)[idx] - surround[lbl], axis=-1)
        dmax = np.zeros(n, np.float32)
        np.maximum.at(dmax, lbl, d)
        defining.ravel()[idx[d >= 0.7 * dmax[lbl]]] = True
    defining |= is_photo[owner]
    no_core = np.bincount(flat[defining.ravel()], minlength=n) == 0
    defining |= no_core[owner] & (owner > 0)
    sel = defining.ravel() & (flat > 0)
    mean = label_means(flat[sel], rgb.reshape(-1, 3)[sel], n).astype(np.float32)
    mean_lab = rgb_to_lab(np.clip(mean, 0, 1))
    slices = ndimage.find_objects(owner, max_label=n - 1)
    sharp = _sharpness(owner, slices, grad, bg)
    regions = []
    for k in range(1, n):
        if slices[k - 1] is None:
            slices_k = (slice(0, 0), slice(0, 0))
        else:
            slices_k = slices[k - 1]
        regions.append(Region(k, kinds[k - 1], slices_k, int(area[k]), mean[k], mean_lab[k],
                              float(sharp[k])))
    _mark_shadows(regions, owner, rgb, bg, glows=glows)
    return regions


def _sharpness(owner, slices, grad, bg: Background) -> np.ndarray:
    """How crisply each region meets the background: the typical colour step per pixel on
    its outline relative to its contrast. An anti-aliased edge steps most of the way in
    one or two pixels (about 0.5 or more); a shadow fades over several (well below)."""
    rim = _bg_rim(owner, 1)
    out = np.ones(len(slices) + 1)
    for k, slc in enumerate(slices, start=1):
        if slc is None:
            continue
        own = owner[slc] == k
        edge_px = own & rim[slc]
        if edge_px.sum() < 3:
            continue
        contrast = float(np.percentile(bg.delta[slc][own], 95))
        if contrast <= 1e-3:
            continue
        out[k] = float(np.percentile(grad[slc][edge_px], 75)) / contrast
    return out


def _bg_rim(owner: np.ndarray, width: int = 2) -> np.ndarray:
    """Region pixels within ``width`` pixels of the background."""
    fg = owner > 0
    k = 2 * width + 1
    near_bg = cv2.dilate((~fg).astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    return fg & near_bg


def _surround_colour(owner, thin_px, rgb, bg: Background, n: int) -> np.ndarray:
    """Mean colour just outside each thin region (what it is drawn over)."""
    lab_thin = np.where(thin_px, owner, 0).astype(np.float32)
    grown = cv2.dilate(lab_thin, np.ones((5, 5), np.uint8)).astype(np.int32)
    ring = (grown > 0) & ~thin_px
    flat = grown[ring]
    cnt = np.bincount(flat, minlength=n).astype(np.float64)
    out = np.zeros((n, 3), np.float32)
    for c in range(3):
        out[:, c] = np.bincount(flat, weights=rgb[..., c][ring], minlength=n) / np.maximum(cnt, 1)
    # Regions with no ring (touching the canvas edge only) fall back to the background.
    empty = cnt == 0
    if empty.any():
        mean_bg = bg.rgb.reshape(-1, 3).mean(axis=0)
        out[empty] = mean_bg
    return out


SHADOW_AS_PHOTO = 0.01  # share of the canvas below which a busy region may be a shadow


SHADOW_CLEAR_SHARE = 0.25  # share of a sliver clear of its neighbours' rims needed to judge it there


def _mark_shadows(regions: list[Region], owner: np.ndarray, rgb: np.ndarray, bg: Background,
                  thin: bool = False, glows: np.ndarray | None = None) -> None:
    """Soft segments that are the background darkened towards black are shadows. With
    ``thin`` (once segmentation is settled: earlier, thin bits are still being joined to
    what they belong to) only thin ones: a shadow seen as a sliver beside its caster has no
    flat core. ``glows``: the pixels of glows (``_gather_glows``), 2 where one lies over
    something else (a picture), where its colour is not measured against the background."""
    kinds = ("thin",) if thin else ("shape", "shadow", "photo")
    small_photo = SHADOW_AS_PHOTO * owner.size
    for reg in regions:
        if reg.kind not in kinds or reg.area < 16 or (reg.kind == "photo" and reg.area > small_photo):
            continue
        mask = owner[reg.slc] == reg.label
        if reg.kind == "photo":  # judged clear of the caster's rim that made it look busy
            crop = owner[reg.slc]
            rim = cv2.dilate(((crop > 0) & ~mask).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
            if (mask & ~rim).sum() < 16:
                continue
            mask &= ~rim
        elif reg.kind == "thin" or (reg.kind == "shadow" and glows is not None
                                    and glows[reg.slc][mask].any()):
            # a sliver of shadow beside its caster is half the caster's anti-aliased rim:
            # judged (and its colour measured) on the pixels clear of other regions, or the
            # rim spoils the blend fit (a narrow glow's too: its host's rim is in its ring)
            crop = owner[reg.slc]
            rim = cv2.dilate(((crop > 0) & ~mask).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            if (mask & ~rim).sum() >= max(16, SHADOW_CLEAR_SHARE * mask.sum()):
                mask &= ~rim
        unseen = None if glows is None or reg.kind != "shadow" else glows[reg.slc] == 2
        if unseen is not None and (mask & unseen).any() and (mask & ~unseen).sum() >= 16:
            reg.extras["over"] = (owner == reg.label) & (glows == 2)  # (it lies over what it was found on)
            mask &= ~unseen
        img = rgb[reg.slc][mask].astype(np.float32)
        under = bg.rgb[reg.slc][mask]
        if reg.kind in ("shape", "thin", "photo"):
            # (a small "photo": a shadow whose caster's rim runs through it looks busy)
            if reg.sharp > 0.35 and reg.kind != "photo":
                continue
            if not shadow_blend(img, under, bg.lab[reg.slc][mask]):
                continue
            reg.kind = "shadow"
        reg.rgb = shadow_colour(img, under, light=True)
        reg.lab = rgb_to_lab(reg.rgb[None])[0]


def _bodiless(piece: Region, main: Region, slivers: set[int]) -> bool:
    """A shadow piece that cannot carry a shadow model of its own: a sliver (no flat core)
    or a crumb next to the main piece."""
    return piece.label in slivers or piece.area <= 0.1 * main.area


def _grow_shadows(owner, regions, rgb, bg: Background, slivers: set[int] = frozenset()):
    """Pieces of a shadow split off by a steep fall-off join it: regions touching a
    shadow whose pixels are the background darkened towards the shadow's colour; of the
    shadows, only ``slivers`` (shadows without a flat core) beside the same object."""
    from .ordering import contact_matrix  # local: ordering imports this module
    kinds = [r.kind for r in regions]
    n = len(regions) + 1
    remap = np.arange(n)
    changed = False
    h, w = owner.shape
    # two shadows join only when they fall beside the same object (two slivers of one
    # card's shadow), never two objects' shadows that touch
    contact = contact_matrix(owner, n).astype(np.float64)
    contact[:, 0] = 0
    contact[:, [r.label for r in regions if r.kind == "shadow"]] = 0
    caster = np.where(contact.max(1) > 0, contact.argmax(1), -1)
    for sh in regions:
        if sh.kind != "shadow" or remap[sh.label] != sh.label:
            continue
        x0, y0, x1, y1 = sh.bbox
        x0, y0, x1, y1 = max(0, x0 - 3), max(0, y0 - 3), min(w, x1 + 3), min(h, y1 + 3)
        crop = owner[y0:y1, x0:x1]
        ring = cv2.dilate((crop == sh.label).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        for lbl in np.unique(crop[ring]):
            lbl = int(lbl)
            if lbl in (BG, sh.label) or kinds[lbl - 1] not in ("shape", "thin", "shadow") \
                    or remap[lbl] != lbl:
                continue
            if kinds[lbl - 1] == "shadow" and (not _bodiless(regions[lbl - 1], sh, slivers)
                                               or caster[lbl] != caster[sh.label] or caster[lbl] < 0):
                continue
            reg = regions[lbl - 1]
            if reg.area > 4 * sh.area:
                continue
            mask = owner[reg.slc] == lbl
            img = rgb[reg.slc][mask]
            under = bg.rgb[reg.slc][mask]
            a, resid = blend_residual(img, under, sh.rgb)
            if float(np.median(resid)) < 0.04 and 0.02 < float(np.median(a)) < 0.95:
                remap[lbl] = sh.label
                changed = True
    if not changed:
        return owner, kinds, False
    while True:  # a shadow that took pieces and then joined another takes them along
        nxt = remap[remap]
        if np.array_equal(nxt, remap):
            break
        remap = nxt
    return remap[owner].astype(np.int32), kinds, True


def _join_shadows_of_one_caster(owner, kinds, regions, slivers: set[int], max_colour: float = 0.08):
    """A shadow sliver (no flat core) or crumb beside the same object as a bigger shadow piece,
    in the same colour, is part of it even where they do not touch (a card's shadow seen on two
    sides, cut at the corner): modelled apart, each sliver would be the whole caster's
    shadow and the two would double up under it. Pieces with a body keep their own model
    (joined, a shadow reaching round other objects fitted worse)."""
    from .ordering import contact_matrix  # local: ordering imports this module
    kinds = kinds if kinds is not None else [r.kind for r in regions]
    n = len(regions) + 1
    labels_now = np.unique(owner)
    shadows = [r for r in regions if kinds[r.label - 1] == "shadow" and r.label in labels_now]
    if len(shadows) < 2:
        return owner, kinds, False
    contact = contact_matrix(owner, n).astype(np.float64)
    contact[:, 0] = 0
    contact[:, [r.label for r in shadows]] = 0
    remap = np.arange(n)
    changed = False
    by_caster: dict[int, list] = {}
    for r in shadows:
        if contact[r.label].max() > 0:
            by_caster.setdefault(int(contact[r.label].argmax()), []).append(r)
    for group in by_caster.values():
        group.sort(key=lambda r: -r.area)
        head = group[0]
        for r in group[1:]:
            if _bodiless(r, head, slivers) and float(np.abs(r.rgb - head.rgb).max()) <= max_colour:
                remap[r.label] = head.label
                changed = True
    if not changed:
        return owner, kinds, False
    return remap[owner].astype(np.int32), kinds, True


def _bridge_occluded(owner, regions, lab=None, noise: float = 0.0):
    """Two pieces of one colour on either side of something that covers them (a card
    cut in two by a shape on top) are one object: the gap between them inside their
    joint convex hull is covered by that shape. So are two pieces of a picture whose
    boxes, or whose straight sides (``_picture_sides``), line up along the cut (a banner
    across a photo, a shape laid across it)."""
    from .ordering import contact_matrix  # local: ordering imports this module
    kinds = [r.kind for r in regions]
    n = len(regions) + 1
    contact = contact_matrix(owner, n)
    uf = list(range(n))

    def find(i):
        while uf[i] != i:
            uf[i] = uf[uf[i]]
            i = uf[i]
        return i

    changed = False
    side_of: dict[int, tuple] = {}
    for x in range(1, n):
        nbs = [int(b) for b in np.flatnonzero(contact[x]) if b != BG and kinds[b - 1] in ("shape", "photo")
               and b != x]
        for i, a in enumerate(nbs):
            ra = regions[a - 1]
            for b in nbs[i + 1:]:
                rb = regions[b - 1]
                if find(a) == find(b) or contact[a, b] > 0 or ra.kind != rb.kind:
                    continue
                if ra.kind == "shape" and float(delta_e(ra.lab, rb.lab)) > 4.0:
                    continue
                if ra.kind == "photo" and (not (_in_line(ra.bbox, rb.bbox) or _sides_in_line(
                        side_of, a, b, owner, regions, lab, noise)) or _lie_on(contact, x, a, b) and
                                           min(ra.area, rb.area) >= photo_min_area(owner.size)):
                    continue
                x0 = min(ra.bbox[0], rb.bbox[0])
                y0 = min(ra.bbox[1], rb.bbox[1])
                x1 = max(ra.bbox[2], rb.bbox[2])
                y1 = max(ra.bbox[3], rb.bbox[3])
                crop = owner[y0:y1, x0:x1]
                pair = (crop == a) | (crop == b)
                pts = cv2.findNonZero(pair.astype(np.uint8))
                hull = np.zeros(crop.shape, np.uint8)
                cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
                gap = hull.astype(bool) & ~pair
                if gap.sum() == 0:
                    continue
                covered = (crop[gap] == x).mean()
                if covered >= 0.6 and gap.sum() <= 2 * pair.sum():
                    uf[find(b)] = find(a)
                    changed = True
    if not changed:
        return owner, kinds, False
    remap = np.array([find(i) for i in range(n)])
    return remap[owner].astype(np.int32), kinds, True


PHOTO_IN_LINE = 3  # px: two pieces of one picture cut across share the two sides along the cut
PHOTO_BEDDED = 0.5  # share of a picture's outline a card it lies on runs along (a band across it: less)


def _lie_on(contact: np.ndarray, x: int, a: int, b: int) -> bool:
    """Do pictures ``a`` and ``b`` both lie on ``x`` (it runs along most of each one's
    outline): pictures laid side by side on a card, the strip of card between them, not a
    band across one picture, which meets each piece only along the cut. (Asked only of
    pieces of a photo blob's size: crumbs of a glyph taken for pictures are still joined.)"""
    return all(contact[k, x] > PHOTO_BEDDED * contact[k].sum() for k in (a, b))


def _in_line(a, b) -> bool:
    """Do boxes ``a`` and ``b`` (x0, y0, x1, y1) share both sides along one axis, as the two
    pieces of one rectangular picture that a band or a shape lies across do? A picture's
    colours may differ from piece to piece (sky and ground), so the frame says it."""
    tol = PHOTO_IN_LINE
    rows = abs(a[1] - b[1]) <= tol and abs(a[3] - b[3]) <= tol
    cols = abs(a[0] - b[0]) <= tol and abs(a[2] - b[2]) <= tol
    return rows or cols


SIDE_RUN = 8        # px: the least run of a piece's outline lying on one straight side ...
SIDE_SHARE = 0.25   # ... and the least share of the piece's width (height) that run spans


def _side(ends: np.ndarray) -> float | None:
    """Where most of ``ends`` (a piece's first or last body pixel, column by column) lie
    within a pixel of one another: a straight side of its outline, not a slanted edge of
    what covers it. None when no such run is long enough."""
    if ends.size < SIDE_RUN:
        return None
    lo = int(ends.min())
    hist = np.bincount(ends - lo)
    win = np.convolve(hist, np.ones(3, np.int64), mode="same")
    peak = int(win.argmax())
    if win[peak] < max(SIDE_RUN, SIDE_SHARE * ends.size):
        return None
    near = ends[np.abs(ends - lo - peak) <= 1]
    return float(np.median(near))


def _picture_sides(mask: np.ndarray, lab: np.ndarray, noise: float) -> tuple:
    """(top, bottom, left, right) in the crop of the picture body of a piece (``mask``, over
    the crop ``lab``): each the straight side its outline runs along, or None. The body is
    judged by grain, so the soft rim of a shadow or a glow the piece took along beside the
    picture does not move its sides."""
    body = grain_body(mask, lab, noise)
    if not body.any():
        body = mask
    cols = np.flatnonzero(body.any(0))
    rows = np.flatnonzero(body.any(1))
    top = _side(body[:, cols].argmax(0))
    bottom = _side(body.shape[0] - 1 - body[::-1, cols].argmax(0))
    left = _side(body[rows].argmax(1))
    right = _side(body.shape[1] - 1 - body[rows, ::-1].argmax(1))
    return top, bottom, left, right


def _sides_in_line(side_of: dict, a: int, b: int, owner, regions, lab, noise: float) -> bool:
    """Do pieces ``a`` and ``b`` have both straight sides along one axis in common (within
    ``PHOTO_IN_LINE``)? Their boxes may not: a glow or a shadow round what lies across the
    picture blends into the picture's pixels beside it and takes a few rows of them."""
    if lab is None:
        return False
    for k in (a, b):
        if k not in side_of:
            x0, y0, x1, y1 = regions[k - 1].bbox
            sides = _picture_sides(owner[y0:y1, x0:x1] == k, lab[y0:y1, x0:x1], noise)
            side_of[k] = tuple(None if v is None else v + off for v, off in zip(sides, (y0, y0, x0, x0)))
    sa, sb = side_of[a], side_of[b]

    def same(i):
        return sa[i] is not None and sb[i] is not None and abs(sa[i] - sb[i]) <= PHOTO_IN_LINE

    return (same(0) and same(1)) or (same(2) and same(3))


def _drop_specks(owner, regions, bg: Background, dist, npx):
    """Tiny, faint regions are noise or compression artefacts: leave them in the background."""
    drop = np.zeros(len(regions) + 1, bool)
    for reg in regions:
        if reg.area == 0:
            drop[reg.label] = True
        elif reg.area <= 2:
            peak = float(dist[reg.slc][owner[reg.slc] == reg.label].max())
            drop[reg.label] = peak < bg.t_high * 1.5
    if not drop.any():
        return owner, regions
    keep = [r for r in regions if not drop[r.label]]
    remap = np.zeros(len(regions) + 1, np.int32)
    for new, reg in enumerate(keep, start=1):
        remap[reg.label] = new
        reg.label = new
    return remap[owner], keep

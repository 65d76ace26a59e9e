"""Recognise lines of text and make each line (or paragraph) one region.

Glyphs are found as separate regions; a line is glyph-like regions of one
colour and size side by side, plus small marks (dots, accents, punctuation)
next to them; lines of one colour and size stacked closely form a
paragraph. Treating a line as one object keeps the occlusion order and the
layer grouping from splitting words across layers.
"""

from __future__ import annotations

import cv2
import numpy as np

from .colour import delta_e, lab_to_rgb, rgb_to_lab
from .labels import grow, label_means, nearest_label
from .regions import Region, Segmentation, relabel


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_text_lines(regions: list[Region], img_h: int) -> list[list[int]]:
    """Groups of region labels that read as text (each group has 2 or more glyphs)."""
    cands = [r for r in regions if r.kind in ("shape", "thin") and 0 < r.height <= 0.3 * img_h
             and r.area > 0]
    if len(cands) < 2:
        return []
    lbl = np.array([r.label for r in cands])
    box = np.array([r.bbox for r in cands], np.float64)
    lab = np.stack([r.lab for r in cands])
    x0, y0, x1, y1 = box.T
    h = np.maximum(y1 - y0, 1.0)
    col = delta_e(lab[:, None], lab[None]) < 12.0
    hmax = np.maximum(h[:, None], h[None])
    hmin = np.minimum(h[:, None], h[None])
    v_overlap = np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None])
    gap = np.maximum(x0[:, None], x0[None]) - np.minimum(x1[:, None], x1[None])
    glyph = h >= 5
    letters = (col & (hmax <= 2.5 * hmin) & (v_overlap >= 0.5 * hmin) & (gap <= 0.8 * hmax)
               & glyph[:, None] & glyph[None])
    v_gap = np.maximum(y0[:, None], y0[None]) - np.minimum(y1[:, None], y1[None])
    # marks[i, j]: small i (a dot, an accent, a comma) right next to glyph j
    marks = (col & (h[:, None] <= 0.6 * h[None]) & (gap <= 0.5 * h[None])
             & (v_gap <= 0.6 * h[None]) & glyph[None])
    np.fill_diagonal(letters, False)
    np.fill_diagonal(marks, False)
    uf = _UnionFind(len(cands))
    for i, j in zip(*np.nonzero(np.triu(letters))):
        uf.union(int(i), int(j))
    line_of = [uf.find(i) for i in range(len(cands))]
    sizes = np.bincount(line_of, minlength=len(cands))
    # marks join only real lines (2+ glyphs), and never a line of their own
    for i, j in zip(*np.nonzero(marks)):
        if sizes[line_of[int(j)]] >= 2 and sizes[line_of[int(i)]] < 2:
            uf.union(int(i), int(j))
    lines: dict[int, list[int]] = {}
    for i in range(len(cands)):
        lines.setdefault(uf.find(i), []).append(i)
    lines = {k: v for k, v in lines.items() if len(v) >= 2}
    singles = [i for i in range(len(cands)) if sizes[line_of[i]] < 2 and uf.find(i) not in lines
               and glyph[i]]
    # paragraphs: lines of one colour and glyph size stacked closely; words of one line
    # kept apart by wide spacing or by something covering them; lone glyphs on a line
    roots = list(lines)
    info = {}
    for root in roots:
        idx = lines[root]
        info[root] = (x0[idx].min(), y0[idx].min(), x1[idx].max(), y1[idx].max(),
                      float(np.median(h[idx])), lab[idx].mean(axis=0))
    for i in singles:
        info[("s", i)] = (x0[i], y0[i], x1[i], y1[i], float(h[i]), lab[i])
    keys = roots + [("s", i) for i in singles]
    for a_i, a in enumerate(keys):
        for b in keys[a_i + 1:]:
            if isinstance(a, tuple) and isinstance(b, tuple):
                continue
            ax0, ay0, ax1, ay1, ah, alab = info[a]
            bx0, by0, bx1, by1, bh, blab = info[b]
            if float(delta_e(alab, blab)) > 12.0:
                continue
            both = not (isinstance(a, tuple) or isinstance(b, tuple))
            sized = max(ah, bh) <= 1.5 * min(ah, bh)
            # two pieces of one line agree in height even when their letters came in pieces
            # of other sizes (a word carved off a picture beside one read on the page)
            boxed = both and max(ay1 - ay0, by1 - by0) <= 1.25 * min(ay1 - ay0, by1 - by0)
            if not (sized or boxed):
                continue
            vgap = max(ay0, by0) - min(ay1, by1)
            hover = min(ax1, bx1) - max(ax0, bx0)
            # stacked lines of a paragraph share their column: they overlap by half the shorter
            # one, or start together; a title's last word just reaching over a body line does not
            stacked = (sized and both and vgap <= 1.2 * max(ah, bh)
                       and (hover >= 0.5 * min(ax1 - ax0, bx1 - bx0) or abs(ax0 - bx0) <= max(ah, bh)))
            same_line = (-vgap >= 0.6 * min(ay1 - ay0, by1 - by0)
                         and -hover <= 2.5 * max(ah, bh))
            if stacked or same_line:
                ra = a[1] if isinstance(a, tuple) else a
                rb = b[1] if isinstance(b, tuple) else b
                uf.union(ra, rb)
    roots = sorted({uf.find(i) for r in lines for i in lines[r]})
    lines = {}
    for i in range(len(cands)):
        lines.setdefault(uf.find(i), []).append(i)
    lines = {k: v for k, v in lines.items() if k in roots or any(uf.find(j) == k for j in roots)}
    roots = [k for k, v in lines.items() if len(v) >= 2]
    groups: dict[int, list[int]] = {}
    for root in roots:
        for i in lines[root]:
            groups.setdefault(uf.find(i), []).append(int(lbl[i]))
    return [sorted(g) for g in groups.values() if len(g) >= 2]


def merge_text_lines(seg: Segmentation, img_h: int, lab: np.ndarray | None = None) -> Segmentation:
    """A new segmentation where each text line/paragraph is a single "text" region. With
    ``lab``, a "line" of a big picture's own flat patches goes back to the picture."""
    groups = find_text_lines(seg.regions, img_h)
    if groups and lab is not None:
        seg, groups = _picture_patches(seg, groups, lab)
    if groups:
        seg = _merge_groups(seg, groups)
    groups = _covered_words(seg)
    return _merge_groups(seg, groups) if groups else seg


PATCH_INSIDE = 0.95  # share of a line's pixels within a picture's hull for it to lie on the picture


def _picture_patches(seg: Segmentation, groups: list[list[int]],
                     lab: np.ndarray) -> tuple[Segmentation, list[list[int]]]:
    """``seg`` with the lines that are a big picture's own texture given back to it, and the
    lines left. The segmentation cuts a picture's bright or flat patches (clouds, highlights)
    into pieces of their own, and a run of alike patches lines up like glyphs; a line (or a
    lone stroke-like piece) lying within a picture's hull, in a colour the picture has all
    around it (``_stands_apart``, the test the glyphs carved off a picture pass), is the
    picture: as text it took a layer of its own and pushed a real object into another's."""
    h, w = seg.owner.shape
    photos = [r for r in seg.regions if r.kind == "photo" and r.area >= TEXTURED_PICTURE * h * w]
    if not photos:
        return seg, groups
    hulls = {}
    for ph in photos:
        ys, xs = ph.slc
        pts = cv2.findNonZero((seg.owner[ph.slc] == ph.label).astype(np.uint8))
        hull = np.zeros((ys.stop - ys.start, xs.stop - xs.start), np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(pts), 1)
        hulls[ph.label] = hull.astype(bool)
    owner = seg.owner.copy()
    kept, back = [], False
    # a lone piece too: it joins the nearest line or word, in the picture's colour
    lined = {lbl for g in groups for lbl in g}
    lone = [[r.label] for r in seg.regions if r.kind == "thin" and r.label not in lined
            and r.extras.get("on_photo") is None]
    for g in groups + lone:
        regs = [seg.region(lbl) for lbl in g]
        gx0, gy0 = min(r.bbox[0] for r in regs), min(r.bbox[1] for r in regs)
        gx1, gy1 = max(r.bbox[2] for r in regs), max(r.bbox[3] for r in regs)
        host = None
        for ph in photos:
            px0, py0, px1, py1 = ph.bbox
            if not (px0 <= gx0 and py0 <= gy0 and gx1 <= px1 and gy1 <= py1):
                continue
            # within the line's own box: the test reads no farther
            sub = seg.owner[gy0:gy1, gx0:gx1]
            mine = np.isin(sub, g)
            hull = hulls[ph.label][gy0 - py0:gy1 - py0, gx0 - px0:gx1 - px0]
            if float(hull[mine].mean()) >= PATCH_INSIDE and \
                    not _stands_apart(g, 0, np.where(mine, sub, 0), sub == ph.label, lab[gy0:gy1, gx0:gx1]):
                host = ph
                break
        if host is None:
            if len(g) > 1 or g[0] in lined:
                kept.append(g)
            continue
        sub = owner[gy0:gy1, gx0:gx1]
        sub[np.isin(sub, g)] = host.label
        back = True
    if not back:
        return seg, groups
    dense, regions, new = relabel(owner, seg.regions)
    return Segmentation(dense, regions, seg.fg, seg.core), [[new[lbl] for lbl in g] for g in kept]


COVERED_GAP = 0.9  # share of the gap between two pieces of a line that what lies on it must cover


def _covered_words(seg: Segmentation) -> list[list[int]]:
    """Pieces of one text line that something lying on it cut apart ("Wo" [photo] "op"): text
    regions of one ink and size on one row whose gap along that row is covered by other
    regions (``COVERED_GAP``). Two texts set apart on a row show the background between them,
    and a line lying on the thing between them is not cut; the line rule's limit on the gap
    between words (a few heights) cannot tell, the cover can."""
    texts = [r for r in seg.regions if r.kind == "text"]
    if len(texts) < 2:
        return []
    uf = _UnionFind(len(seg.regions) + 1)
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if float(delta_e(a.lab, b.lab)) > 6.0:
                continue
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a.bbox, b.bbox
            y0, y1 = max(ay0, by0), min(ay1, by1)
            if y1 - y0 < 0.6 * min(a.height, b.height):
                continue
            x0, x1 = (ax1, bx0) if ax1 <= bx0 else (bx1, ax0)
            if _inside(a.bbox, b.bbox) or _inside(b.bbox, a.bbox):
                uf.union(a.label, b.label)  # glyphs the line rule left apart within a paragraph
                continue
            if x1 - x0 < 2:
                continue  # overlapping or touching: the line rule's business
            if max(a.height, b.height) > 1.5 * min(a.height, b.height):
                if _runs_on(seg.owner, a, b, x0, x1):
                    uf.union(a.label, b.label)
                continue
            gap = seg.owner[y0:y1, x0:x1]
            if float(((gap != 0) & (gap != a.label) & (gap != b.label)).mean()) >= COVERED_GAP:
                uf.union(a.label, b.label)
    groups: dict[int, list[int]] = {}
    for r in texts:
        groups.setdefault(uf.find(r.label), []).append(r.label)
    return [g for g in groups.values() if len(g) > 1]


def _inside(outer, inner, slack: int = 2) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


LINE_END_GAP = 2.0  # a word this many of its heights from where a paragraph's line ends runs on it


def _runs_on(owner: np.ndarray, a, b, x0: int, x1: int) -> bool:
    """Whether the shorter of two text regions is the last (or first) word of one of the taller
    one's lines: within the taller one's rows, no farther from it than ``LINE_END_GAP`` of its
    own height, and the taller one's ink reaches that gap in its rows. A paragraph whose glyphs
    touch across lines reads as tall pieces, so the line rule, which asks for glyphs of one
    size, left a line's last word apart ("coffee" | "offer")."""
    tall, short = (a, b) if a.height >= b.height else (b, a)
    (_, ty0, tx1, ty1), (sx0, sy0, _, sy1) = tall.bbox, short.bbox
    if sy0 < ty0 - 2 or sy1 > ty1 + 2 or x1 - x0 > LINE_END_GAP * short.height:
        return False
    reach = max(2, short.height)
    near = owner[sy0:sy1, max(0, x0 - reach):x0] if tx1 <= sx0 else owner[sy0:sy1, x1:x1 + reach]
    return bool((near == tall.label).any())


def _merge_groups(seg: Segmentation, groups: list[list[int]]) -> Segmentation:
    """``seg`` with each group of region labels made one "text" region."""
    n = len(seg.regions) + 1
    target = np.arange(n)
    for g in groups:
        target[g] = g[0]
    keep = sorted(set(int(t) for t in target[1:]))
    new_label = np.zeros(n, np.int32)
    new_label[keep] = np.arange(1, len(keep) + 1)
    remap = new_label[target]
    owner = remap[seg.owner]
    members: dict[int, list[Region]] = {}
    for r in seg.regions:
        members.setdefault(int(remap[r.label]), []).append(r)
    regions = []
    for new in range(1, len(keep) + 1):
        parts = members[new]
        if len(parts) == 1:
            r = parts[0]
            regions.append(Region(new, r.kind, r.slc, r.area, r.rgb, r.lab, r.sharp, dict(r.extras)))
            continue
        area = np.array([max(p.area, 1) for p in parts], np.float64)
        rgb = (np.stack([p.rgb for p in parts]) * area[:, None]).sum(0) / area.sum()
        lab = (np.stack([p.lab for p in parts]) * area[:, None]).sum(0) / area.sum()
        ys0 = min(p.slc[0].start for p in parts)
        ys1 = max(p.slc[0].stop for p in parts)
        xs0 = min(p.slc[1].start for p in parts)
        xs1 = max(p.slc[1].stop for p in parts)
        regions.append(Region(new, "text", (slice(ys0, ys1), slice(xs0, xs1)), int(area.sum()),
                              rgb.astype(np.float32), lab.astype(np.float32), 1.0,
                              {"glyphs": sum(int(p.extras.get("glyphs", 1)) for p in parts)}))
    return Segmentation(owner.astype(np.int32), regions, seg.fg, seg.core)


PHOTO_GLYPH_GROW = 2     # px of anti-aliased rim a glyph found on a photo takes from it
PHOTO_WITH_TEXT = 0.002  # share of the canvas a photo region needs (the photo-blob minimum)
GLYPH_ASPECT = 3.0       # a glyph (or a few touching ones) is at most this much wider than tall
GLYPH_STROKE = 0.2       # ... and its strokes at most this share of its height thick (half-width)
CARVED_MOST = 0.5        # a photo region left with less than this share after carving was text
FLAT_LEFT_DE = 5.0       # a photo region left this close (CIE76) to its median colour ...
FLAT_LEFT_SHARE = 0.8    # ... on this share of its pixels once its glyphs are cut out is a flat card


def carve_glyphs_from_photos(seg: Segmentation, rgb: np.ndarray, lab: np.ndarray,
                             grad: np.ndarray) -> Segmentation:
    """Glyphs lying on a photo, cut out of the photo blob as regions of their own.

    The edge-density test that finds pictures takes whatever busy thing lies on them, so a
    word over a photo stayed inside the photo layer, and a line of text running from the
    plain background onto a picture came out cut in two ("Qwen" -> "Q" + the photo). Inside
    each photo region, graphics show the way they do on a photo background: uniform cores
    with a crisp, high-contrast outline (``overlays.find_overlays``). Such cores are kept only
    where they read as text — two or more glyphs of one colour and size on a line, counting
    the glyphs already found beside the photo — so a flat patch of the picture stays in it.
    Small text has no uniform core: strokes in the colour of a line read beside the photo count
    too (``_strokes_like``). A candidate must be glyph-shaped (not a strip, not a solid patch).
    Each kept glyph takes its anti-aliased rim (``PHOTO_GLYPH_GROW`` px) from the photo; the
    line grouping that follows then joins it with the rest of its line. A "photo" left mostly
    empty was text making a card look busy: its rest goes to the regions around it, and a flat
    rest becomes a shape."""
    from .overlays import _regions, find_overlays  # local: overlays imports this module
    h, w = seg.owner.shape
    # a picture text can lie on: not a busy crumb where glyphs meet a shape's edge
    photos = [r for r in seg.regions if r.kind == "photo" and r.area >= PHOTO_WITH_TEXT * h * w]
    if not photos:
        return seg
    owner = seg.owner.copy()
    others = [r for r in seg.regions if r.kind != "photo"]
    shapes = [r for r in others if r.kind == "shape"]
    grown: dict[int, list] = {}  # shape label -> pieces of it found between glyphs
    new_regions: list[Region] = []
    nxt = len(seg.regions) + 1
    for ph in photos:
        ys, xs = ph.slc
        y0, y1, x0, x1 = ys.start, ys.stop, xs.start, xs.stop
        mine = seg.owner[y0:y1, x0:x1] == ph.label
        cores = find_overlays(rgb[y0:y1, x0:x1], lab[y0:y1, x0:x1], grad[y0:y1, x0:x1], mine)
        # glyphs beside the photo count too: a line running onto the picture
        bx0, by0, bx1, by1 = x0 - (x1 - x0), y0 - (y1 - y0), x1 + (x1 - x0), y1 + (y1 - y0)
        context = [r for r in others if r.bbox[2] > bx0 and r.bbox[0] < bx1 and r.bbox[3] > by0
                   and r.bbox[1] < by1]
        glyphs = {lbl for g in find_text_lines(context, h) for lbl in g}
        context = [r for r in context if r.label in glyphs]  # lines already read beside it
        # the rows of the lines beside it: where a line runs on onto the picture
        rows = np.zeros((y1 - y0, 1), bool)
        for r in context:
            rows[max(0, r.bbox[1] - y0):max(0, r.bbox[3] - y0)] = True
        cores = _strokes_like(cores, mine, rgb[y0:y1, x0:x1], lab[y0:y1, x0:x1],
                              [r.lab for r in context], mine & rows)
        n = int(cores.max())
        if n == 0:
            continue
        near = grow(cores, PHOTO_GLYPH_GROW)
        near = np.where(mine, near, 0)
        cands = _regions(near, rgb[y0:y1, x0:x1], lab[y0:y1, x0:x1], cores, n)
        base = 1 << 20  # candidate labels kept apart from the segmentation's own
        depth = cv2.distanceTransform(np.pad(cores > 0, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        radius = np.zeros(n + 1, np.float32)
        np.maximum.at(radius, cores.ravel(), depth.ravel())
        shifted = []
        for r in cands:
            # a glyph is thin strokes: not a strip, not a solid patch (a piece of a card)
            if r.area == 0 or r.width > GLYPH_ASPECT * r.height + 2 or \
                    radius[r.label] > GLYPH_STROKE * r.height + 1.0:
                continue
            slc = (slice(r.slc[0].start + y0, r.slc[0].stop + y0),
                   slice(r.slc[1].start + x0, r.slc[1].stop + x0))
            shifted.append(Region(base + r.label, "thin", slc, r.area, r.rgb, r.lab, 1.0))
        lines = find_text_lines(shifted + context, h)
        if ph.area >= TEXTURED_PICTURE * h * w:
            # a line wholly on a big picture, in a colour the picture has all around it, is
            # a run of its own flat patches (texture), not words laid over it
            lines = [g for g in lines if any(lbl < base for lbl in g)
                     or _stands_apart(g, base, near, mine, lab[y0:y1, x0:x1])]
        keep = sorted({lbl - base for g in lines for lbl in g if lbl >= base})
        if not keep:
            continue
        by_label = {r.label - base: r for r in shifted}
        sub = owner[y0:y1, x0:x1]
        for k in keep:
            m = near == k
            if not m.any():
                continue
            r = by_label[k]
            host = _cut_off_from(r, shapes)
            if host is not None:
                # a shape lying over the picture, seen between the glyphs of a line on both
                sub[m] = host.label
                grown.setdefault(host.label, []).append((int(m.sum()), r.slc))
                continue
            sub[m] = nxt
            new_regions.append(Region(nxt, "thin", r.slc, int(m.sum()), r.rgb, r.lab, 1.0,
                                      {"on_photo": ph.label}))
            nxt += 1
    if not new_regions and not grown:
        return seg
    carved_from = {r.extras["on_photo"] for r in new_regions}
    for lbl in carved_from:
        # mostly glyphs: no picture, text that made a card or the background look busy; what
        # is left goes to the regions around it
        ph = seg.region(lbl)
        left = owner == lbl
        if int(left.sum()) < CARVED_MOST * ph.area:
            near, _ = nearest_label(np.where(left, 0, owner), left, np.inf)
            owner[left] = near[left]
    regions = []
    for r in seg.regions:
        if r.kind == "photo":
            left = owner[r.slc] == r.label
            area = int(left.sum())
            if area == 0:
                continue
            kind, rgb_r, lab_r = r.kind, r.rgb, r.lab
            if r.label in carved_from:
                # what its text made busy: without the glyphs, a card of one colour is a shape
                px = lab[r.slc][left]
                med = np.median(px, axis=0).astype(np.float32)
                if float((delta_e(px, med) < FLAT_LEFT_DE).mean()) >= FLAT_LEFT_SHARE:
                    kind = "shape"
                    rgb_r = np.median(rgb[r.slc][left], axis=0).astype(np.float32)
                    lab_r = med
            regions.append(Region(r.label, kind, r.slc, area, rgb_r, lab_r, r.sharp, dict(r.extras)))
        elif r.label in grown:
            area, slc = r.area, r.slc
            for add, s in grown[r.label]:
                area += add
                slc = (slice(min(slc[0].start, s[0].start), max(slc[0].stop, s[0].stop)),
                       slice(min(slc[1].start, s[1].start), max(slc[1].stop, s[1].stop)))
            regions.append(Region(r.label, r.kind, slc, area, r.rgb, r.lab, r.sharp, dict(r.extras)))
        else:
            regions.append(r)
    regions += new_regions
    # labels 1..K in order, as the rest of the engine expects
    remap = np.zeros(nxt, np.int32)
    out = []
    for new, r in enumerate(regions, start=1):
        remap[r.label] = new
        out.append(Region(new, r.kind, r.slc, r.area, r.rgb, r.lab, r.sharp, dict(r.extras)))
    return Segmentation(remap[owner], out, seg.fg, seg.core)


def _stands_apart(line: list[int], base: int, pieces: np.ndarray, photo: np.ndarray,
                  lab: np.ndarray) -> bool:
    """Whether the glyphs of ``line`` (labels offset by ``base`` in ``pieces``) have a
    colour the picture around them lacks: under a tenth of the picture's pixels in the
    line's box (the glyphs' own rims left out) come within ``LINE_APART`` of it."""
    m = np.isin(pieces, [lbl - base for lbl in line])
    ys, xs = np.nonzero(m)
    if ys.size == 0:
        return False
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    rest = photo[box] & ~cv2.dilate(m[box].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if rest.sum() < 16:
        return True
    colour = lab[box][m[box]].mean(axis=0)
    return float((delta_e(lab[box][rest], colour) < LINE_APART).mean()) < 0.1


TEXTURED_PICTURE = 0.02  # share of the canvas from which a picture's own patches may line up
LINE_APART = 10.0        # CIE76: picture pixels this close to a line's colour are "that colour"
SHAPE_PIECE_DE = 6.0     # CIE76: a "glyph" this close to a shape's colour, inside its box, is the shape's
SHAPE_PIECE_REACH = 0.1  # ... its box widened by this share of its longer side


def _cut_off_from(piece: Region, shapes: list[Region]) -> Region | None:
    """The shape ``piece`` is a bit of: one of its colour, at least four times its size, whose
    box holds it (a shape over the picture shows between the glyphs of a line lying on both)."""
    x0, y0, x1, y1 = piece.bbox
    for s in sorted(shapes, key=lambda r: -r.area):
        sx0, sy0, sx1, sy1 = s.bbox
        # the shape's own box is cut short where the picture took it
        m = SHAPE_PIECE_REACH * max(sx1 - sx0, sy1 - sy0)
        if (s.area >= 4 * piece.area and sx0 - m <= x0 and sy0 - m <= y0 and x1 <= sx1 + m
                and y1 <= sy1 + m and float(delta_e(piece.lab, s.lab)) < SHAPE_PIECE_DE):
            return s
    return None


STROKE_MATCH = 10.0     # CIE76: a pixel this close to a glyph colour seen beside the photo ...
STROKE_STANDOUT = 20.0  # ... and this far from the picture around it is a candidate stroke
THIN_MEDIAN = 7         # px: a median this wide wipes out strokes up to 3 px (small text)
THIN_MIN_GLYPHS = 3     # a line of thin strokes nobody has seen the colour of needs this many glyphs,
THIN_STRAY = 0.05       # ... at most this share of its band in its colour away from its strokes
THIN_BUSY = 0.08        # ... and at most this share of its band standing out away from its strokes
THIN_INK = 0.75         # a thin glyph's ink: its pixels at least this share of its farthest from the paper
THIN_MAX_PIECES = 0.002  # more glyph-like pieces than this per pixel: a busy picture, not text on it


def _standout(rgb: np.ndarray, lab: np.ndarray, size: int) -> np.ndarray:
    """CIE76 distance of each pixel from a ``size`` px median of the picture: thin strokes
    (narrower than half the median) stand out, a photo's smooth or wide detail does not."""
    img8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    local = rgb_to_lab(cv2.medianBlur(img8, size).astype(np.float32) / 255.0)
    return delta_e(lab, local)


def _strokes_like(cores: np.ndarray, inside: np.ndarray, rgb: np.ndarray, lab: np.ndarray,
                  colours: list[np.ndarray], in_line: np.ndarray) -> np.ndarray:
    """``cores`` plus thin strokes in one of ``colours`` (glyphs found beside the photo):
    small text has strokes too thin for a uniform core, but where a line runs onto a
    picture its colour is known, and a stroke stands out from a median of the picture
    around it (a 5 px median wipes out a 1-2 px stroke). In the rows of those lines
    (``in_line``) a light face's strokes count too: mostly that colour over the picture
    (``_inked``)."""
    if not colours:
        return cores
    cand = inside & (cores == 0) & (_standout(rgb, lab, 5) > STROKE_STANDOUT)
    close = np.zeros_like(cand)
    for c in colours:
        close |= delta_e(lab, np.asarray(c, np.float32)) < STROKE_MATCH
    cand &= close
    cand |= in_line & (cores == 0) & _inked(rgb, colours)
    if not cand.any():
        return cores
    n, comp = cv2.connectedComponents(cand.astype(np.uint8), connectivity=8)
    if n <= 1:
        return cores
    out = cores.copy()
    base = int(cores.max())
    out[comp > 0] = comp[comp > 0] + base
    return out


INK_MEDIAN = 9        # px: a median this wide shows the picture under strokes of up to 4 px
INK_ALPHA = 0.5       # share of a glyph colour a pixel holds over the picture: a stroke's body
INK_OFF = 0.06        # RGB left over once that mix is taken off: the colour is the glyph's
INK_CONTRAST = 0.2    # RGB distance between the glyph colour and the picture: a visible stroke


def _inked(rgb: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """Pixels that are mostly one of ``colours`` (Lab) laid over the picture: ``I = a C +
    (1 - a) P`` with the picture ``P`` a wide median (thin strokes vanish from it) and ``a``
    the projection onto ``C - P``. A light face's 2-3 px strokes match no colour exactly
    (anti-aliasing mixes each with the picture), so an exact-colour test finds them in bits."""
    img8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    under = cv2.medianBlur(img8, INK_MEDIAN).astype(np.float32) / 255.0
    out = np.zeros(rgb.shape[:2], bool)
    for c in {tuple(np.round(np.asarray(c, np.float64), 1)) for c in colours}:
        ink = lab_to_rgb(np.float32([c]))[0]
        d = ink - under
        den = (d * d).sum(-1)
        a = ((rgb - under) * d).sum(-1) / np.maximum(den, 1e-6)
        off = np.sqrt(((rgb - under - a[..., None] * d) ** 2).sum(-1))
        out |= (den > INK_CONTRAST ** 2) & (a > INK_ALPHA) & (a < 1.2) & (off < INK_OFF)
    return out


def thin_text_lines(cores: np.ndarray, inside: np.ndarray, rgb: np.ndarray, lab: np.ndarray,
                    img_h: int) -> np.ndarray:
    """``cores`` (a label image of graphics found on a photo) plus the glyphs of small text
    lines whose strokes are too thin for a uniform core.

    On a photo, graphics are found by their uniform cores; 12-16 px text (serifs, 1-2 px
    stems) has none, so whole lines stayed in the photo and the layer meant for them was
    never made. A stroke stands out from a median of the picture that wipes it out
    (``THIN_MEDIAN``). Pieces that stand out, glyph-shaped (not a strip, not a solid patch)
    and not the thin part of a core they touch in its colour (a serif of a glyph already
    found), are read as text only when they form a line of ``THIN_MIN_GLYPHS`` or more of
    one colour and size (``find_text_lines``) and the line's colour is rare in its band
    away from its strokes (the photo's own fine detail repeats its colour around it, or
    shows between glyphs joined to more of the photo; ink does not). Each glyph of such a
    line becomes a label of its own after those of ``cores``: its ink pixels (those
    farthest from the paper around it), so its colour is the ink's and its anti-aliased
    edge goes with it as a core's rim does (``labels.grow`` in the caller)."""
    dd = _standout(rgb, lab, THIN_MEDIAN)
    cand = inside & (cores == 0) & (dd > STROKE_STANDOUT)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(cand.astype(np.uint8), connectivity=8)
    if n <= 1:
        return cores
    # a piece's ink: its pixels farthest from the ring around it (the paper inside a letter's
    # counter stands out from the median too, and an anti-aliased edge is half paper)
    ring = grow(comp, 2)
    ring[cand] = 0
    paper = label_means(ring.ravel(), lab.reshape(-1, 3), n)
    far = np.where(cand, delta_e(lab, paper[comp].astype(np.float32)), 0.0)
    peak = np.zeros(n, np.float32)
    np.maximum.at(peak, comp.ravel(), far.ravel())
    strong = cand & (far >= THIN_INK * peak[comp])
    ink_lab = label_means(comp[strong], lab[strong], n)
    ink_rgb = label_means(comp[strong], rgb[strong], n)
    depth = cv2.distanceTransform(np.pad(cand, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    radius = np.zeros(n, np.float32)
    np.maximum.at(radius, comp.ravel(), depth.ravel())
    # a piece in the colour of a core it touches is that graphic's thin part (a serif, the
    # bar of an 'e'): its rim goes with it; text on a card touches the card in another colour
    part = np.zeros(n, bool)
    m = int(cores.max())
    if m:
        touch = grow(cores, 2)
        on = cand & (touch > 0)
        if on.any():
            core_lab = label_means(cores.ravel(), lab.reshape(-1, 3), m + 1)
            pairs = np.unique(np.stack([comp[on], touch[on]], 1), axis=0)
            same = delta_e(ink_lab[pairs[:, 0]], core_lab[pairs[:, 1]]) < 12.0
            part[pairs[same, 0]] = True
    base = 1 << 20  # candidate labels kept apart from the cores' own
    cands = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if part[k] or area < 4 or bh < 5 or bh > 0.3 * img_h or bw > GLYPH_ASPECT * bh + 2 or \
                radius[k] > GLYPH_STROKE * bh + 1.0:
            continue
        cands.append(Region(base + k, "thin", (slice(y, y + bh), slice(x, x + bw)), area,
                            ink_rgb[k].astype(np.float32), ink_lab[k].astype(np.float32), 1.0))
    if len(cands) > THIN_MAX_PIECES * inside.sum():
        return cores  # a busy picture: its own detail cannot be told from small text
    new = np.zeros(n, np.int32)  # piece -> its new label
    nxt = int(cores.max()) + 1
    h, w = cores.shape
    for g in find_text_lines(cands, img_h):
        members = [lbl - base for lbl in g]
        if len(members) < THIN_MIN_GLYPHS:
            continue
        colour = ink_lab[members].mean(axis=0)
        x0, y0 = stats[members, 0].min(), stats[members, 1].min()
        x1 = (stats[members, 0] + stats[members, 2]).max()
        y1 = (stats[members, 1] + stats[members, 3]).max()
        hl = int(y1 - y0)
        y0, y1 = max(0, y0 - hl // 4), min(h, y1 + hl // 4 + 1)
        x0, x1 = max(0, x0 - hl // 2), min(w, x1 + hl // 2 + 1)
        ink = np.isin(comp[y0:y1, x0:x1], members)
        near = cv2.dilate((ink | (cores[y0:y1, x0:x1] > 0)).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        # pixels of the ink's colour not joined to a stroke (a thicker stem's inside is), or
        # joined to it but running on out of the band (the photo showing between glyphs)
        close = delta_e(lab[y0:y1, x0:x1], colour) < STROKE_MATCH
        k, parts = cv2.connectedComponents(close.astype(np.uint8), connectivity=8)
        joined = np.zeros(k, bool)
        joined[parts[close & near]] = True
        edge = np.zeros_like(close)
        edge[[0, -1], :] = edge[:, [0, -1]] = True
        joined[parts[close & edge]] = False
        stray = close & ~joined[parts]
        # ... and the band is calm but for the line: in a busy texture, pieces stand out everywhere
        busy = cand[y0:y1, x0:x1] & ~near
        if float(stray.mean()) > THIN_STRAY or float(busy.mean()) > THIN_BUSY:
            continue
        new[members] = np.arange(nxt, nxt + len(members))
        nxt += len(members)
    if not new.any():
        return cores
    # a glyph's core is its ink; its anti-aliased edge goes with it as the cores' rims do
    return np.where(strong & (new[comp] > 0), new[comp], cores).astype(cores.dtype)


CROSSING_TOUCH = 0.5   # share of a busy crumb's rim that must be words ...
CROSSING_DE = 15.0     # ... and share CROSSING_INK of its pixels this close (CIE76) to one of
CROSSING_INK = 0.5     # their colours: it is where words cross, not a picture


def words_take_crossing_crumbs(seg: Segmentation, lab: np.ndarray) -> Segmentation:
    """Busy crumbs where words cross go back to the words, pixel by pixel by colour.

    Where one word's strokes cross another's, the anti-aliased mixes of the two inks make the
    spot busy, and the picture test calls it a "photo" crumb (too small for glyphs to be
    carved from it, ``PHOTO_WITH_TEXT``). Left so, both words came out cut, and under a given
    layer count the crumbs took layers of their own while the words were forced into one.
    A crumb qualifies when most of its rim is words and most of its pixels are in their inks;
    each pixel then joins the word whose colour is nearest (the words keep their colours)."""
    h, w = seg.owner.shape
    words = {r.label for r in seg.regions if r.kind in ("text", "thin")}
    crumbs = [r for r in seg.regions if r.kind == "photo" and r.area < PHOTO_WITH_TEXT * h * w]
    if not words or not crumbs:
        return seg
    owner = seg.owner.copy()
    by_label = {r.label: r for r in seg.regions}
    taken = False
    for r in crumbs:
        y0, x0 = max(0, r.slc[0].start - 1), max(0, r.slc[1].start - 1)
        y1, x1 = min(h, r.slc[0].stop + 1), min(w, r.slc[1].stop + 1)
        sub = owner[y0:y1, x0:x1]
        mine = sub == r.label
        rim = cv2.dilate(mine.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~mine
        around = sub[rim]
        near = sorted({int(v) for v in np.unique(around) if int(v) in words})
        if not near or float(np.isin(around, near).mean()) < CROSSING_TOUCH:
            continue
        inks = np.stack([by_label[v].lab for v in near]).astype(np.float32)
        d = delta_e(lab[y0:y1, x0:x1][mine][:, None, :], inks[None])
        if float((d.min(1) < CROSSING_DE).mean()) < CROSSING_INK:
            continue
        sub[mine] = np.asarray(near, np.int32)[d.argmin(1)]
        taken = True
    if not taken:
        return seg
    # the crumbs own no pixels now: they go, and the words' boxes and areas are redone
    owner, regions, _ = relabel(owner, seg.regions)
    return Segmentation(owner, regions, seg.fg, seg.core)

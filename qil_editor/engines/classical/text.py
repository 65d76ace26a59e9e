"""Recognise lines of text and make each line (or paragraph) one region.

Glyphs are found as separate regions; a line is glyph-like regions of one
colour and size side by side, plus small marks (dots, accents, punctuation)
next to them; lines of one colour and size stacked closely form a
paragraph. Treating a line as one object keeps the occlusion order and the
layer grouping from splitting words across layers.
"""

from __future__ import annotations

import numpy as np

from .colour import delta_e
from .regions import Region, Segmentation


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
            if float(delta_e(alab, blab)) > 12.0 or max(ah, bh) > 1.5 * min(ah, bh):
                continue
            vgap = max(ay0, by0) - min(ay1, by1)
            hover = min(ax1, bx1) - max(ax0, bx0)
            stacked = (vgap <= 1.2 * max(ah, bh) and (hover > 0 or abs(ax0 - bx0) <= max(ah, bh))
                       and not (isinstance(a, tuple) or isinstance(b, tuple)))
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


def merge_text_lines(seg: Segmentation, img_h: int) -> Segmentation:
    """A new segmentation where each text line/paragraph is a single "text" region."""
    groups = find_text_lines(seg.regions, img_h)
    if not groups:
        return seg
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
                              {"glyphs": len(parts)}))
    return Segmentation(owner.astype(np.int32), regions, seg.fg, seg.core)

"""Group regions into the layers a designer would expect, and name them.

Letters of one colour and size on one line become one text layer (and lines
of a paragraph one block); then the cheapest merges (same kind, same colour,
close together, a shadow with what casts it) continue until the requested
count is reached, or, for an automatic count, while they stay cheap. A merge
never puts two regions in one layer if a third region must lie between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour import delta_e, delta_e2000
from .ordering import Ordering
from .regions import BG, Segmentation

AUTO_MERGE_COST = 0.3


@dataclass
class Group:
    labels: list[int]
    kind: str                 # "text", "shape", "photo", "shadow"
    name: str = ""


class _UnionFind:
    def __init__(self, items):
        self.parent = {i: i for i in items}

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self):
        out: dict[int, list[int]] = {}
        for i in self.parent:
            out.setdefault(self.find(i), []).append(i)
        return out


def _text_lines(seg: Segmentation, ordering: Ordering, uf: _UnionFind, img_h: int) -> set[int]:
    """Join glyph-like regions into lines and paragraphs; returns labels that are text."""
    cands = [r for r in seg.regions if r.kind in ("shape", "thin") and r.height <= 0.3 * img_h
             and r.area > 0]
    if len(cands) < 2:
        return set()
    lbl = np.array([r.label for r in cands])
    box = np.array([r.bbox for r in cands], np.float64)
    lab = np.stack([r.lab for r in cands])
    par = np.array([ordering.parent.get(r.label, BG) for r in cands])
    x0, y0, x1, y1 = box.T
    h = np.maximum(y1 - y0, 1.0)
    col = delta_e(lab[:, None], lab[None]) < 12.0
    same_parent = par[:, None] == par[None]
    hmax = np.maximum(h[:, None], h[None])
    hmin = np.minimum(h[:, None], h[None])
    v_overlap = np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None])
    gap = np.maximum(x0[:, None], x0[None]) - np.minimum(x1[:, None], x1[None])
    letters = (col & same_parent & (hmax <= 2.5 * hmin) & (v_overlap >= 0.5 * hmin)
               & (gap <= 0.8 * hmax))
    # Small marks (dots, accents, punctuation) near a bigger glyph of the same colour.
    v_gap = np.maximum(y0[:, None], y0[None]) - np.minimum(y1[:, None], y1[None])
    marks = (col & same_parent & (hmin <= 0.6 * hmax) & (gap <= 0.5 * hmax)
             & (v_gap <= 0.6 * hmax))
    np.fill_diagonal(letters, False)
    np.fill_diagonal(marks, False)
    text = set()
    for i, j in zip(*np.nonzero(np.triu(letters | marks))):
        uf.union(int(lbl[i]), int(lbl[j]))
        text.update((int(lbl[i]), int(lbl[j])))
    # Lines of one paragraph: same colour and glyph height, stacked closely.
    lines = {}
    for root, members in uf.groups().items():
        if len(members) >= 2 and set(members) <= text:
            lines[root] = members
    roots = list(lines)
    info = {}
    for root in roots:
        regs = [seg.region(m) for m in lines[root]]
        bx = np.array([r.bbox for r in regs])
        info[root] = (bx[:, 0].min(), bx[:, 1].min(), bx[:, 2].max(), bx[:, 3].max(),
                      float(np.median([r.height for r in regs])),
                      np.mean([r.lab for r in regs], axis=0))
    for i, a in enumerate(roots):
        for b in roots[i + 1:]:
            ax0, ay0, ax1, ay1, ah, alab = info[a]
            bx0, by0, bx1, by1, bh, blab = info[b]
            if float(delta_e(alab, blab)) > 12.0 or max(ah, bh) > 1.5 * min(ah, bh):
                continue
            vgap = max(ay0, by0) - min(ay1, by1)
            hover = min(ax1, bx1) - max(ax0, bx0)
            if vgap <= 1.2 * max(ah, bh) and (hover > 0 or abs(ax0 - bx0) <= max(ah, bh)):
                uf.union(a, b)
    return text


def _creates_cycle(members: dict[int, set[int]], above: dict[tuple[int, int], float],
                   merged: tuple[int, int]) -> bool:
    a, b = merged
    gid = {}
    for g, labels in members.items():
        for lbl in labels:
            gid[lbl] = a if g == b else g
    edges: dict[int, set[int]] = {}
    for (up, low) in above:
        gu, gl = gid[up], gid[low]
        if gu != gl:
            edges.setdefault(gu, set()).add(gl)
    # cycle detection (iterative DFS, colours)
    state: dict[int, int] = {}
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(edges.get(start, ())))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return True
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(edges.get(nxt, ()))))
    return False


def group_regions(seg: Segmentation, ordering: Ordering, target: int | None,
                  size: tuple[int, int]) -> list[Group]:
    """Groups bottom->top; ``target`` = number of foreground layers wanted (None = auto)."""
    w, h = size
    labels = [r.label for r in seg.regions]
    if not labels:
        return []
    uf = _UnionFind(labels)
    text = _text_lines(seg, ordering, uf, h)
    # Enforce order constraints on the text merges: undo merges that create cycles.
    members = {g: set(m) for g, m in uf.groups().items()}
    if _creates_cycle(members, ordering.above, (min(members), min(members))):
        members = {lbl: {lbl} for lbl in labels}
    diag = float(np.hypot(w, h))
    rank = ordering.rank()

    def features(ms):
        regs = [seg.region(m) for m in ms]
        area = np.array([max(r.area, 1) for r in regs], np.float64)
        kinds = {r.kind for r in regs}
        if kinds == {"shadow"}:
            kind = "shadow"
        elif all(m in text for m in ms) and len(ms) >= 2:
            kind = "text"
        elif "photo" in kinds and sum(a for r, a in zip(regs, area) if r.kind == "photo") >= 0.5 * area.sum():
            kind = "photo"
        else:
            kind = "shape"
        bx = np.array([r.bbox for r in regs])
        box = (bx[:, 0].min(), bx[:, 1].min(), bx[:, 2].max(), bx[:, 3].max())
        lab = (np.stack([r.lab for r in regs]) * area[:, None]).sum(0) / area.sum()
        return {"kind": kind, "box": box, "lab": lab, "area": area.sum()}

    feats = {g: features(m) for g, m in members.items()}

    def touching(ga, gb):
        c = ordering.contact
        return any(c[a, b] > 0 for a in members[ga] for b in members[gb])

    def cost(ga, gb):
        fa, fb = feats[ga], feats[gb]
        c_col = float(delta_e2000(fa["lab"], fb["lab"])) / 40.0
        kinds = {fa["kind"], fb["kind"]}
        ax0, ay0, ax1, ay1 = fa["box"]
        bx0, by0, bx1, by1 = fb["box"]
        gap = np.hypot(max(0, max(ax0, bx0) - min(ax1, bx1)), max(0, max(ay0, by0) - min(ay1, by1)))
        c_space = 2.0 * gap / diag
        if "shadow" in kinds and len(kinds) == 2 and touching(ga, gb):
            return 0.35 + 0.2 * c_space  # a shadow belongs with its caster
        c_kind = 0.0 if len(kinds) == 1 else 0.4
        bonus = -0.15 if touching(ga, gb) else 0.0
        return c_col + c_kind + c_space + bonus

    limit = target if target is not None else 9
    while len(members) > 1:
        keys = sorted(members)
        best = None
        for i, ga in enumerate(keys):
            for gb in keys[i + 1:]:
                c = cost(ga, gb)
                if best is None or c < best[0]:
                    if not _creates_cycle(members, ordering.above, (ga, gb)):
                        best = (c, ga, gb)
        if best is None:
            break
        c, ga, gb = best
        if len(members) <= limit and (target is not None or c > AUTO_MERGE_COST):
            break
        members[ga] |= members.pop(gb)
        feats[ga] = features(members[ga])
        feats.pop(gb, None)

    groups = [Group(sorted(ms, key=rank.get), feats[g]["kind"]) for g, ms in members.items()]
    groups = _order_groups(groups, ordering)
    _name(groups)
    return groups


def _order_groups(groups: list[Group], ordering: Ordering) -> list[Group]:
    rank = ordering.rank()
    gid = {lbl: i for i, g in enumerate(groups) for lbl in g.labels}
    lower: dict[int, set[int]] = {i: set() for i in range(len(groups))}
    for (up, low) in ordering.above:
        if gid[up] != gid[low]:
            lower[gid[up]].add(gid[low])
    remaining = set(range(len(groups)))
    out = []
    while remaining:
        ready = [i for i in remaining if not (lower[i] & remaining)] or list(remaining)
        nxt = min(ready, key=lambda i: min(rank[lbl] for lbl in groups[i].labels))
        out.append(groups[nxt])
        remaining.discard(nxt)
    return out


def _name(groups: list[Group]) -> None:
    titles = {"text": "Text", "shape": "Shape", "photo": "Photo", "shadow": "Shadow"}
    counts = {k: sum(1 for g in groups if g.kind == k) for k in titles}
    seen = {k: 0 for k in titles}
    # Number from the top of the stack down, the way the layer panel reads.
    for g in reversed(groups):
        seen[g.kind] += 1
        base = titles[g.kind]
        numbered = g.kind in ("text", "shape") or counts[g.kind] > 1
        g.name = f"{base} {seen[g.kind]}" if numbered else base

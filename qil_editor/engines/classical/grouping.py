"""Group regions into the layers a designer would expect, and name them.

Text lines arrive as single regions (see ``text.py``). The cheapest merges
(same kind, same colour, close together; a region with what it sits on; a
shadow with what casts it; specks with their neighbour) continue until the
requested count is reached, or, for an automatic count, while they stay
cheap. A merge never puts two regions in one layer if a third region must
lie between them, unless the two touch in one flat colour (no seam shows:
one object cut in two) and only uncertain outline cues put the third there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .blends import SHADOW_DARK_L
from .colour import delta_e2000
from .ordering import CRUMB, GLOW_SHARP, Ordering
from .regions import SHADOW_AS_PHOTO, Segmentation

AUTO_MERGE_COST = 0.3
SPECK_TEXT = 0.0005    # text groups below this share of the canvas join a neighbour ...
SPECK_LAYER = 0.0008   # ... other groups below this (a small icon above it stays a layer) ...
SLIVER = 0.0005        # a soft shadow speck below this share of the canvas says too little of its shadow
SPECK_BODILESS = 0.0012  # ... and below this when no region in them has a flat body (slivers,
                         # specks of texture or shadow)
GRAINLESS = 0.7        # a small "photo" region with less picture body than this is a busy crumb
                       # (every picture measured has 0.85 or more; crumbs mostly half or less)
SEAM_DE = 3.0          # groups that touch closer in colour than this (CIEDE2000) show no seam ...
SEAM_PX = 4            # ... along at least this many outline pixels ...
SEAM_CONF = 0.97       # ... and merge unless a chain of cues this sure puts something between


@dataclass
class Group:
    labels: list[int]
    kind: str                 # "text", "shape", "photo", "shadow"
    name: str = ""


class _GroupGraph:
    """Groups of regions with the 'lies above' relation between them (kept a DAG).

    Relations carry a confidence. Only confident ones (a shadow under its
    object, text on a card) forbid a merge; weaker guesses give way, and any
    that a merge turns into a cycle are dropped.
    """

    STRONG = 0.5

    def __init__(self, labels, above: dict[tuple[int, int], float]):
        self.members = {lbl: {lbl} for lbl in labels}
        self.of = {lbl: lbl for lbl in labels}
        self.edges: dict[tuple[int, int], float] = dict(above)

    def _down(self, min_conf: float) -> dict[int, set[int]]:
        down: dict[int, set[int]] = {}
        for (u, l), c in self.edges.items():
            if c >= min_conf:
                down.setdefault(u, set()).add(l)
        return down

    @staticmethod
    def _reaches(down, src: int, dst: int) -> bool:
        stack = [n for n in down.get(src, ()) if n != dst]
        seen = set(stack)
        while stack:
            n = stack.pop()
            if n == dst:
                return True
            for m in down.get(n, ()):
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return False

    def can_merge(self, a: int, b: int, min_conf: float = STRONG) -> bool:
        """Safe unless a confident chain puts something between them."""
        down = self._down(min_conf)
        return not (self._reaches(down, a, b) or self._reaches(down, b, a))

    def between(self, a: int, b: int, min_conf: float = STRONG) -> set[int]:
        """The groups a chain of relations at least this sure puts between ``a`` and ``b``."""
        down = self._down(min_conf)
        up: dict[int, set[int]] = {}
        for u, lows in down.items():
            for l in lows:
                up.setdefault(l, set()).add(u)

        def reach(graph, src):
            seen, stack = set(), [src]
            while stack:
                for m in graph.get(stack.pop(), ()):
                    if m not in seen:
                        seen.add(m)
                        stack.append(m)
            return seen

        return ((reach(down, a) & reach(up, b)) | (reach(down, b) & reach(up, a))) - {a, b}

    def merge(self, a: int, b: int) -> None:
        for lbl in self.members[b]:
            self.of[lbl] = a
        self.members[a] |= self.members.pop(b)
        edges: dict[tuple[int, int], float] = {}
        for (u, l), c in self.edges.items():
            u, l = (a if u == b else u), (a if l == b else l)
            if u != l:
                edges[(u, l)] = max(c, edges.get((u, l), 0.0))
        self.edges = edges
        self._break_cycles()

    def _break_cycles(self) -> None:
        nodes = set(self.members)
        while True:
            indeg = {n: 0 for n in nodes}
            for (u, l) in self.edges:
                indeg[l] += 1
            ready = [n for n, d in indeg.items() if d == 0]
            seen = set()
            while ready:
                n = ready.pop()
                seen.add(n)
                for (u, l) in self.edges:
                    if u == n:
                        indeg[l] -= 1
                        if indeg[l] == 0:
                            ready.append(l)
            if len(seen) == len(nodes):
                return
            stuck = nodes - seen
            weakest = min(((c, e) for e, c in self.edges.items() if e[0] in stuck and e[1] in stuck))
            del self.edges[weakest[1]]


_KINDS = ("shape", "text", "photo", "shadow")


def group_regions(seg: Segmentation, ordering: Ordering, target: int | None,
                  size: tuple[int, int], log=None) -> list[Group]:
    """Groups bottom->top; ``target`` = number of foreground layers wanted (None = auto)."""
    w, h = size
    labels = [r.label for r in seg.regions]
    if not labels:
        return []
    graph = _GroupGraph(labels, ordering.above)
    diag = float(np.hypot(w, h))
    rank = ordering.rank()
    n_lab = len(labels) + 1
    contact = ordering.contact
    # region pairs that touch along a stretch in one flat colour: no seam shows between them
    seam = np.zeros((n_lab, n_lab), np.float64)
    reg_lab = np.zeros((n_lab, 3), np.float64)
    for r in seg.regions:
        reg_lab[r.label] = r.lab
    sa, sb = np.nonzero(np.triu(contact >= SEAM_PX, 1))
    keep = (sa > 0) & (delta_e2000(reg_lab[sa], reg_lab[sb]) < SEAM_DE)
    seam[sa[keep], sb[keep]] = seam[sb[keep], sa[keep]] = 1.0
    # par[i, j]: region i rests on region j; a group sits on another when a member does
    par = np.zeros((n_lab, n_lab), np.float64)
    for child, p_lbl in ordering.parent.items():
        if p_lbl:
            par[child, p_lbl] = 1.0

    def group_kind(regs) -> str:
        by_kind: dict[str, float] = {}
        for r in regs:
            by_kind[r.kind] = by_kind.get(r.kind, 0.0) + max(r.area, 1)
        total = sum(by_kind.values())
        # a sliver along its caster's edge aside, and specks the edge-density and glyph tests
        # called photo or text on a glow's rim (a tenth of it at most): with them it was costed
        # as a shape, its own bits over other objects too far in colour to join it, and the
        # count merged it into its host. (Flat-bodied shape bits still make it a shape.)
        soft = by_kind.get("shadow", 0.0)
        if soft and set(by_kind) <= {"shadow", "thin", "photo", "text"} \
                and by_kind.get("photo", 0.0) + by_kind.get("text", 0.0) <= 0.1 * soft:
            return "shadow"
        if by_kind.get("text", 0.0) >= 0.5 * total:
            return "text"
        if by_kind.get("photo", 0.0) >= 0.5 * total:
            return "photo"
        return "shape"

    def features(ms):
        regs = [seg.region(m) for m in ms]
        area = np.array([max(r.area, 1) for r in regs], np.float64)
        bx = np.array([r.bbox for r in regs], np.float64)
        box = (bx[:, 0].min(), bx[:, 1].min(), bx[:, 2].max(), bx[:, 3].max())
        lab = (np.stack([r.lab for r in regs]) * area[:, None]).sum(0) / area.sum()
        return group_kind(regs), box, lab

    def speck_px(ms) -> float:
        """Below this many pixels a group is a speck that the pass after the count folds."""
        # a group is judged by what it holds besides busy crumbs: they add nothing to it
        regs, crumbs = [], 0
        for r in (seg.region(m) for m in ms):
            if _busy_crumb(r, w * h):
                crumbs += max(r.area, 1)
            else:
                regs.append(r)
        if all(r.kind in ("thin", "photo", "shadow") for r in regs):
            return crumbs + SPECK_BODILESS * w * h
        return crumbs + (SPECK_TEXT if group_kind(regs) == "text" else SPECK_LAYER) * w * h

    # what each region shares outline with, objects only (not the background, not shadows)
    caster_contact = contact.astype(np.float64).copy()
    caster_contact[:, 0] = 0
    caster_contact[:, [r.label for r in seg.regions if r.kind == "shadow"]] = 0
    limit = target if target is not None else 9
    while len(graph.members) > 1:
        gids = sorted(graph.members)
        feats = [features(graph.members[g]) for g in gids]
        kind = np.array([_KINDS.index(f[0]) for f in feats])
        box = np.array([f[1] for f in feats])
        lab = np.array([f[2] for f in feats])
        areas = np.array([sum(max(seg.region(m).area, 1) for m in graph.members[g]) for g in gids], np.float64)
        total_area = float(w * h)
        member = np.zeros((len(gids), n_lab), np.float64)
        for i, g in enumerate(gids):
            member[i, list(graph.members[g])] = 1.0
        touch = (member @ contact @ member.T) > 0
        sits = (member @ par @ member.T) > 0
        gi, gj = np.triu_indices(len(gids), 1)
        c_col = delta_e2000(lab[gi], lab[gj]) / 40.0
        gx = np.maximum(0, np.maximum(box[gi, 0], box[gj, 0]) - np.minimum(box[gi, 2], box[gj, 2]))
        gy = np.maximum(0, np.maximum(box[gi, 1], box[gj, 1]) - np.minimum(box[gi, 3], box[gj, 3]))
        c_space = 2.0 * np.hypot(gx, gy) / diag
        same = kind[gi] == kind[gj]
        tch = touch[gi, gj]
        shadow_pair = (~same) & ((kind[gi] == 3) | (kind[gj] == 3)) & tch
        nested = sits[gi, gj] | sits[gj, gi]
        # two objects' shadows are two layers, each completed under its own caster: alike in
        # colour they were the cheapest pair, and crumbs between them chained them into one.
        # Not a sliver or crumb beside a shadow (a tenth of it or less, as ``regions._bodiless``):
        # its caster by outline may be a piece of the other's (a card cut by what lies on it)
        cast = member @ caster_contact
        caster = np.where(cast.max(1) > 0, cast.argmax(1), -1)
        bodied = np.minimum(areas[gi], areas[gj]) > 0.1 * np.maximum(areas[gi], areas[gj])
        apart = same & (kind[gi] == 3) & (caster[gi] != caster[gj]) & (caster[gi] >= 0) \
            & (caster[gj] >= 0) & bodied
        cost = np.where(same & ~apart, c_col + c_space, 0.6 + 0.5 * c_col + c_space)
        # a fragment in the colour of a neighbour (a glyph cut off a line, a sliver of a card)
        cost = np.where(~same & (c_col < 0.15) & (c_space < 0.05), np.minimum(cost, 0.2 + c_col + c_space), cost)
        cost = np.where(nested, np.minimum(cost, 0.45 + 0.1 * c_col), cost)
        cost = np.where(shadow_pair, 0.5 + 0.2 * c_space, cost)
        # Specks are never worth a layer of their own: they join a neighbour first.
        small = np.minimum(areas[gi], areas[gj]) / total_area
        tiny = small < 0.001
        cost = np.where(tiny & (tch | (c_space < 0.03)), cost - 0.5, cost)
        # otherwise small groups go before big ones: a layer should be worth having
        cost = cost - 0.2 + 0.2 * np.minimum(1.0, small / 0.01)
        free = None
        if target is not None:
            # Specks that touch a neighbour join it after the count (below) and take no layer,
            # so only the groups that will stay layers count; counted, a stray glyph or a
            # sliver forced two objects into one layer and then the engine handed back fewer
            # layers than asked. At the count, merges that cost no layer still go on (a speck
            # into the group it is cheapest with, the pieces of one small word into a layer
            # of its own); a crumb of a few pixels waits for the pass after the count.
            stand = _standing(graph, seg, contact, target, speck_px, CRUMB * w * h)
            if len(stand) <= limit:
                held = np.array([g in stand for g in gids])
                crumb = areas < CRUMB * w * h
                free = ~(held[gi] & held[gj]) & ~crumb[gi] & ~crumb[gj]
        # Two groups that touch in one flat colour show no edge between them: one object the
        # segmentation cut in two (a strip of a button, the glyphs of a line where it crosses a
        # shape). An outline cue that puts a third object between them is then the weaker
        # evidence; merged, the cycle drops its weakest link. Not for a speck, and not across
        # a word: a word laid over a shape leaves bits of the shape between its glyphs, in the
        # shape's colour, whose cues are the unreliable ones (held in a glyph's counter, a bit
        # seems to lie on the word); a speck is folded by touch after the count anyway.
        kind_of = {g: f[0] for g, f in zip(gids, feats)}
        body = np.array([areas[i] >= speck_px(graph.members[g]) for i, g in enumerate(gids)])
        seamless = ((member @ seam @ member.T) > 0)[gi, gj] & body[gi] & body[gj]
        picked = None
        for k in np.argsort(cost, kind="stable"):
            if free is not None and not free[k]:
                continue
            a, b = gids[gi[k]], gids[gj[k]]
            if graph.can_merge(a, b) or (seamless[k] and graph.can_merge(a, b, SEAM_CONF)
                                         and not any(kind_of[x] == "text" for x in graph.between(a, b))):
                picked = (float(cost[k]), a, b)
                break
        if picked is None:
            break
        c, a, b = picked
        # crumbs of a few pixels join a neighbour below anyway: they take no layer
        if target is None and int((areas >= CRUMB * w * h).sum()) <= limit and c > AUTO_MERGE_COST:
            break
        if log is not None:
            log(f"merge {sorted(graph.members[a])} + {sorted(graph.members[b])} cost {c:.3f}")
        graph.merge(a, b)

    # a speck is never worth a layer of its own, even when the count asks for more layers
    # than there are objects: it joins the neighbour it touches most
    keep = _standing(graph, seg, contact, target, speck_px, CRUMB * w * h) if target is not None else set()
    changed = True
    while changed and len(graph.members) > 1:
        changed = False
        for g in sorted(graph.members):
            ms = graph.members[g]
            if g in keep or sum(max(seg.region(m).area, 1) for m in ms) >= speck_px(ms):
                continue
            touch = {o: sum(int(contact[m, x]) for m in ms for x in graph.members[o])
                     for o in graph.members if o != g}
            touch = {o: t for o, t in touch.items() if t}
            if not touch:
                continue
            # where it touches several alike (a crumb of a pixel or two), the closest in colour
            own = features(ms)[2]
            best = max(touch, key=lambda o: (touch[o], -float(delta_e2000(
                own[None], features(graph.members[o])[2][None])[0])))
            graph.merge(best, g)
            changed = True
            break

    groups = {g: Group(sorted(ms, key=rank.get), features(ms)[0]) for g, ms in graph.members.items()}
    ordered = _order_groups(groups, graph.edges, rank, {r.label: r.area for r in seg.regions})
    _name(ordered, seg)
    return ordered


def _busy_crumb(r, canvas: float) -> bool:
    """A small "photo" region with little picture body (``extras["grain"]``): the rims of
    glyphs on a card or a shadow's edge where a word crosses it, which the edge-density test
    took for a picture. It is worth no layer of its own, nor does it make the group it joins
    worth one (below the share where a busy region may be a shadow or a rim: a big one with
    little grain is a textured shape, kept whole)."""
    return (r.kind == "photo" and r.area < SHADOW_AS_PHOTO * canvas
            and r.extras.get("grain", 1.0) < GRAINLESS)


def _standing(graph: _GroupGraph, seg: Segmentation, contact: np.ndarray, target: int,
              speck_px, crumb_px: float) -> set[int]:
    """The groups that will stay layers: all but the specks that touch a neighbour, which
    join it. While the count asks for more layers than those fill, soft shadow specks (not
    mere crumbs of darkening) stay too, largest first: the visible sliver of a shadow mostly
    hidden under its caster is completed under the caster as a layer of its own; folded into
    the caster, shadow and caster were one layer and the engine handed back fewer layers
    than asked."""
    h, w = seg.owner.shape
    stay, slivers = set(), []
    for g, ms in graph.members.items():
        area = sum(max(seg.region(m).area, 1) for m in ms)
        near = contact[list(ms)].sum(axis=0)
        near[0] = 0
        near[list(ms)] = 0
        if area >= speck_px(ms) or (area >= crumb_px and not near.any()):
            stay.add(g)
        elif area >= SLIVER * w * h and all(seg.region(m).kind == "shadow"
                                            and seg.region(m).sharp < GLOW_SHARP for m in ms):
            slivers.append((area, g))
    spare = max(0, target - len(stay))
    return stay | {g for _, g in sorted(slivers, reverse=True)[:spare]}


def _order_groups(groups: dict[int, Group], edges, rank, size) -> list[Group]:
    """Bottom first, honouring the group DAG; ties by the rank of each group's largest member
    (its main object), not its lowest one: a crumb folded into a title that ranked at the
    bottom put the whole title under layers it has nothing to do with."""
    lower: dict[int, set[int]] = {g: set() for g in groups}
    for (up, low) in edges:
        lower[up].add(low)
    remaining = set(groups)
    out = []
    while remaining:
        ready = [g for g in remaining if not (lower[g] & remaining)] or list(remaining)
        nxt = min(ready, key=lambda g: rank[max(groups[g].labels, key=lambda m: (size[m], -rank[m]))])
        out.append(groups[nxt])
        remaining.discard(nxt)
    return out


def _name(groups: list[Group], seg: Segmentation) -> None:
    names = {"text": "Text", "shape": "Shape", "photo": "Photo", "shadow": "Shadow"}

    def title(g: Group) -> str:
        # soft blends are modelled alike, but one in a light colour is a glow to a designer
        if g.kind == "shadow":
            regs = [seg.region(m) for m in g.labels]
            light = sum(r.area * float(r.lab[0]) for r in regs) / max(1, sum(r.area for r in regs))
            return "Glow" if light >= SHADOW_DARK_L else "Shadow"
        return names[g.kind]

    titles = [title(g) for g in groups]
    counts = {t: titles.count(t) for t in set(titles)}
    seen = dict.fromkeys(counts, 0)
    # Number from the top of the stack down, the way the layer panel reads.
    for g, base in zip(reversed(groups), reversed(titles)):
        seen[base] += 1
        numbered = g.kind in ("text", "shape") or counts[base] > 1
        g.name = f"{base} {seen[base]}" if numbered else base

"""Which region lies on top of which.

Cues, strongest first: shadows lie under what casts them; a region whose
outline is mostly surrounded by another lies on it (text on a card); thin
strokes lie on what surrounds them; for two shapes that overlap, the one that
bites into the other's convex hull is in front (a disc over a rectangle
leaves the rectangle with a bite; the disc stays round).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .regions import BG, Segmentation


_STROKES = ("thin", "text")  # drawn over what they touch


@dataclass
class Ordering:
    order: list[int]                          # region labels, bottom first
    above: dict[tuple[int, int], float]       # (upper, lower) -> confidence
    contact: np.ndarray                       # (n, n) shared boundary lengths, label 0 = background
    parent: dict[int, int] = field(default_factory=dict)  # label -> what it mostly sits on (0 = bg)

    def rank(self) -> dict[int, int]:
        return {lbl: i for i, lbl in enumerate(self.order)}


def contact_matrix(owner: np.ndarray, n: int) -> np.ndarray:
    """Symmetric (n, n) count of 4-neighbour pixel pairs with different labels."""
    codes = []
    if owner.shape[1] > 1:
        a, b = owner[:, :-1], owner[:, 1:]
        d = a != b
        codes.append(a[d].astype(np.int64) * n + b[d])
    if owner.shape[0] > 1:
        a, b = owner[:-1], owner[1:]
        d = a != b
        codes.append(a[d].astype(np.int64) * n + b[d])
    if not codes:
        return np.zeros((n, n), np.int64)
    m = np.bincount(np.concatenate(codes), minlength=n * n).reshape(n, n)
    return m + m.T


def _hull_mask(owner: np.ndarray, label: int, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    crop = (owner[y0:y1, x0:x1] == label).astype(np.uint8)
    out = np.zeros_like(crop)
    pts = cv2.findNonZero(crop)
    if pts is not None:
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return out.astype(bool)


def _union_box(a, b):
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def order_regions(seg: Segmentation) -> Ordering:
    n = len(seg.regions) + 1
    contact = contact_matrix(seg.owner, n)
    perimeter = np.maximum(contact.sum(axis=1), 1)
    above: dict[tuple[int, int], float] = {}
    owner = seg.owner
    for a in range(1, n):
        ra = seg.region(a)
        for b in np.flatnonzero(contact[a, a + 1:]) + a + 1:
            b = int(b)
            rb = seg.region(b)
            share_a = contact[a, b] / perimeter[a]   # how much of a's outline touches b
            share_b = contact[a, b] / perimeter[b]
            if ra.kind == "shadow" and rb.kind != "shadow":
                above[(b, a)] = 1.0
            elif rb.kind == "shadow" and ra.kind != "shadow":
                above[(a, b)] = 1.0
            elif share_a >= 0.5 and share_a > share_b:
                above[(a, b)] = float(share_a)
            elif share_b >= 0.5 and share_b > share_a:
                above[(b, a)] = float(share_b)
            elif ra.kind in _STROKES and rb.kind not in _STROKES:
                above[(a, b)] = 0.6
            elif rb.kind in _STROKES and ra.kind not in _STROKES:
                above[(b, a)] = 0.6
            else:
                box = _union_box(ra.bbox, rb.bbox)
                x0, y0, x1, y1 = box
                crop = owner[y0:y1, x0:x1]
                in_a, in_b = crop == a, crop == b
                ha, hb = _hull_mask(owner, a, box), _hull_mask(owner, b, box)
                bite_a = (hb & in_a).sum() / max(1, in_a.sum())   # share of a inside b's hull
                bite_b = (ha & in_b).sum() / max(1, in_b.sum())
                if abs(bite_a - bite_b) > 0.02:
                    up, low = (a, b) if bite_a > bite_b else (b, a)
                    above[(up, low)] = float(min(0.9, 0.3 + abs(bite_a - bite_b)))
                else:  # no evidence: the smaller one is usually the later addition
                    up, low = (a, b) if ra.area < rb.area else (b, a)
                    above[(up, low)] = 0.1
    order = _topological(seg, above)
    rank = {lbl: i for i, lbl in enumerate(order)}
    # Keep only relations the final order honours, so later grouping sees a DAG.
    above = {(up, low): c for (up, low), c in above.items() if rank[up] > rank[low]}
    parent = {}
    for a in range(1, n):
        best, best_len = BG, contact[a, BG]
        for b in np.flatnonzero(contact[a]):
            b = int(b)
            if b != BG and rank[b] < rank[a] and contact[a, b] > best_len:
                best, best_len = b, contact[a, b]
        parent[a] = best
    return Ordering(order, above, contact, parent)


def _topological(seg: Segmentation, above: dict[tuple[int, int], float]) -> list[int]:
    """Bottom-to-top order honouring the strongest relations; weak ones yield in cycles."""
    labels = [r.label for r in seg.regions]
    below_of = {lbl: {} for lbl in labels}   # node -> {lower: conf}
    for (up, low), conf in above.items():
        below_of[up][low] = max(conf, below_of[up].get(low, 0.0))
    kind_rank = {"shadow": 0, "photo": 1, "shape": 2, "text": 3, "thin": 3}
    remaining = set(labels)
    order = []

    def key(lbl):
        r = seg.region(lbl)
        return (kind_rank.get(r.kind, 2), -r.area, lbl)

    while remaining:
        ready = [lbl for lbl in remaining if not (set(below_of[lbl]) & remaining)]
        if not ready:  # a cycle: drop the weakest remaining relation and retry
            weakest = min(((c, up, low) for up in remaining for low, c in below_of[up].items()
                           if low in remaining), default=None)
            if weakest is None:
                ready = list(remaining)
            else:
                _, up, low = weakest
                del below_of[up][low]
                continue
        nxt = min(ready, key=key)
        order.append(nxt)
        remaining.discard(nxt)
    return order

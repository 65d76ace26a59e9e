"""Which region lies on top of which.

Cues, strongest first: shadows lie under what casts them; a region whose
outline is mostly surrounded by another lies on it (text on a card); thin
strokes lie on what surrounds them; for two shapes that overlap, boundary
ownership: the outline they share belongs to the one on top, so the one
beneath is the one whose simple shape (ellipse, polygon, fitted to where it
meets the background) continues under the other; failing that, the one that
bites into the other's convex hull is in front (a disc over a rectangle
leaves the rectangle with a bite; the disc stays round).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .. import ndimage_subset as ndimage
from .blends import blend_residual
from .labels import CROSS
from .regions import BG, Segmentation
from .shapes import fit_covered_shape, hull_mask


_STROKES = ("thin", "text")  # drawn over what they touch
WHOLE_SHARE = 0.002           # share of the canvas an object needs for the T-junction cue
SHADOW_LIFT_AREA = 0.002      # share of the canvas a shadow needs to be lifted over what its caster lies on
SHADOW_LIFT_HUG = 0.3         # ... and the share of its outline its caster must hold
SHADOW_LIFT_SURE = 0.1        # ... and a cue (not the no-evidence default) that the caster lies on the other
SHADOW_LIFT_CUT = 8           # ... and, for a word, the outline px it shares with the caster (its edge cuts it)
NEAR_STROKE_ENDS = 2          # stroke ends a word needs a pixel or two short of an edge to lie under it:
                              # one glyph's end (a descender) stops by an edge by chance
OUTLIER_ROWS = 0.35           # a word's rows with under this share of its fullest row's pixels:
                              # descenders and ascenders, not the body of the line
NEAR_ROWS = 3                 # rows around a stroke's end read for that


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
    return hull_mask(owner[y0:y1, x0:x1] == label)


def beneath_all(seg: Segmentation) -> list[int]:
    """The background, shadows and soft halos (glows: no crisp edge against the background).
    A shadow or a glow lies beneath the object it surrounds, so that object's edge against
    it is its own, as an edge against the background is (the T-junction cue): a card wrapped
    in its glow shows its whole outline against the glow, none against the background."""
    return [BG] + [r.label for r in seg.regions
                   if r.kind == "shadow" or (r.kind in ("shape", "thin") and r.sharp < GLOW_SHARP)]


def _union_box(a, b):
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _convex_fit(own: np.ndarray, real: np.ndarray, allowed: np.ndarray, kind: str) -> np.ndarray | None:
    """The convex primitive ``own`` is the visible part of (``fit_covered_shape``); failing an
    ellipse or polygon, for a shape or picture the rectangle its seen sides span, with the
    corner radius that fits: a card with big rounded corners makes a polygon with cut corners
    that fits nothing, and the T-junction cue had no shape for it. (Only then: the rectangle
    search costs as much as the rest of the fit.)"""
    fit = fit_covered_shape(own, real, allowed, require_hidden=False, convex=True)
    if fit is None and kind in ("shape", "photo"):
        fit = fit_covered_shape(own, real, allowed, require_hidden=False, convex=True, rectangle=True)
    return fit


def _by_chance(owner: np.ndarray, word, pieces: np.ndarray, top: int) -> bool:
    """Whether a line of text may stop a pixel or two short of an object by chance: only one
    of its strokes reaches the object (``pieces``: the word's pixels by it, in a crop whose
    first row is ``top``), and that one is a descender or an ascender (the hook of a J, the
    tail of a y), in rows few of the word's pixels reach. An edge that cut the line would
    cut it in its body, or cut several strokes."""
    if word.kind != "text":
        return False
    if cv2.connectedComponents(pieces.astype(np.uint8), connectivity=8)[0] - 1 >= NEAR_STROKE_ENDS:
        return False
    rows = (owner[word.slc] == word.label).sum(axis=1)
    ys = np.nonzero(pieces)[0] + top - word.slc[0].start
    if ys.size == 0:
        return False
    # a stroke's anti-aliased end row is sparse in the body too: look a few rows around it
    lo, hi = max(0, int(ys.min()) - NEAR_ROWS), min(rows.size, int(ys.max()) + NEAR_ROWS + 1)
    return lo < hi and float(rows[lo:hi].max()) < OUTLIER_ROWS * float(rows.max())


def outline_cues(seg: Segmentation, contact: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Boundary ownership, for each shape, photo or stroke that touches other objects.

    Its simple shape (ellipse, polygon) is fitted to the outline it shares with the
    background, which is its own whatever lies on top. Per neighbour it returns
    ``reach``: how many of the neighbour's pixels (clearly inside it) the fitted shape
    continues under, and ``owns``: the share of the outline they share that runs along
    the fitted shape's edge. The one on top owns the shared outline; the one beneath
    continues under the other.
    """
    owner = seg.owner
    h, w = owner.shape
    n = len(seg.regions) + 1
    out = {}
    # an edge against the object's own glow (a soft region hugging it) is its own, as one
    # against the background is: a card wrapped in its glow meets the background nowhere
    soft = beneath_all(seg)
    glows = [b for b in soft if b != BG and seg.region(b).kind != "shadow"]
    perimeter = np.maximum(contact.sum(axis=1), 1)
    for reg in seg.regions:
        if reg.kind not in ("shape", "photo", "thin") or reg.area < 30:
            continue
        others = [int(b) for b in np.flatnonzero(contact[reg.label]) if b != BG]
        if not others:
            continue
        x0, y0, x1, y1 = reg.bbox
        for b in others:
            bx0, by0, bx1, by1 = seg.region(b).bbox
            x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
        x0, y0, x1, y1 = max(0, x0 - 2), max(0, y0 - 2), min(w, x1 + 2), min(h, y1 + 2)
        crop = owner[y0:y1, x0:x1]
        own = crop == reg.label
        hugs = [BG] + [g for g in glows if contact[g, reg.label] >= GLOW_HUGS * perimeter[g]]
        bg = np.isin(crop, hugs).astype(np.uint8)
        real = cv2.dilate(bg, np.ones((3, 3), np.uint8)).astype(bool)
        real[:, :1] &= x0 > 0
        real[:, -1:] &= x1 < w
        real[:1] &= y0 > 0
        real[-1:] &= y1 < h
        # this region's pixels next to each neighbour
        nb = cv2.dilate(np.where(own, 0, crop).astype(np.float32), np.ones((3, 3), np.uint8))
        shared = own & (nb > 0)
        lbl = nb[shared].astype(np.int64)
        tot = np.bincount(lbl, minlength=n)
        reach = np.zeros(n, np.int64)
        owns = np.zeros(n, np.float64)
        fit = fit_covered_shape(own, real, crop != BG, require_hidden=False)
        if fit is not None:
            inside = fit > 0.5
            # only what lies clearly inside the other object counts: a neighbour's rim that
            # took a pixel or two of this region's edge says nothing about the order
            far = cv2.distanceTransform((~own).astype(np.uint8), cv2.DIST_L2, 3) > 3.0
            reach = np.bincount(crop[inside & far].ravel(), minlength=n)
            edge = inside & ~cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            near_edge = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3) <= 2.0
            # how much of the outline shared with each neighbour lies on the fitted edge
            on = np.bincount(lbl[near_edge[shared]], minlength=n)
            owns = np.where(tot >= 6, on / np.maximum(tot, 1), 0.0)
            # a straight side owns the outline it shares only where the region shows that side
            # against the background too (``_pinned``), or against a shadow or glow, beneath
            # as the background is (the T-junction cue's view): a side seen nowhere is just
            # where the region stops, which the fit follows whatever lies on top
            seen = None
            for b in np.flatnonzero(owns >= 0.8):
                if reg.kind == "thin" or seg.region(int(b)).kind not in ("shape", "photo"):
                    continue  # a word cut by an edge meets it only at its strokes' ends
                if seen is None:
                    seen = own & cv2.dilate(np.isin(crop, soft).astype(np.uint8), CROSS).astype(bool)
                if not _pinned(shared & (nb == b), seen):
                    owns[b] = 0.0
        # T-junction cue: with the outline it shares with ``b`` counted as its own too,
        # is the region still one convex primitive whose edge that shared outline follows?
        # The one on top is; the one beneath has a bite out of it.
        whole = np.zeros(n, np.float64)
        # a speck is trivially convex: only objects of some size say anything this way
        big = reg.kind != "thin" and reg.area >= max(200, WHOLE_SHARE * h * w)
        # strokes cut by this object's edge may stop a pixel or two short of it (the
        # anti-aliased cut went to what lies beneath): those nearby count as neighbours
        grown = cv2.dilate(own.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        near_strokes = [int(b) for b in np.unique(crop[grown & ~own]) if b != BG and b not in others
                        and seg.region(int(b)).kind in _STROKES] if big else []
        full_fit = False   # not tried yet
        for b in (others + near_strokes if big else ()):
            reach_b = 3 if b in others else 7
            is_b = crop == b
            sel = shared & (nb == b) if b in others else \
                own & cv2.dilate(is_b.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
            # a word cut by this object's edge meets it only at its strokes' ends
            if int(sel.sum()) < (3 if seg.region(b).kind in _STROKES else 8):
                continue
            if b in near_strokes and _by_chance(owner, seg.region(b), is_b & grown, y0):
                continue
            real_b = real | cv2.dilate(is_b.astype(np.uint8), np.ones((reach_b, reach_b), np.uint8)).astype(bool)
            real_b[:, :1] &= x0 > 0
            real_b[:, -1:] &= x1 < w
            real_b[:1] &= y0 > 0
            real_b[-1:] &= y1 < h
            fit_b = _convex_fit(own, real_b, crop != BG, reg.kind)
            if fit_b is None:
                # or the whole outline is one convex primitive: nothing covers any of it
                if full_fit is False:
                    full = ~own
                    full[:, :1] &= x0 > 0
                    full[:, -1:] &= x1 < w
                    full[:1] &= y0 > 0
                    full[-1:] &= y1 < h
                    full_fit = _convex_fit(own, cv2.dilate(full.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool),
                                           crop != BG, reg.kind)
                fit_b = full_fit
            if fit_b is None:
                continue
            ins = fit_b > 0.5
            edge_b = ins & ~cv2.erode(ins.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            near_b = cv2.distanceTransform((~edge_b).astype(np.uint8), cv2.DIST_L2, 3) <= 2.0
            whole[b] = float(near_b[sel].mean()) if sel.any() else 0.0
        out[reg.label] = (reach, owns, whole)
    return out


def order_regions(seg: Segmentation, rgb: np.ndarray | None = None) -> Ordering:
    """The regions bottom to top. With the working image ``rgb``, a shadow seen to darken
    a shape it touches lies on that shape (``_shadow_falls_on``)."""
    n = len(seg.regions) + 1
    contact = contact_matrix(seg.owner, n)
    cues = outline_cues(seg, contact)
    perimeter = np.maximum(contact.sum(axis=1), 1)
    above: dict[tuple[int, int], float] = {}
    guessed: set[tuple[int, int]] = set()   # strokes over a shape only because they are strokes
    beneath = beneath_all(seg)
    owner = seg.owner
    for a in range(1, n):
        ra = seg.region(a)
        for b in np.flatnonzero(contact[a, a + 1:]) + a + 1:
            b = int(b)
            rb = seg.region(b)
            share_a = contact[a, b] / perimeter[a]   # how much of a's outline touches b
            share_b = contact[a, b] / perimeter[b]
            if (ra.kind == "shadow") != (rb.kind == "shadow"):
                sh, x = (ra, rb) if ra.kind == "shadow" else (rb, ra)
                if rgb is not None and _shadow_falls_on(owner, rgb, sh, x):
                    above[(sh.label, x.label)] = 0.9
                else:
                    above[(x.label, sh.label)] = 1.0
            elif (tint := _tint_order(seg, a, b)) is not None:
                above[tint] = 0.85
            elif (_continues(cues, a, b, ra.area, contact[a, b])
                  != _continues(cues, b, a, rb.area, contact[a, b])):
                # the outline they share is the upper one's own; the lower one continues under it
                up, low = (a, b) if _continues(cues, b, a, rb.area, contact[a, b]) else (b, a)
                above[(up, low)] = 0.8
            elif (tj := _t_junction(owner, ra, rb, beneath)) != 0:
                # the edge of the one on top runs on past the end of the outline they share
                up, low = (a, b) if tj > 0 else (b, a)
                above[(up, low)] = 0.75
            elif _owns(cues, a, b) != _owns(cues, b, a):
                up, low = (a, b) if _owns(cues, a, b) else (b, a)
                above[(up, low)] = 0.7
            elif _whole(cues, a, b) != _whole(cues, b, a) and not _word_on_picture(ra, rb):
                up, low = (a, b) if _whole(cues, a, b) else (b, a)
                above[(up, low)] = 0.65
            elif (lies := _lies_on(owner, ra, rb, share_a, share_b)) is not None:
                above[lies[0]] = lies[1]
            elif ra.kind in _STROKES and rb.kind in _STROKES and \
                    (cross := _stroke_crossings(owner, ra, rb)) != 0:
                # words that cross: the stroke on top runs on past where the other one is cut
                up, low = (a, b) if cross > 0 else (b, a)
                above[(up, low)] = 0.6
            elif ra.kind in _STROKES and rb.kind not in _STROKES:
                above[(a, b)] = 0.6
                guessed.add((a, b))
            elif rb.kind in _STROKES and ra.kind not in _STROKES:
                above[(b, a)] = 0.6
                guessed.add((b, a))
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
                elif (ra.kind == "photo") != (rb.kind == "photo"):
                    # no evidence: a picture is usually what a design places shapes on
                    up, low = (b, a) if ra.kind == "photo" else (a, b)
                    above[(up, low)] = 0.1
                else:  # no evidence: the smaller one is usually the later addition
                    up, low = (a, b) if ra.area < rb.area else (b, a)
                    above[(up, low)] = 0.1
    # a word that stops just short of an object whose edge cuts it lies under that object;
    # not a picture's edge: a line of text that runs on over a picture often goes into the
    # picture's region there (its colours are the picture's), so it seems to stop at the edge,
    # and words lie on pictures far more often than under them
    for a, c in cues.items():
        if seg.region(a).kind == "photo":
            continue
        for b in np.flatnonzero(c[2] >= 0.7):
            b = int(b)
            if contact[a, b] == 0 and seg.region(b).kind in _STROKES and (b, a) not in above:
                above[(a, b)] = 0.65
    _shadows_under_their_casters(seg, above, contact, guessed)
    _glows_over_their_ground(seg, above, contact)
    _same_line_same_side(seg, above, guessed)
    hosts = _glows_follow_their_hosts(seg, above, contact, perimeter)
    order = _topological(seg, above, contact, hosts)
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


TJ_MIN_AREA = 0.005     # share of the canvas both objects need (fragments say nothing)
TJ_MIN_SHARED = 16      # shared outline pixels needed for the T-junction test
TJ_STRAIGHT = 1.2       # mean distance (px) of the shared outline from its line: straight
TJ_ON, TJ_OFF = 0.6, 0.2  # share of the stretch past an end where an edge does / does not go on
TJ_PIECE = 20.0         # length (px) of a straight piece of a bent shared outline that counts
TJ_TRIES = 60           # lines tried through pairs of its pixels
TJ_NEAR = 3.0           # distance (px) from the line within which an edge runs on in line
TJ_REACH = 16.0         # px past a straight stretch's ends looked at for outline in line with it
TJ_SIDE = 40.0          # length (px) of a straight stretch of outline judged a side of its own
TJ_PINNED = 4           # px of such outline seen against the background that pin a straight side


def _shared_outline(owner: np.ndarray, ra, rb, pad: int):
    """The two regions' box grown by ``pad`` (clipped to the image): its crop of ``owner``,
    each region's mask in it, and the pixels of either that touch the other."""
    h, w = owner.shape
    x0, y0, x1, y1 = _union_box(ra.bbox, rb.bbox)
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    crop = owner[y0:y1, x0:x1]
    in_a, in_b = crop == ra.label, crop == rb.label
    grow_a = cv2.dilate(in_a.astype(np.uint8), CROSS).astype(bool)
    grow_b = cv2.dilate(in_b.astype(np.uint8), CROSS).astype(bool)
    return crop, in_a, in_b, (in_a & grow_b) | (in_b & grow_a)


def _t_junction(owner: np.ndarray, ra, rb, beneath=(BG,)) -> int:
    """T-junction ("the bar continues past the stem") for two objects that meet along a
    straight outline: the object on top owns that edge, so its outline runs on, in line,
    past where the one beneath stops; the one beneath turns away there. +1: ``ra`` on top,
    -1: ``rb`` on top, 0: no evidence (not straight, both or neither go on)."""
    h, w = owner.shape
    if ra.kind not in ("shape", "photo") or rb.kind not in ("shape", "photo") or \
            min(ra.area, rb.area) < TJ_MIN_AREA * h * w or ra.label in beneath or rb.label in beneath:
        return 0  # (a glow lies beneath what it hugs whatever its outline shows)
    crop, in_a, in_b, shared = _shared_outline(owner, ra, rb, 18)
    ys, xs = np.nonzero(shared)
    if ys.size < TJ_MIN_SHARED:
        return 0
    pts = np.stack([xs, ys], 1).astype(np.float32)
    # only an edge against the background (or a shadow or glow, always beneath) is surely
    # the object's own; against a third object it may be that object's edge
    other = np.isin(crop, list(beneath))
    grow_o = cv2.dilate(other.astype(np.uint8), CROSS).astype(bool)
    # an edge runs on with the object's body behind it: a rim a pixel or two wide (an
    # anti-aliased outline of a neighbour taken into this region) is no edge of its own
    body_a, body_b = _body(in_a), _body(in_b)
    votes = set()
    for c, u, nrm, t0, t1 in _straight_pieces(pts):
        reach = float(np.clip(0.5 * (t1 - t0), 6.0, 16.0))

        def goes_on(mine):
            """Per end: the share of the stretch past it along which ``mine``'s outline runs."""
            oy, ox = np.nonzero(mine & grow_o)
            q = np.stack([ox, oy], 1).astype(np.float32) - c
            tq, oq = q @ u, q @ nrm
            near = np.abs(oq) <= TJ_NEAR
            out = []
            for lo, hi in ((t0 - reach, t0 - 1.0), (t1 + 1.0, t1 + reach)):
                sel = near & (tq >= lo) & (tq <= hi)
                out.append(np.unique(np.round(tq[sel])).size / max(1.0, hi - lo + 1.0))
            return out

        for ea, eb in zip(goes_on(body_a), goes_on(body_b)):
            if ea >= TJ_ON and eb <= TJ_OFF:
                votes.add(1)
            elif eb >= TJ_ON and ea <= TJ_OFF:
                votes.add(-1)
    return votes.pop() if len(votes) == 1 else 0


def _pinned(side: np.ndarray, seen: np.ndarray) -> bool:
    """Whether a straight stretch of outline (``side``) lies in line with outline the region
    shows against the background (``seen``) past its ends. A straight side seen nowhere is
    only where the region stops: a fit puts its edge there whatever lies on top (a card that
    abuts another owns the side they share by its fit alone). A bent or short stretch is
    pinned by the rest of the outline's curve."""
    ys, xs = np.nonzero(side)
    if ys.size < TJ_MIN_SHARED:
        return True
    pts = np.stack([xs, ys], 1).astype(np.float32)
    u, nrm, c = _line(pts)
    t = (pts - c) @ u
    if float(np.abs((pts - c) @ nrm).mean()) > TJ_STRAIGHT:
        return True
    t0, t1 = float(t.min()), float(t.max())
    if t1 - t0 < TJ_SIDE:
        return True   # a short stretch: a corner's arc as often as a side
    sy, sx = np.nonzero(seen & ~side)
    q = np.stack([sx, sy], 1).astype(np.float32) - c
    tq, oq = q @ u, q @ nrm
    past = (np.abs(oq) <= TJ_NEAR) & (((tq >= t0 - TJ_REACH) & (tq < t0 - 1.0)) | ((tq > t1 + 1.0) & (tq <= t1 + TJ_REACH)))
    return np.unique(np.round(tq[past])).size >= TJ_PINNED


def _body(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its parts under three pixels wide (an opening)."""
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)


def _line(pts: np.ndarray):
    vx, vy, cx, cy = cv2.fitLine(pts, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.array([vx, vy]), np.array([-vy, vx]), np.array([cx, cy])


def _straight_pieces(pts: np.ndarray):
    """The straight stretches of a shared outline, as (centre, direction, normal, start,
    end) along the line. One line when the whole outline is straight; else up to two
    pieces (the sides of the upper object's corner that lies over the lower one: a
    rectangle's corner on a card meets it along an L, and each leg ends in a T-junction)."""
    u, nrm, c = _line(pts)
    t, off = (pts - c) @ u, (pts - c) @ nrm
    if float(np.abs(off).mean()) <= TJ_STRAIGHT:
        return [(c, u, nrm, float(np.percentile(t, 2)), float(np.percentile(t, 98)))]
    pieces, left = [], pts
    for _ in range(2):
        piece = _longest_run(left)
        if piece is None:
            break
        keep, line = piece
        pieces.append(line)
        left = left[~keep]
    return pieces


def _longest_run(pts: np.ndarray):
    """The longest straight, gap-free run of outline pixels (tried along the lines through
    pairs of them, deterministically), refitted: (mask of its pixels, line) or None."""
    n = len(pts)
    if n < TJ_MIN_SHARED:
        return None
    rng = np.random.default_rng(n)
    pairs = rng.integers(0, n, (TJ_TRIES, 2))
    best, best_len = None, 0.0
    for i, j in pairs:
        d = pts[j] - pts[i]
        norm = float(np.hypot(*d))
        if norm < 8.0:
            continue
        u = d / norm
        off = np.abs((pts - pts[i]) @ np.array([-u[1], u[0]]))
        on = off <= 1.0
        t = (pts - pts[i]) @ u
        ts = np.sort(t[on])
        # the gap-free stretch around the pair
        cuts = np.flatnonzero(np.diff(ts) > 3.0)
        lo = np.searchsorted(ts, 0.0) if ts.size else 0
        starts = np.concatenate([[0], cuts + 1])
        ends = np.concatenate([cuts, [ts.size - 1]])
        k = int(np.searchsorted(starts, lo, side="right") - 1)
        if k < 0:
            continue
        a, b = ts[starts[k]], ts[ends[k]]
        if b - a > best_len:
            best_len, best = b - a, (pts[i], u, a, b)
    if best is None or best_len < TJ_PIECE:
        return None
    p0, u, a, b = best
    t = (pts - p0) @ u
    keep = (np.abs((pts - p0) @ np.array([-u[1], u[0]])) <= 1.0) & (t >= a) & (t <= b)
    if int(keep.sum()) < TJ_MIN_SHARED:
        return None
    u, nrm, c = _line(pts[keep])
    t, off = (pts[keep] - c) @ u, (pts[keep] - c) @ nrm
    if float(np.abs(off).mean()) > TJ_STRAIGHT:
        return None
    return keep, (c, u, nrm, float(t.min()), float(t.max()))


CROSS_REACH = 6        # px around a crossing looked at
CROSS_ON, CROSS_OFF = 3.0, 1.0   # px a stroke runs on past a crossing's ends / stops within


def _stroke_crossings(owner: np.ndarray, ra, rb) -> int:
    """Where two words' strokes cross, the stroke on top passes: its pixels along each short
    piece of outline the two share run on past both ends of it, while the stroke beneath is
    cut there and its pixels stop at the ends (the T-junction at the scale of a stroke, read
    from the pixels, since a stroke's edge against the background is too short and too
    soft to fit a line to). +1: ``ra`` on top, -1: ``rb``, 0: no majority."""
    r = CROSS_REACH
    _, in_a, in_b, shared = _shared_outline(owner, ra, rb, r)
    n, pieces = cv2.connectedComponents(shared.astype(np.uint8), connectivity=8)
    pa = np.stack(np.nonzero(in_a)[::-1], 1).astype(np.float32)
    pb = np.stack(np.nonzero(in_b)[::-1], 1).astype(np.float32)
    votes = 0
    for j in range(1, n):
        ys, xs = np.nonzero(pieces == j)
        if not 3 <= ys.size <= 60:   # a crossing, not a long shared edge
            continue
        p = np.stack([xs, ys], 1).astype(np.float32)
        m = p.mean(0)
        _, _, vt = np.linalg.svd(p - m, full_matrices=False)
        u, nrm = vt[0], vt[1]
        t = (p - m) @ u
        t0, t1 = float(t.min()), float(t.max())
        if t1 - t0 < 2.0:
            continue

        def past(q):
            """How far ``q``'s pixels next to the piece run on past each of its ends."""
            d = q - m
            tq, oq = d @ u, d @ nrm
            tq = tq[(np.abs(oq) <= 2.0) & (np.abs(tq) <= 0.5 * (t1 - t0) + r)]
            if tq.size == 0:
                return 0.0, 0.0
            return max(0.0, float(tq.max()) - t1), max(0.0, t0 - float(tq.min()))

        ea, eb = past(pa), past(pb)
        if min(ea) >= CROSS_ON and max(eb) <= CROSS_OFF:
            votes += 1
        elif min(eb) >= CROSS_ON and max(ea) <= CROSS_OFF:
            votes -= 1
    return int(np.sign(votes))


def _outer_share(owner: np.ndarray, r, other: int, aside=()) -> float:
    """Share of the ring just outside ``r``'s outer outline (its holes filled) that is
    ``other``, not counting the ring's pixels of the regions ``aside``."""
    h, w = owner.shape
    x0, y0, x1, y1 = r.bbox
    x0, y0, x1, y1 = max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)
    crop = owner[y0:y1, x0:x1]
    filled = ndimage.binary_fill_holes(crop == r.label)
    ring = crop[cv2.dilate(filled.astype(np.uint8), CROSS).astype(bool) & ~filled]
    if len(aside):
        ring = ring[~np.isin(ring, list(aside))]
    return float((ring == other).sum()) / max(1, int(ring.size))


def _lies_on(owner: np.ndarray, ra, rb, share_a: float, share_b: float):
    """A region whose outline mostly touches another lies on it (a word on its card), but
    only when its *outer* outline does: a card with a word on it touches the word mostly
    along the holes the glyphs leave in it, which says the word is on top, not the card."""
    for up, low, share in ((ra, rb, share_a), (rb, ra, share_b)):
        other = share_b if up is ra else share_a
        if share >= 0.5 and share > other and _outer_share(owner, up, low.label) >= 0.5:
            return (up.label, low.label), float(share)
    return None


FALL_EDGE = 2.0     # px from a shadow: the band of a neighbour where a shadow on it is strongest ...
FALL_NEAR = 4.0     # ... and the band after it, where it fades
FALL_FAR = (7.0, 14.0)  # ... against the neighbour's own colour farther in
FALL_ALPHA = 0.1    # median strength of the darkening towards the shadow's colour at its edge needed
FALL_MISS = 0.03    # median RGB miss of that blend allowed
FALL_MIN = 12       # pixels each band needs


def _shadow_falls_on(owner: np.ndarray, rgb: np.ndarray, sh, x) -> bool:
    """Whether shadow ``sh`` goes on darkening shape ``x`` where they meet: under a soft
    shadow a shape has no edge, so the darkened part of it is taken into its region and the
    shadow seems to stop at its outline, as it would beside something lying on it. Read
    on ``x``'s pixels just inside the shared outline against its own colour farther in:
    darkened towards the shadow's colour at the outline and fading inwards, the shadow is
    over it. A shape lying on the shadow (its caster among them) keeps its colour up to its
    edge. Shapes only: a picture's pixels by its edge are not its colour farther in."""
    if x.kind != "shape" or x.area < 4 * FALL_MIN:
        return False
    pad = int(FALL_FAR[1]) + 1
    h, w = owner.shape
    x0, y0, x1, y1 = _union_box(sh.bbox, x.bbox)
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    crop = owner[y0:y1, x0:x1]
    d = cv2.distanceTransform((crop != sh.label).astype(np.uint8), cv2.DIST_L2, 3)
    mine = crop == x.label
    edge = mine & (d < FALL_EDGE)
    near = mine & (d >= FALL_EDGE) & (d <= FALL_NEAR)
    far = mine & (d >= FALL_FAR[0]) & (d <= FALL_FAR[1])
    if edge.sum() < FALL_MIN or near.sum() < FALL_MIN or far.sum() < FALL_MIN:
        return False
    img = rgb[y0:y1, x0:x1]
    own = np.median(img[far], axis=0).astype(np.float32)
    col = sh.rgb.astype(np.float32)
    a_edge, miss = blend_residual(img[edge].astype(np.float32), np.broadcast_to(own, (int(edge.sum()), 3)), col)
    a_near, _ = blend_residual(img[near].astype(np.float32), np.broadcast_to(own, (int(near.sum()), 3)), col)
    strong = float(np.median(a_edge))
    return strong >= FALL_ALPHA and strong > float(np.median(a_near)) and float(np.median(miss)) <= FALL_MISS


def _shadows_under_their_casters(seg: Segmentation, above: dict, contact: np.ndarray,
                                 guessed: set = frozenset()) -> None:
    """A drop shadow lies right under the object that casts it (the neighbour it shares
    most outline with), so over what that object lies on: a card's shadow falling on a
    shape beneath the card darkens that shape. The pair test puts a shadow under all it
    touches; this lifts it over the shapes, pictures and words its caster is seen to lie on
    (a word only where the caster's edge is seen to cut it: a stroke put above or under a
    shape by default (``guessed``), or a speck of one that barely meets the caster, says
    nothing of the order)."""
    h, w = seg.owner.shape
    for reg in seg.regions:
        if reg.kind != "shadow" or reg.area < SHADOW_LIFT_AREA * h * w:
            continue  # a crumb of darkening says nothing of what casts it
        s_lbl = reg.label
        near = [int(b) for b in np.flatnonzero(contact[s_lbl]) if b != BG
                and seg.region(int(b)).kind != "shadow"]
        if len(near) < 2:
            continue
        caster = reg.extras.get("caster")   # known where it was found by its caster's shape
        grounds = reg.extras.get("on")
        for ground in (grounds if isinstance(grounds, list) else [grounds]):
            if caster in near and ground in near:
                # found on a picture as its caster's shape, offset and blurred (overlays): the
                # caster is seen to lie on that picture, whatever their shared outline suggests
                above.pop((ground, caster), None)
                above[(caster, ground)] = max(above.get((caster, ground), 0.0), 0.9)
        if caster not in near:
            caster = max(near, key=lambda b: contact[s_lbl, b])
            if contact[s_lbl, caster] < SHADOW_LIFT_HUG * contact[s_lbl].sum():
                continue  # it does not hug one object: no caster to go by
        for x in near:
            if seg.region(x).kind in _STROKES and ((caster, x) in guessed or (x, caster) in guessed
                                                   or contact[caster, x] < SHADOW_LIFT_CUT):
                continue
            if x != caster and above.get((caster, x), 0.0) > SHADOW_LIFT_SURE and (x, s_lbl) in above:
                del above[(x, s_lbl)]
                above[(s_lbl, x)] = 0.9


def _glows_over_their_ground(seg: Segmentation, above: dict, contact: np.ndarray) -> None:
    """A glow found lying over pictures or cards (``regions._glow_on_ground``: it was fitted
    against them) lies over them, whatever the pair test guessed: its host no longer touches
    them, the glow's ring lies between, so nothing else says its host is above them. (Its
    host is the object it shares most outline with.)"""
    for reg in seg.regions:
        over = reg.extras.get("over") if reg.kind == "shadow" else None
        if over is None or not over.any():
            continue
        row = contact[reg.label].astype(np.float64).copy()
        row[BG] = 0
        host = int(np.argmax(row))
        ring = cv2.dilate(over.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~over
        for x in np.unique(seg.owner[ring]):
            x = int(x)
            if x in (BG, reg.label, host) or seg.region(x).kind not in ("shape", "photo"):
                continue
            above.pop((x, reg.label), None)
            above[(reg.label, x)] = max(above.get((reg.label, x), 0.0), 0.9)


def _tint_order(seg: Segmentation, a: int, b: int) -> tuple[int, int] | None:
    """(upper, lower) as a translucent shape's own colours say (``tints._tint_neighbours``:
    it shows what it covers), or None."""
    over, under = set(), set()
    for t, o in ((a, b), (b, a)):
        ex = seg.region(t).extras
        if "tint_over" in ex:
            theirs = seg.owner == o
            if (ex["tint_over"] & theirs).any():
                over.add((t, o))
            elif (ex["tint_under"] & theirs).any():
                under.add((o, t))
    if len(over) == 1:
        return over.pop()
    # two translucent shapes that only meet: each shows the photo by the other, no verdict
    return under.pop() if len(under) == 1 and not over else None


def _continues(cues, a: int, b: int, area_a: int, contact: int) -> bool:
    """Does ``a``'s fitted shape continue under ``b`` by a meaningful amount? A band
    along the shared outline (``b`` took some of ``a``'s rim) is not: the hidden part
    must be deep, not just long."""
    c = cues.get(a)
    return c is not None and c[0][b] >= max(6, 0.01 * area_a, 2.0 * contact)


def _owns(cues, a: int, b: int) -> bool:
    """Does the outline ``a`` shares with ``b`` run along ``a``'s own fitted edge?"""
    c = cues.get(a)
    return c is not None and c[1][b] >= 0.8


def _same_line_same_side(seg: Segmentation, above: dict, guessed: set) -> None:
    """Pieces of one line of text lie on one side of a shape that cuts the line: when the
    shape's edge is seen to cut some pieces (it lies above them), the other pieces of that
    line (same colour, same band of rows) that were put above the shape only by default go
    under it too, so the word is not split between two layers."""
    for (q, s_lbl), conf in list(above.items()):
        rs = seg.region(s_lbl)
        if conf != 0.65 or rs.kind not in _STROKES or seg.region(q).kind in _STROKES:
            continue
        for (t, q2) in list(guessed):
            if q2 != q or (t, q) not in above:
                continue
            rt = seg.region(t)
            rows = min(rs.slc[0].stop, rt.slc[0].stop) - max(rs.slc[0].start, rt.slc[0].start)
            if rows < 0.5 * min(rs.height, rt.height) or float(np.linalg.norm(rs.lab - rt.lab)) > 12.0:
                continue
            del above[(t, q)]
            guessed.discard((t, q))
            above[(q, t)] = 0.62


def _word_on_picture(ra, rb) -> bool:
    """A stroke and a picture: the picture's outline stays whole where a word meets it whichever
    lies on top, since text over a picture often goes into the picture's region there."""
    return "photo" in (ra.kind, rb.kind) and (ra.kind in _STROKES or rb.kind in _STROKES)


def _whole(cues, a: int, b: int) -> bool:
    """Is ``a`` a whole convex primitive with the outline it shares with ``b`` on its edge?"""
    c = cues.get(a)
    return c is not None and c[2][b] >= 0.7


GLOW_SHARP = 0.35     # a soft region (no crisp edge against the background) ...
GLOW_HUGS = 0.3       # ... that shares this much of its outline with one object is its glow
CRUMB = 0.00005        # share of the canvas below which a region is a crumb: it takes no layer
GLOW_MIN = 0.005      # share of the canvas a glow covers (a crumb of one says nothing) ...
GLOW_PIECE = 0.0001   # ... or a soft flat piece of one: a faint glow's core arrives as narrow strips
                      # along its object's sides, each small (a soft thin sliver is a glyph's rim)


def _glows_follow_their_hosts(seg: Segmentation, above: dict, contact: np.ndarray,
                              perimeter: np.ndarray) -> dict[int, int]:
    """A glow (a soft halo hugging one object; a narrow one has no flat core and arrives as a
    soft "thin" region) lies right beneath that object, and stands to
    every other object as its host does: it is translucent, so a picture seen through it looks
    as if it cut the glow, and the glow's own outline says nothing about the order. Returns
    glow -> host."""
    hosts: dict[int, int] = {}
    for r in seg.regions:
        if r.kind not in ("shape", "thin") or r.sharp >= GLOW_SHARP or \
                r.area < (GLOW_PIECE if r.kind == "shape" else GLOW_MIN) * seg.owner.size:
            continue
        row = contact[r.label].astype(np.float64).copy()
        row[BG] = 0
        for o in seg.regions:
            if o.kind == "shadow" or o.sharp < GLOW_SHARP:
                row[o.label] = 0
        host = int(np.argmax(row))
        if row[host] < GLOW_HUGS * perimeter[r.label] or seg.region(host).area < r.area:
            continue
        hosts[r.label] = host
    for g, host in hosts.items():
        for (up, low) in list(above):
            if g not in (up, low):
                continue
            x = low if up == g else up
            if x == host or seg.region(x).kind == "shadow":
                continue
            if (x, host) in above and up == g:      # host beneath x: so is its glow
                del above[(up, low)]
                above[(x, g)] = above[(x, host)]
            elif (host, x) in above and low == g:   # host over x: so is its glow
                del above[(up, low)]
                above[(g, x)] = above[(host, x)]
        above[(host, g)] = max(above.get((host, g), 0.0), 0.9)
        above.pop((g, host), None)
    return hosts


def _topological(seg: Segmentation, above: dict[tuple[int, int], float],
                 contact: np.ndarray | None = None, hosts: dict[int, int] | None = None) -> list[int]:
    """Bottom-to-top order honouring the strongest relations; weak ones yield in cycles.
    A shadow goes right beneath its caster (the object above it it shares most outline
    with), as a drop shadow is drawn, not at the bottom of everything."""
    labels = [r.label for r in seg.regions]
    below_of = {lbl: {} for lbl in labels}   # node -> {lower: conf}
    for (up, low), conf in above.items():
        below_of[up][low] = max(conf, below_of[up].get(low, 0.0))
    kind_rank = {"shadow": 0, "photo": 1, "shape": 2, "text": 3, "thin": 3}
    crumb = CRUMB * seg.owner.size
    remaining = set(labels)
    order = []

    caster: dict[int, int] = {}
    if contact is not None:
        for (up, low) in above:
            if seg.region(low).kind == "shadow" and seg.region(up).kind != "shadow" and \
                    (low not in caster or contact[low, up] > contact[low, caster[low]]):
                caster[low] = up
        for (up, low) in above:  # found by its caster's shape (overlays): that one
            if seg.region(low).extras.get("caster") == up:
                caster[low] = up
    caster.update(hosts or {})  # a glow too goes right beneath what it surrounds
    # two shadows (or glows) of different casters stand as their casters do: what the pair
    # test read from the few pixels where they touch (a glow's rim meeting a picture's drop
    # shadow at a corner) would drag one caster's shadow under the other's, away from its own
    for up in labels:
        for low in list(below_of[up]):
            if seg.region(up).kind == "shadow" and seg.region(low).kind == "shadow" and \
                    up in caster and low in caster and caster[up] != caster[low]:
                del below_of[up][low]

    def key(lbl):
        r = seg.region(lbl)
        if lbl in caster:  # ranked as its caster, just before it
            c = seg.region(caster[lbl])
            return (kind_rank.get(c.kind, 2), -c.area, caster[lbl], 0)
        return (kind_rank.get(r.kind, 2), -r.area, lbl, 1)

    def inherited():
        """Each region's key; a crumb takes a lower one of a region that must lie above it, so
        a few pixels a picture covers go right before that picture and cannot hold it back
        behind unrelated text that ranks after it. (Passed down through bigger regions too,
        the key would pull a frame and the picture on it below every free shape.)"""
        eff = {lbl: key(lbl) for lbl in remaining}
        changed = True
        while changed:
            changed = False
            for up in remaining:
                for low in below_of[up]:
                    if low in remaining and seg.region(low).area < crumb and eff[up] < eff[low]:
                        eff[low] = eff[up]
                        changed = True
        return eff

    def waits(lbl):
        """A shadow waits for what else its caster lies on, so nothing unrelated comes
        between them (a drop shadow is drawn right beneath its caster)."""
        c = caster.get(lbl)
        return c in remaining and any(low != lbl and caster.get(low) != c
                                      for low in set(below_of[c]) & remaining)

    def caster_lowest(ready):
        """Of shadows all waiting, those whose caster lies under no other's caster among them:
        they go first, as their casters lie."""
        return [lbl for lbl in ready if not any(
            m != lbl and caster.get(m) not in (None, caster.get(lbl)) and lbl in caster
            and _reaches(below_of, caster[lbl], caster[m]) for m in ready)]

    _break_cycles(below_of)
    eff = inherited()
    while remaining:
        ready = [lbl for lbl in remaining if not (set(below_of[lbl]) & remaining)]
        # a shadow still waiting on its caster's other under-regions is released when
        # nothing else can go (those wait on shadows waiting in turn)
        ready = [lbl for lbl in ready if not waits(lbl)] or caster_lowest(ready) or ready
        nxt = min(ready, key=lambda lbl: (eff[lbl], key(lbl)))
        order.append(nxt)
        remaining.discard(nxt)
    return order


def _break_cycles(below_of: dict[int, dict[int, float]]) -> None:
    """Drop, weakest first, each relation that lies on a cycle of the relations, before any
    region is placed: a cycle left to the end holds all its regions back behind everything
    unrelated (a title behind every other word because of a two-pixel crumb's guess), and only
    a relation on a cycle may go (one elsewhere is evidence the order still needs)."""
    for _, up, low in sorted((c, up, low) for up, lows in below_of.items() for low, c in lows.items()):
        if _reaches(below_of, low, up):
            del below_of[up][low]


def _reaches(below_of: dict[int, dict[int, float]], start: int, goal: int) -> bool:
    """Does ``start`` lie above ``goal`` through the relations?"""
    seen, todo = {start}, [start]
    while todo:
        for low in below_of[todo.pop()]:
            if low == goal:
                return True
            if low not in seen:
                seen.add(low)
                todo.append(low)
    return False

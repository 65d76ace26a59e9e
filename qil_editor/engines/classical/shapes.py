"""Complete a partly covered object by fitting a simple shape to its visible outline.

Designs are built from a few primitives: rectangles (rounded or not), ellipses,
polygons with a handful of sides, photos in rectangular or oval frames. When
something lies on top of one, the part of its outline that borders the
background (or what lies beneath it) is still its own; the part that borders
the object on top is not. An ellipse fitted to the trustworthy outline, or a
polygon whose visible sides are extended until they meet, gives the covered
part. A fit is accepted only if it explains the visible outline to about a
pixel, contains the visible region, and adds pixels only where the objects on
top hide them, so a fit can never show up in the composite.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_FIT_ERROR = 1.0     # mean distance (px) of the trustworthy outline to the fitted one
MIN_OUTLINE = 12        # trustworthy outline pixels needed to fit anything
_SHIFT = 4              # fixed-point bits for sub-pixel drawing
ROBUST_ROUNDS = 3       # refits of an ellipse without the outline points far from it
INLIER_SHARE = 0.7      # share of the trustworthy outline a robust ellipse is judged on
ROUND_MIN = 4.0         # corner radius (px) from which a rounded rectangle vies with the rest


def hull_mask(mask: np.ndarray) -> np.ndarray:
    """The convex hull of a mask's pixels, filled (all False for an empty mask)."""
    out = np.zeros(mask.shape, np.uint8)
    pts = cv2.findNonZero(mask.astype(np.uint8))
    if pts is not None:
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return out.astype(bool)


def outline(mask: np.ndarray) -> np.ndarray | None:
    """The longest outer contour of ``mask`` as (N, 2) int points (x, y), or None."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    best = max(contours, key=len)
    return best[:, 0, :] if len(best) >= 3 else None


def _draw_ellipse(shape, box) -> np.ndarray:
    (cx, cy), (bw, bh), ang = box
    out = np.zeros(shape, np.uint8)
    s = 1 << _SHIFT
    cv2.ellipse(out, (int(round(cx * s)), int(round(cy * s))),
                (int(round(bw * s / 2)), int(round(bh * s / 2))), ang, 0, 360, 255, -1,
                cv2.LINE_AA, _SHIFT)
    return out.astype(np.float32) / 255.0


def _draw_polygon(shape, pts: np.ndarray) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    s = 1 << _SHIFT
    # pixel centres are at integer coordinates in the contour, cv2 draws them at +0.5
    cv2.fillPoly(out, [np.round(pts * s).astype(np.int32)], 255, cv2.LINE_AA, _SHIFT)
    return out.astype(np.float32) / 255.0


def _ellipse_distance(pts: np.ndarray, box) -> np.ndarray:
    """Approximate distance (px) of points (N, 2) to the outline of ellipse ``box``: along the
    ray from the centre, |p| * |1 - 1/r| with r the point's normalised radius."""
    (cx, cy), (bw, bh), ang = box
    t = np.radians(ang)
    dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
    u, v = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
    r = np.sqrt((u / max(bw / 2, 1e-6)) ** 2 + (v / max(bh / 2, 1e-6)) ** 2)
    return np.hypot(u, v) * np.abs(1.0 - 1.0 / np.maximum(r, 1e-6))


def _circle(pts: np.ndarray):
    """The least-squares circle through (N, 2) points as an ellipse box, or None."""
    x, y = pts[:, 0].astype(np.float64), pts[:, 1].astype(np.float64)
    a = np.stack([x, y, np.ones_like(x)], 1)
    sol, *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
    cx, cy = sol[0] / 2, sol[1] / 2
    r2 = sol[2] + cx * cx + cy * cy
    if not np.isfinite(r2) or r2 <= 4.0:
        return None
    d = 2.0 * float(np.sqrt(r2))
    return (float(cx), float(cy)), (d, d), 0.0


def _robust_ellipse(pts: np.ndarray):
    """``cv2.fitEllipse`` refitted without the outline points far from it, and the inliers.

    A shadow's rim or a speck left on the trustworthy outline pulls a least-squares ellipse
    off by pixels all round (then no fit passes); a few refits on the points within
    max(1.5 px, 2.5 x the median distance) of the last fit find the disc they stick out of."""
    keep = np.ones(len(pts), bool)
    box = cv2.fitEllipse(pts)
    for _ in range(ROBUST_ROUNDS):
        d = _ellipse_distance(pts, box)
        new = d <= max(1.5, 2.5 * float(np.median(d)))
        if new.sum() < max(5, MIN_OUTLINE) or (new == keep).all():
            break
        keep = new
        box = cv2.fitEllipse(pts[keep])
    return box, keep


def _intersect(l1, l2):
    """Intersection of two lines given as (point, direction); None when near parallel."""
    (p, d), (q, e) = l1, l2
    cross = d[0] * e[1] - d[1] * e[0]
    if abs(cross) < np.sin(np.radians(8.0)):
        return None
    t = ((q[0] - p[0]) * e[1] - (q[1] - p[1]) * e[0]) / cross
    return p + t * d


def _sides(contour: np.ndarray, real: np.ndarray, centre: np.ndarray,
           offset: float = 0.0) -> list | None:
    """The trustworthy straight runs of ``contour`` (``real`` flags its points), in order
    along it, as lines (point, direction, length); None for a run too short or not trustworthy
    (the facets of a rounded corner, the outline along what covers it). None when the
    outline does not simplify to a few runs."""
    n = len(contour)
    peri = float(cv2.arcLength(contour.reshape(-1, 1, 2).astype(np.int32), True))
    approx = cv2.approxPolyDP(contour.reshape(-1, 1, 2).astype(np.int32), max(1.2, 0.006 * peri), True)
    if len(approx) < 3 or len(approx) > 40:
        return None
    # indices of the approximation's vertices along the contour
    # (the last index where the contour passes through it, as the contour may pass twice)
    keys = contour[::-1, 0].astype(np.int64) * (1 << 24) + contour[::-1, 1].astype(np.int64)
    at = approx[:, 0, 0].astype(np.int64) * (1 << 24) + approx[:, 0, 1].astype(np.int64)
    same = keys[None, :] == at[:, None]
    if not same.any(axis=1).all():
        return None
    idx = sorted((n - 1 - np.argmax(same, axis=1)).tolist())
    lines = []
    for k in range(len(idx)):
        a, b = idx[k], idx[(k + 1) % len(idx)]
        seg = np.arange(a, b + 1) if b > a else np.concatenate([np.arange(a, n), np.arange(0, b + 1)])
        ok = real[seg]
        length = float(np.hypot(*(contour[b] - contour[a])))
        # short runs (the facets of a rounded corner) say too little about a side's direction
        if length < max(6.0, 0.04 * peri) or ok.mean() < 0.6:
            lines.append(None)
            continue
        pts = contour[seg][ok].astype(np.float32)
        vx, vy, x0, y0 = cv2.fitLine(pts, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        p = np.array([x0, y0], np.float64)
        # the outline runs through the centres of the outermost pixels; the edge itself
        # lies half a pixel further out (``offset`` 0.5 draws it there)
        normal = np.array([-vy, vx], np.float64)
        if float(np.dot(normal, centre - p)) > 0:
            normal = -normal
        d = np.array([vx, vy], np.float64)
        if float(np.dot(contour[b] - contour[a], d)) < 0:
            d = -d  # along the outline's own direction, so a closing side knows which way
        lines.append((p + offset * normal, d, length))
    return lines


def _polygon(contour: np.ndarray, real: np.ndarray, centre: np.ndarray,
             offset: float = 0.0, pixels: np.ndarray | None = None,
             guess: bool = False, allowed: np.ndarray | None = None) -> np.ndarray | None:
    """Vertices of the polygon whose visible sides are the trustworthy straight runs of
    ``contour`` (``real`` flags its points), extended under what covers the rest.

    Two consecutive sides that are parallel (a rectangle whose whole far side is hidden)
    or spread apart going under what covers them (a quadrilateral whose top side and top
    corners are hidden: they meet only behind the visible part) are closed by a side square
    to the way they run through the farthest visible part (``pixels``, (N, 2) x, y of the
    region): the least the object must reach under what covers it. With ``guess`` two
    seen sides meeting at a slant are enough (a triangle whose third side is hidden: the
    closing side is all that is missing), and two sides that would meet only outside
    ``allowed`` (where hidden parts may be) are closed the same way: a hidden short side
    cuts the corner they would make beyond what covers them."""
    lines = _sides(contour, real, centre, offset)
    if lines is None:
        return None
    kept = [ln[:2] for ln in lines if ln is not None]
    if len(kept) < 3 and not (guess and len(kept) == 2 and pixels is not None):
        return None
    # merge consecutive collinear runs (one side broken by something on top of it)
    merged = []
    for ln in kept:
        if merged:
            p, d = merged[-1]
            q, e = ln
            dist = abs((q[0] - p[0]) * d[1] - (q[1] - p[1]) * d[0])
            if abs(d[0] * e[1] - d[1] * e[0]) < np.sin(np.radians(4.0)) and dist < 2.0:
                continue
        merged.append(ln)
    if len(merged) >= 2:
        p, d = merged[0]
        q, e = merged[-1]
        dist = abs((q[0] - p[0]) * d[1] - (q[1] - p[1]) * d[0])
        if abs(d[0] * e[1] - d[1] * e[0]) < np.sin(np.radians(4.0)) and dist < 2.0:
            merged.pop()
    if len(merged) < 2 or (len(merged) == 2 and not _two_sides(merged)):
        return None
    hides = None
    if guess and allowed is not None and pixels is not None:
        hides = cv2.dilate(allowed.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    verts = []
    for k in range(len(merged)):
        (p, d), nxt = merged[k], merged[(k + 1) % len(merged)]
        q, e = nxt
        v = _intersect(merged[k], nxt)
        beyond = hides is not None and v is not None and not _within(hides, v)
        if (float(np.dot(d, e)) >= 0 or pixels is None) and not beyond:
            if v is None:
                return None  # not two opposite sides of one shape
            verts.append(v)
            continue
        # the way both sides run into what covers them (the side before runs into it along
        # its direction, the one after comes out of it)
        m = d - e
        m = m / max(1e-9, float(np.linalg.norm(m)))
        reach = float(np.percentile(pixels @ m, 99)) + offset
        if v is not None and float(v @ m) >= reach - 2.0 and not beyond:
            verts.append(v)  # they meet at or beyond the far end of the visible part
            continue
        apart = abs((q[0] - p[0]) * d[1] - (q[1] - p[1]) * d[0])
        if apart < 4.0:
            return None  # one side broken, not two opposite ones
        # parallel or spreading apart under the cover: the hidden side closes them square
        # to the way they run, through the farthest visible part
        close = (reach * m, np.array([-m[1], m[0]]))
        a, b = _intersect(merged[k], close), _intersect(close, nxt)
        if a is None or b is None:
            return None
        verts += [a, b]
    if len(verts) < 3:
        return None
    return np.array(verts, np.float64)


def _within(mask: np.ndarray, pt: np.ndarray) -> bool:
    """Does point ``pt`` (x, y) fall on ``mask``?"""
    x, y = int(round(float(pt[0]))), int(round(float(pt[1])))
    return 0 <= y < mask.shape[0] and 0 <= x < mask.shape[1] and bool(mask[y, x])


def _two_sides(lines: list) -> bool:
    """May two seen sides (point, direction) alone make a polygon, closed under the cover by
    a side square to the way they spread? Only when they meet at a slant: two parallel
    sides are a band, two square ones a rectangle's corner (``_frame`` completes those)."""
    (_, d), (_, e) = lines
    turn = abs(float(d[0] * e[1] - d[1] * e[0])) / float(np.linalg.norm(d) * np.linalg.norm(e))
    return np.sin(np.radians(8.0)) <= turn <= np.cos(np.radians(8.0))


def _frame(lines: list | None, pixels: np.ndarray) -> np.ndarray | None:
    """The direction of a rectangle's sides (unit (2,) vector), when at least two of the
    trustworthy straight runs (``_sides``) are parallel or square to the longest one (the
    facets of a rounded corner in between say nothing against it); None otherwise.

    The runs give it to a degree or so (a run takes in the start of a rounded corner); it
    is then the direction within 3 degrees of theirs in which the box around the visible
    part (``pixels``, (N, 2) x, y) is smallest: a card's sides hug it."""
    kept = [ln for ln in (lines or []) if ln is not None]
    if len(kept) < 2:
        return None
    d = max(kept, key=lambda ln: ln[2])[1]
    d = d / np.linalg.norm(d)
    square, votes = 0, 0j
    for _, e, length in kept:
        turn = abs(float(d[0] * e[1] - d[1] * e[0])) / float(np.linalg.norm(e))
        if min(turn, 1.0 - turn) <= np.sin(np.radians(3.0)):
            square += 1
            # the sides' common direction (modulo a right angle), longer sides weigh more
            votes += length * np.exp(4j * np.arctan2(e[1], e[0]))
    if square < 2:
        return None
    ang = np.angle(votes) / 4
    # of the four equivalent directions, the one nearest the longest side's
    ang += np.pi / 2 * np.round((np.arctan2(d[1], d[0]) - ang) / (np.pi / 2))
    hull = cv2.convexHull(pixels.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    tries = ang + np.radians(np.arange(-3.0, 3.01, 0.1))
    dirs = np.stack([np.cos(tries), np.sin(tries)], 1)
    u, v = hull @ dirs.T, hull @ np.stack([-dirs[:, 1], dirs[:, 0]], 1).T
    return dirs[int(np.argmin(np.ptp(u, 0) * np.ptp(v, 0)))]


def _span(body: np.ndarray, sides: np.ndarray) -> tuple[tuple[float, float], tuple[bool, bool]]:
    """The extent of a rectangle along one direction: ``body`` holds the visible part's
    pixels projected on it, ``sides`` the positions of the seen sides square to it (fitted
    lines of trustworthy outline). An end of the visible part with a seen side within 3 px
    of it is where that side lies: rim pixels of text lying across the side, taken in with
    the card, do not push it out; an end with no side seen is as far as the visible part
    reaches (the least a covered card must reach). Also says, per end, whether a seen side
    fixes it."""
    out = [float(body.min()), float(body.max())]
    seen = [False, False]
    for i in range(2):
        near = sides[np.abs(sides - out[i]) <= 3.0] if sides.size else sides
        if near.size:
            out[i] = float(near[np.argmin(np.abs(near - out[i]))])
            seen[i] = True
    return (out[0], out[1]), (seen[0], seen[1])


def _box(d: np.ndarray, extents: tuple, radius: float = 0.0, offset: float = 0.0) -> np.ndarray:
    """Vertices of the rectangle with sides along ``d`` over ``extents`` (``_extents``: it
    spans the visible part, its sides where the trustworthy runs put them), its corners
    rounded by ``radius`` (arcs as short chords), grown by ``offset``."""
    normal = np.array([-d[1], d[0]])
    (u0, u1), (v0, v1) = extents
    cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
    hu, hv = (u1 - u0) / 2 + offset, (v1 - v0) / 2 + offset
    r = min(radius + offset, hu, hv) if radius > 0 else 0.0
    pts = []
    for su, sv, start in ((1, 1, 0), (-1, 1, 90), (-1, -1, 180), (1, -1, 270)):
        ou, ov = su * (hu - r), sv * (hv - r)
        for t in np.radians(start + np.linspace(0, 90, 13 if r > 0.5 else 1)):
            pts.append((cu + ou + r * np.cos(t), cv + ov + r * np.sin(t)))
    pts = np.array(pts)
    return pts[:, :1] * d + pts[:, 1:] * normal


def _extents(d: np.ndarray, pixels: np.ndarray, lines: list) -> tuple[tuple, tuple]:
    """((u0, u1), (v0, v1)): the rectangle's extent along ``d`` and square to it (``_span``),
    and per end whether a seen side fixes it ((u0, u1), (v0, v1) as booleans)."""
    normal = np.array([-d[1], d[0]])
    kept = [ln for ln in (lines or []) if ln is not None]
    along, across = [], []
    for p, e, _ in kept:
        e = e / np.linalg.norm(e)
        turn = abs(float(d[0] * e[1] - d[1] * e[0]))
        if turn <= np.sin(np.radians(3.0)):      # parallel to d: fixes an extent across it
            across.append(float(p @ normal))
        elif turn >= np.cos(np.radians(3.0)):    # square to d: fixes one along it
            along.append(float(p @ d))
    (su, fu), (sv, fv) = _span(pixels @ d, np.array(along)), _span(pixels @ normal, np.array(across))
    return (su, sv), (fu, fv)


def _rounded_sd(d: np.ndarray, extents: tuple, radius: float, pts: np.ndarray) -> np.ndarray:
    """Signed distance (px, negative inside) of points ``pts`` ((N, 2)) to the outline of
    the rectangle ``_box(d, extents, radius)``."""
    normal = np.array([-d[1], d[0]])
    (u0, u1), (v0, v1) = extents
    half = np.array([(u1 - u0) / 2, (v1 - v0) / 2])
    q = np.abs(np.stack([pts @ d - (u0 + u1) / 2, pts @ normal - (v0 + v1) / 2], 1))
    r = min(radius, float(half.min()))
    k = q - (half - r)
    return np.hypot(np.maximum(k[:, 0], 0), np.maximum(k[:, 1], 0)) + np.minimum(k.max(1), 0) - r


def _hold_corners(d: np.ndarray, extents: tuple, seen: tuple, radius: float,
                  pixels: np.ndarray) -> tuple:
    """``extents`` with each end no seen side fixes moved out (by up to ``radius``) until the
    rectangle with corners rounded by ``radius`` holds the visible part (``pixels``): a card
    whose far side is hidden reaches at least as far as its visible part, and its rounded
    corners lie beyond it, not across the visible part's own square end."""
    out = [list(extents[0]), list(extents[1])]
    for axis in range(2):
        for end, sign in ((0, -1.0), (1, 1.0)):
            if seen[axis][end]:
                continue
            start = out[axis][end]

            def holds(step, axis=axis, end=end, sign=sign, start=start):
                out[axis][end] = start + sign * step
                ext = (tuple(out[0]), tuple(out[1]))
                return int((_rounded_sd(d, ext, radius, pixels) > 0.5).sum()) <= max(2, 0.001 * len(pixels))
            steps = np.arange(0.0, radius + 0.25, 0.5)
            # what a longer box holds grows with it: the first holding step of every eighth,
            # then the half-pixel steps before it
            coarse = next((i for i in range(0, len(steps), 8) if holds(steps[i])), None)
            if coarse is None:
                lo, hi = (len(steps) - 1) // 8 * 8 + 1, len(steps)
            else:
                lo, hi = max(0, coarse - 7), coarse + 1
            for i in range(lo, hi):
                if holds(steps[i]):
                    break
    return (tuple(out[0]), tuple(out[1]))


def _corner_radius(d: np.ndarray, extents: tuple, pts: np.ndarray) -> float:
    """The corner radius of the rectangle ``_box(d, extents)`` that puts the trustworthy
    outline points ``pts`` ((N, 2)) nearest its outline (each point's miss capped at 3 px,
    so what lies along a cover does not decide it)."""
    (u0, u1), (v0, v1) = extents
    best, best_err = 0.0, np.inf
    for r in np.linspace(0.0, min(u1 - u0, v1 - v0) / 2, 48):
        sd = _rounded_sd(d, extents, float(r), pts)
        err = float(np.minimum(np.abs(sd), 3.0).mean())
        if err < best_err - 1e-6:
            best, best_err = float(r), err
    return best


def _convex(poly: np.ndarray) -> bool:
    """True when the polygon's turns all go the same way (design primitives are convex)."""
    d = np.roll(poly, -1, axis=0) - poly
    cross = d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0]
    return bool((cross >= -1e-6).all() or (cross <= 1e-6).all())


def fit_covered_shape(own: np.ndarray, real: np.ndarray, allowed: np.ndarray, *,
                      require_hidden: bool = True, convex: bool = False,
                      robust: bool = False, rectangle: bool = False,
                      guess: bool = False) -> np.ndarray | None:
    """Coverage (float32 in [0, 1]) of the simple shape that ``own`` is the visible part of.

    ``own``: the region's pixels; ``real``: its pixels whose outline is its own
    (next to the background or to what lies beneath); ``allowed``: where hidden
    parts may be (the region plus what covers it). None when no ellipse or
    polygon fits the visible outline well enough, or (``require_hidden``)
    nothing is hidden. ``convex``: polygons must be convex (an outline with a
    notch bitten out of it is no primitive's own). ``robust``: the ellipse is refitted
    without outline points far from it and judged on the ``INLIER_SHARE`` of the
    trustworthy outline it fits best (the containment and hidden-only tests still hold).
    ``rectangle``: two or more seen sides parallel or square to each other are taken for a
    rectangle's (``_frame``). The rectangle they span with the corner radius that fits the
    outline best is a candidate (a card with big rounded corners, whose corner facets
    otherwise make a polygon with cut corners that fits nothing); with a radius under
    ``ROUND_MIN`` only when nothing else fits (rim pixels of text lying on a sharp card's
    edge round it off), and so is, with too few sides for a polygon, the sharp rectangle.
    ``guess``: when nothing else fits, a polygon seen by two sides only, or with a corner
    beyond what covers it cut (``_polygon``); the rounded rectangle's hidden ends moved out
    until its corners hold the visible part (``_hold_corners``), and taken before the
    polygon its straight runs make when it fits and three of its sides are seen: guesses at what is hidden for completing
    it, no evidence for the stacking order.
    """
    own = own.astype(bool)
    contour = outline(own)
    if contour is None:
        return None
    flags = real[contour[:, 1], contour[:, 0]]
    if int(flags.sum()) < MIN_OUTLINE or (require_hidden and flags.all()):
        return None
    pts = contour[flags].astype(np.float32)
    cands = []
    judged = [False]  # per candidate: judged only on the INLIER_SHARE of the outline it fits best
    if len(pts) >= 5:
        box = _robust_ellipse(pts)[0] if robust else cv2.fitEllipse(pts)
        (ecx, ecy), (ew, eh), eang = box
        if np.isfinite(box[1]).all() and min(box[1]) > 2 and max(box[1]) < 4 * max(own.shape):
            # judged on the outline's pixel centres, drawn on the pixel edge
            cands.append((_draw_ellipse(own.shape, box),
                          _draw_ellipse(own.shape, ((ecx, ecy), (ew + 1.0, eh + 1.0), eang))))
            judged = [robust]
        circle = _circle(pts)
        if circle is not None and circle[1][0] < 4 * max(own.shape):
            # a short arc leaves an ellipse free to stretch under what covers it; a disc
            # (a round photo, a dot) seen along it is held by three numbers
            (ccx, ccy), (cd, _), _ = circle
            cands.append((_draw_ellipse(own.shape, circle),
                          _draw_ellipse(own.shape, ((ccx, ccy), (cd + 1.0, cd + 1.0), 0.0))))
            judged.append(False)
    corners = [None] * len(cands)  # per candidate: where a rounded corner may leave the sharp one
    ys, xs = np.nonzero(own)
    centre = np.array([xs.mean(), ys.mean()])
    pixels = np.stack([xs, ys], 1).astype(np.float64)
    poly = _polygon(contour, flags, centre, 0.0, pixels)
    if poly is not None and convex and not _convex(poly):
        poly = None
    polygon = poly is not None and len(poly) <= 8
    if polygon:
        out_poly = _polygon(contour, flags, centre, 0.5, pixels)
        _add_polygon(cands, judged, corners, own.shape, poly, out_poly)
    frame = None
    if rectangle:  # two or more seen sides of a rectangle?
        solid = cv2.morphologyEx(own.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        sy, sx = np.nonzero(solid)
        if sy.size >= MIN_OUTLINE:  # spanned by the body, not by a hair left on its rim
            body = np.stack([sx, sy], 1).astype(np.float64)
            sides = _sides(contour, flags, centre)
            frame = _frame(sides, body)
    rounds = []  # rounded rectangles: the one the seen sides span, and (``guess``) held
    if frame is not None:
        extents, seen = _extents(frame, body, sides)
        radius = _corner_radius(frame, extents, pts.astype(np.float64))
        if radius > 1.0:
            boxes = [extents]
            if guess:  # its hidden ends out until its corners hold the visible part
                held = _hold_corners(frame, extents, seen, radius, body)
                if held != extents:
                    boxes.append(held)
            rounds = [(_draw_polygon(own.shape, _box(frame, b, radius)),
                       _draw_polygon(own.shape, _box(frame, b, radius, 0.5))) for b in boxes]
        if radius >= ROUND_MIN:
            # a rounded rectangle (a button, a card): its corner facets are no polygon's sides
            cands += rounds
            judged += [False] * len(rounds)
            corners += [None] * len(rounds)
            if guess and polygon and sum(seen[0]) + sum(seen[1]) >= 3:
                # a card seen on three sides, its corners round: the sharp polygon its
                # straight runs make, its corners excused, is no better a guess at its
                # hidden part (the held one first: a side seen but not trusted, next to
                # what covers it, may stop it)
                for k in range(len(cands) - 1, len(cands) - 1 - len(rounds), -1):
                    best = _best_fit(own, contour, flags, allowed, require_hidden, cands[k:k + 1],
                                     judged[k:k + 1], corners[k:k + 1])
                    if best is not None:
                        return best
            rounds = []
    best = _best_fit(own, contour, flags, allowed, require_hidden, cands, judged, corners)
    if best is None and frame is not None:
        # nothing fits: the rectangle the seen sides belong to, corners barely rounded or not
        cands, judged, corners = [], [], []
        if not polygon:  # too few sides seen for a polygon
            _add_polygon(cands, judged, corners, own.shape, _box(frame, extents), _box(frame, extents, 0.0, 0.5))
        cands += rounds
        judged += [False] * len(rounds)
        corners += [None] * len(rounds)
        best = _best_fit(own, contour, flags, allowed, require_hidden, cands, judged, corners)
    if best is None and guess:  # still nothing: the polygon with its hidden sides guessed
        poly = _polygon(contour, flags, centre, 0.0, pixels, True, allowed)
        if poly is not None and len(poly) <= 8 and not (convex and not _convex(poly)):
            cands, judged, corners = [], [], []
            _add_polygon(cands, judged, corners, own.shape, poly,
                         _polygon(contour, flags, centre, 0.5, pixels, True, allowed))
            best = _best_fit(own, contour, flags, allowed, require_hidden, cands, judged, corners)
    return best


def _add_polygon(cands: list, judged: list, corners: list, shape, poly: np.ndarray,
                 out_poly: np.ndarray | None) -> None:
    """A polygon candidate for ``fit_covered_shape``, with the discs around its vertices
    where a rounded corner may leave the sharp one."""
    cands.append((_draw_polygon(shape, poly),
                  _draw_polygon(shape, out_poly if out_poly is not None else poly)))
    judged.append(False)
    mask = np.zeros(shape, np.uint8)
    r = max(3, int(0.12 * min(shape)))
    for vx, vy in poly:
        if -r <= vx < shape[1] + r and -r <= vy < shape[0] + r:
            cv2.circle(mask, (int(round(vx)), int(round(vy))), r, 1, -1)
    corners.append(mask.astype(bool))


def _best_fit(own, contour, flags, allowed, require_hidden, cands, judged, corners):
    """The candidate (coverage, drawn coverage) of ``fit_covered_shape`` that passes its
    tests and lies nearest the trustworthy outline, as the completed coverage; or None."""
    best, best_err = None, MAX_FIT_ERROR
    n_own = max(1, int(own.sum()))
    grown_allowed = cv2.dilate(allowed.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    for k, (cov, drawn) in enumerate(cands):
        inside = cov > 0.5
        if not inside.any():
            continue
        loose = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        if (own & ~loose).sum() > 0.02 * n_own:
            continue
        extra = inside & ~own
        bad = extra & ~grown_allowed
        rounded = corners[k] is not None
        if rounded:  # a rounded corner the sharp polygon overshoots is not a bad fit
            bad &= ~corners[k]
        if bad.sum() > max(4, 0.01 * int(inside.sum())):
            continue
        if require_hidden and (extra & grown_allowed).sum() < 2:
            continue
        edge = inside & ~cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)
        d = dist[contour[flags, 1], contour[flags, 0]]
        if judged[k]:  # a robust ellipse: not on the spurs it was refitted without
            d = np.sort(d)[:max(MIN_OUTLINE, int(INLIER_SHARE * len(d)))]
        if rounded:  # judge the sides, not the corners' roundness
            off = ~corners[k][contour[flags, 1], contour[flags, 0]]
            d = d[off] if off.sum() >= MIN_OUTLINE else d
        err = float(d.mean())
        if err <= best_err:
            # what is added lies only where something covers it; the visible part is the region
            best, best_err = np.where(own, 1.0, np.where(allowed, drawn, 0.0)).astype(np.float32), err
    return best

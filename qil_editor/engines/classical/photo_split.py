"""Split a photo blob that holds several pictures (or a picture and a textured shape).

Two photos side by side, or a photo overlapping another, are one blob to the
edge-density test. What separates them is a long straight boundary across which the
picture statistics jump all along its length: the edge of the one on top. Inside one
photograph, colour changes are gradual or wander; a straight line with the same step
on every stretch of it is an outline. Such lines are found (Hough transform on the
strong steps of a lightly smoothed picture), checked stretch by stretch, continued
while the step persists, and the blob is cut along them.
"""

from __future__ import annotations

import cv2
import numpy as np

from .labels import CROSS, nearest_label

SMOOTH = 1.5          # sigma of the smoothing that removes grain before measuring steps
SIDE = 3.5            # how far each side of the line its colour is read (px)
STEP_DE = 12.0        # a colour step across the line (CIELAB) that marks an outline
CONSISTENT = 0.85     # share of the stretches along a line that must show the step
MIN_LINE = 24         # shortest outline worth a cut (px, working resolution)
MIN_DEPTH = 6.0       # inscribed radius a cut-off piece needs to be a picture of its own (px)
SHORT_LINE = 8        # a short outline counts only where it closes a cut (px)
JOIN = 5.0            # how near a short outline must start to a long one's end (px)
CORNER_FILL = 0.70    # share of a small disc the blob fills at a notch of its outline
CLOSE = 8.0           # a cut ending this near the outline is closed to it (px)
MISSES = 5            # positions without the step that end a line being continued
MEET = 10.0           # how near two square outlines must come to meet at a picture's corner (px)
TURN = 0.35           # sin of the least angle (20 deg) a short outline closing a cut turns from the long one
SQUARE = 0.17         # |cos| of the angle between two outlines that meet square (within 10 deg)


def _sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``img`` (h, w, c) at (N, 2) float x, y points."""
    mx = pts[:, 0].astype(np.float32).reshape(1, -1)
    my = pts[:, 1].astype(np.float32).reshape(1, -1)
    return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]


def _step(feat: np.ndarray, inside: np.ndarray, p: np.ndarray, nrm: np.ndarray):
    """Colour step across the line at points ``p`` (N, 2), and whether it is an outline
    there: both sides in the blob, and the change happens at the line, not spread over a
    slope (the step just beside it, on either side, is at most half as big)."""
    a, b = p + SIDE * nrm, p - SIDE * nrm
    a2, b2 = p + 2 * SIDE * nrm, p - 2 * SIDE * nrm
    h, w = inside.shape
    ok = np.ones(len(p), bool)
    for q in (a, b):
        xi = np.clip(np.round(q[:, 0]).astype(int), 0, w - 1)
        yi = np.clip(np.round(q[:, 1]).astype(int), 0, h - 1)
        ok &= inside[yi, xi] & (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
    fa, fb = _sample(feat, a), _sample(feat, b)
    d = np.linalg.norm(fa - fb, axis=1)
    beside = np.maximum(np.linalg.norm(_sample(feat, a2) - fa, axis=1),
                        np.linalg.norm(_sample(feat, b2) - fb, axis=1))
    return np.where(beside <= 0.5 * d, d, 0.0), ok


def _runs(good: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """(start, stop) of runs of ``good`` that tolerate gaps up to ``gap`` positions."""
    idx = np.flatnonzero(good)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    stops = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return list(zip(starts.tolist(), stops.tolist()))


def split_lines(blob: np.ndarray, lab: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Straight outlines inside ``blob`` (bool crop) of ``lab`` (crop): (p0, p1) end points."""
    feat = cv2.GaussianBlur(lab.astype(np.float32), (0, 0), SMOOTH)
    feat = np.ascontiguousarray(feat)
    inside = cv2.erode(blob.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    # thin (non-maximum suppressed) steps per channel, so Hough sees one line per outline
    deep = cv2.erode(blob.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    hi = 16.0 * STEP_DE / 4.0   # Sobel of a channel scaled x2: ~16x its per-pixel change
    strong = np.zeros(blob.shape, np.uint8)
    for c in range(3):
        ch = np.clip(feat[..., c] * 2.0 + (0.0 if c == 0 else 128.0), 0, 255).astype(np.uint8)
        strong |= cv2.Canny(ch, hi / 2.0, hi, L2gradient=True)
    strong[~deep] = 0
    min_len = max(MIN_LINE, int(0.08 * max(blob.shape)))
    lines = cv2.HoughLines(strong, 1, np.pi / 360, threshold=max(12, min_len // 2))
    if lines is None:
        return []
    found = []   # (run length, end, end, first end at the outline, second end at the outline)
    ys_s, xs_s = np.nonzero(strong)
    h, w = blob.shape
    span = float(np.hypot(h, w))
    for rho, theta in _distinct(lines.reshape(-1, 2).astype(np.float64), 200):  # most votes first
        c = np.array([rho * np.cos(theta), rho * np.sin(theta)])
        u = np.array([-np.sin(theta), np.cos(theta)])
        p0, p1 = _refine(c - span * u, c + span * u, ys_s, xs_s)
        length = float(np.linalg.norm(p1 - p0))
        if length < 0.5 * min_len:
            continue
        u = (p1 - p0) / length
        nrm = np.array([-u[1], u[0]])
        # the whole line across the crop, read position by position
        ts = np.arange(-span, span, 1.0)
        pts = p0[None] + ts[:, None] * u[None]
        on = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
        ts, pts = ts[on], pts[on]
        d, ok = _step(feat, inside, pts, nrm)
        good = ok & (d >= STEP_DE)
        in_blob = blob[np.round(pts[:, 1]).astype(int), np.round(pts[:, 0]).astype(int)]
        # where a thin step pixel lies on the line itself (an arc only touches it); read only
        # where step pixels are kept (not near the outline), or a short outline ending at a
        # shape lying across it would lose its last pixels
        yi, xi = np.round(pts[:, 1]).astype(int), np.round(pts[:, 0]).astype(int)
        on_line = cv2.dilate(strong, np.ones((3, 3), np.uint8))[yi, xi] > 0
        readable = deep[yi, xi]
        for i0, i1 in _runs(good, MISSES):
            # the outline's own step is about the same all along it: weaker steps at the
            # ends are the pictures' own texture lining up for a moment
            strong_run = d[i0:i1] >= 0.5 * float(np.median(d[i0:i1][good[i0:i1]]))
            idx = np.flatnonzero(strong_run & good[i0:i1])
            i0, i1 = i0 + int(idx[0]), i0 + int(idx[-1]) + 1
            seen = on_line[i0:i1][readable[i0:i1]]
            if i1 - i0 < SHORT_LINE or good[i0:i1].mean() < CONSISTENT or seen.size < SHORT_LINE \
                    or seen.mean() < CONSISTENT:
                continue
            bent = _bends(p0, u, nrm, ts[i0], ts[i1 - 1], ys_s, xs_s)
            # continued to the blob's outline when that is near
            j0, j1 = i0, i1
            while j0 > 0 and in_blob[j0 - 1] and i0 - j0 < 2 * MISSES:
                j0 -= 1
            out0 = j0 == 0 or not in_blob[j0 - 1]
            if not out0:
                j0 = i0
            while j1 < len(ts) and in_blob[j1] and j1 - i1 < 2 * MISSES:
                j1 += 1
            out1 = j1 == len(ts) or not in_blob[j1]
            if not out1:
                j1 = i1
            # the run's own line through its step pixels: a Hough peak a degree off the
            # outline still gives a long run across a thick step, but a tilted cut
            r0, r1 = _refine(pts[i0], pts[i1 - 1], ys_s, xs_s)
            v = (r1 - r0) / max(1e-9, float(np.linalg.norm(r1 - r0)))
            q0, q1 = (r0 + float((pts[j] - r0) @ v) * v for j in (j0, j1 - 1))
            found.append((i1 - i0, q0, q1, out0, out1, bent))
    # long outlines first; a short one only where it closes a cut: from the end of a long
    # one that stops inside the blob (a corner of the picture on top) out to the outline
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for length, q0, q1, _, _, bent in sorted(found, key=lambda f: -f[0]):
        if length >= min_len and not bent and not any(_same_line(q0, q1, k0, k1) for k0, k1 in kept):
            kept.append((q0, q1))
    long_lines = list(kept)
    for length, q0, q1, out0, out1, bent in found:
        if (length >= min_len and not bent) or any(_same_line(q0, q1, k0, k1) for k0, k1 in kept):
            continue
        # from the end of a long one at an angle (the other side of the picture on top); one
        # going on nearly its way is the same outline's step read along a tilted line
        ends = [e for k0, k1 in kept if not _collinear(q0, q1, k0, k1, np.inf, TURN) for e in (k0, k1)]
        near0 = any(np.linalg.norm(q0 - e) <= JOIN for e in ends)
        near1 = any(np.linalg.norm(q1 - e) <= JOIN for e in ends)
        if not bent and ((near0 and out1) or (near1 and out0)):
            kept.append((q0, q1))
        # the rest of a long outline past a shape lying across it (outside the blob): the
        # long part shows the outline is straight, so a pixel's wobble where another outline
        # joins the short part is no bend
        elif (out0 or out1) and any(_collinear(q0, q1, k0, k1) for k0, k1 in long_lines):
            kept.append((q0, q1))
    return _anchored(kept, blob)


def _collinear(p0, p1, q0, q1, dist: float = 2.0, angle: float = 0.05) -> bool:
    """Does segment p0-p1 lie on the line through q0-q1 (within ``dist`` px, ``angle`` rad)?"""
    u = (p1 - p0) / max(1e-9, np.linalg.norm(p1 - p0))
    v = (q1 - q0) / max(1e-9, np.linalg.norm(q1 - q0))
    nrm = np.array([-v[1], v[0]])
    return abs(u[0] * v[1] - u[1] * v[0]) <= angle and \
        max(abs(float((p0 - q0) @ nrm)), abs(float((p1 - q0) @ nrm))) <= dist


def _distinct(lines: np.ndarray, count: int, rho: float = 3.0, theta: float = np.pi / 60) -> np.ndarray:
    """The first ``count`` Hough lines (rho, theta; most votes first) that are not a near copy
    of one before them: a long outline's thick step gives a cluster of peaks (a pixel or half
    a degree apart) that would fill the list and leave the short outlines where two pictures
    meet beside a busy spot (a glow, a round shape's rim) unread."""
    kept: list[tuple[float, float]] = []
    for r, t in lines:
        for r2, t2 in kept:
            dt = abs(t - t2)
            if min(dt, np.pi - dt) <= theta and abs(r - (r2 if dt <= np.pi / 2 else -r2)) <= rho:
                break
        else:
            kept.append((float(r), float(t)))
            if len(kept) >= count:
                break
    return np.array(kept, np.float64).reshape(-1, 2)


def _concave(blob: np.ndarray, p: np.ndarray, radius: int = 10) -> bool:
    """Is the blob's outline near ``p`` a notch (an inner corner: the blob fills well over
    half of a small disc around it), where the edge of a picture on top meets the outline of
    the one beneath? Along a straight stretch of outline the blob fills about half."""
    h, w = blob.shape
    x, y = int(round(p[0])), int(round(p[1]))
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disc = yy * yy + xx * xx <= radius * radius
    ys, xs = y + yy[disc], x + xx[disc]
    ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    filled = np.zeros(ys.size, bool)
    filled[ok] = blob[ys[ok], xs[ok]]
    return filled.mean() >= CORNER_FILL


def _corner(outline_pts: np.ndarray, p: np.ndarray, radius: float = 10.0) -> bool:
    """Does the blob's outline turn near ``p`` (a notch, a jog, another object's edge meeting
    it), rather than run straight past it as a picture's own frame does?"""
    near = outline_pts[np.linalg.norm(outline_pts - p, axis=1) <= radius]
    if len(near) < 8:
        return False
    vx, vy, cx, cy = cv2.fitLine(near.astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    off = (near - np.array([cx, cy])) @ np.array([-vy, vx])
    return float(np.abs(off).mean()) > 1.0


def _anchored(lines, blob):
    """The outlines that start where the blob's outline has a notch or turns, or at the end of
    one that does (the corner of the picture on top inside the blob). A straight step inside one picture
    (a horizon, a wall) runs out to its frame where the outline goes straight on: it is not
    the edge of another picture."""
    if not lines:
        return []
    padded = np.pad(blob, 1).astype(np.uint8)
    rim = (padded > 0) & (cv2.erode(padded, CROSS) == 0)
    ys, xs = np.nonzero(rim[1:-1, 1:-1])
    outline_pts = np.stack([xs, ys], 1).astype(np.float64)
    ends = [(_concave(blob, p0) or _corner(outline_pts, p0), _concave(blob, p1) or _corner(outline_pts, p1))
            for p0, p1 in lines]
    keep = [a or b for a, b in ends]
    # two outlines meeting square inside the blob (an L or a T) are the corner of the picture
    # on top, even where each runs out to a straight frame (pictures side by side whose
    # edges line up): a horizon or a wall's edge inside one picture meets no such partner
    for i, j in ((i, j) for i in range(len(lines)) for j in range(i + 1, len(lines))):
        x = _meet(lines[i], lines[j], blob)
        if x is not None:
            keep[i] = keep[j] = True
    changed = True
    while changed:
        changed = False
        anchors = [q for k, (p0, p1) in enumerate(lines) if keep[k] for q in (p0, p1)]
        for k, (p0, p1) in enumerate(lines):
            if not keep[k] and any(min(np.linalg.norm(p0 - a), np.linalg.norm(p1 - a)) <= JOIN
                                   for a in anchors):
                keep[k] = changed = True
    return [ln for ln, k in zip(lines, keep) if k]


def _meet(a, b, blob):
    """The point where outlines ``a`` and ``b`` ((p0, p1) each) meet at about a right angle,
    within ``MEET`` of both segments and of an end of one, inside the blob; None where they
    do not."""
    (a0, a1), (b0, b1) = a, b
    ua, ub = a1 - a0, b1 - b0
    la, lb = float(np.linalg.norm(ua)), float(np.linalg.norm(ub))
    if la < 1e-6 or lb < 1e-6 or abs(float(ua @ ub)) > SQUARE * la * lb:
        return None
    s, _ = np.linalg.solve(np.stack([ua, -ub], 1), b0 - a0)
    x = a0 + s * ua
    for p0, u, ln in ((a0, ua / la, la), (b0, ub / lb, lb)):
        t = float(np.clip((x - p0) @ u, 0.0, ln))
        if np.linalg.norm(p0 + t * u - x) > MEET:
            return None
    # an L or a T: one of them stops there (two steps crossing, a window's bars, are no corner)
    if min(np.linalg.norm(q - x) for q in (a0, a1, b0, b1)) > MEET:
        return None
    h, w = blob.shape
    xi, yi = int(round(x[0])), int(round(x[1]))
    return x if 0 <= xi < w and 0 <= yi < h and blob[yi, xi] else None


def _bends(p0, u, nrm, t0, t1, ys, xs, sagitta: float = 0.8) -> bool:
    """Do the step pixels along [t0, t1] of the line curve away from it (the outline of an
    ellipse or a rounded corner, which a straight cut would slice)?"""
    rel = np.stack([xs - p0[0], ys - p0[1]], 1)
    t, off = rel @ u, rel @ nrm
    sel = (np.abs(off) <= 2.5) & (t >= t0) & (t <= t1)
    if sel.sum() < 8:
        return False
    tm = 0.5 * (t0 + t1)
    a = np.polyfit(t[sel] - tm, off[sel], 2)[0]
    return abs(a) * (0.5 * (t1 - t0)) ** 2 > sagitta


def _refine(p0, p1, ys, xs, near: float = 1.5):
    """The line through the strong-step pixels within ``near`` of the Hough segment (a least-
    squares fit: Hough's angle step and thick edges tilt it), clipped to where they lie."""
    for _ in range(2):
        u = (p1 - p0) / max(1e-9, np.linalg.norm(p1 - p0))
        nrm = np.array([-u[1], u[0]])
        rel = np.stack([xs - p0[0], ys - p0[1]], 1)
        t, off = rel @ u, rel @ nrm
        sel = (np.abs(off) <= near) & (t >= -2) & (t <= np.linalg.norm(p1 - p0) + 2)
        if sel.sum() < 10:
            return p0, p1
        pts = np.stack([xs[sel], ys[sel]], 1).astype(np.float32)
        vx, vy, cx, cy = cv2.fitLine(pts, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        v, c = np.array([vx, vy], np.float64), np.array([cx, cy], np.float64)
        if v @ u < 0:
            v = -v
        tt = (pts - c) @ v
        p0, p1 = c + tt.min() * v, c + tt.max() * v
    return p0, p1


def _same_line(p0, p1, q0, q1, dist: float = 4.0, angle: float = 0.1) -> bool:
    if not _collinear(p0, p1, q0, q1, dist, angle):
        return False
    # overlapping along the line
    v = (q1 - q0) / max(1e-9, np.linalg.norm(q1 - q0))
    t = [float((p - q0) @ v) for p in (p0, p1)]
    return max(t) >= -dist and min(t) <= float(np.linalg.norm(q1 - q0)) + dist


GAP_SIDE = 8.0   # how far past a gap's sides the grain goes on, each side (px): no glyph's stroke
GAP_RUN = 10     # shortest stretch of a gap between two pictures worth a cut (px)


def gap_lines(blob: np.ndarray, body: np.ndarray, widest: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Narrow straight gaps inside ``blob`` between two grainy areas (``body``): pictures laid
    a few pixels apart on a card, which the edge-density test joins across the strip of card
    between them. Each edge of the gap is a step, but the two are too close for the step
    test of ``split_lines`` (beside one edge lies the other). A gap is two parallel straight
    sides of the grain body facing each other, smooth between and grain on both sides all
    along; its centre line is the cut, run on to the blob's outline. (p0, p1, half width)."""
    inner = cv2.erode(blob.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    rim = (body & ~cv2.erode(body.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & inner).astype(np.uint8)
    lines = cv2.HoughLines(rim, 1, np.pi / 180, threshold=GAP_RUN)
    if lines is None:
        return []
    lines = _distinct(lines.reshape(-1, 2).astype(np.float64), 60)
    h, w = blob.shape
    span = float(np.hypot(h, w))
    out = []
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            (r1, t1), (r2, t2) = lines[i], lines[j]
            if abs(t1 - t2) > np.pi - np.pi / 60:   # the same direction, told the other way round
                r2, t2 = -r2, t2 - np.pi if t2 > t1 else t2 + np.pi
            if abs(t1 - t2) > np.pi / 60 or not 2.0 <= abs(r1 - r2) <= widest:
                continue
            rho, theta, half = 0.5 * (r1 + r2), 0.5 * (t1 + t2), 0.5 * abs(r1 - r2)
            nrm = np.array([np.cos(theta), np.sin(theta)])
            u = np.array([-nrm[1], nrm[0]])
            ts = np.arange(-span, span, 1.0)
            pts = rho * nrm[None] + ts[:, None] * u[None]
            good = _at(blob & ~body, pts)
            for off in np.arange(half + 1.5, half + 1.6 + GAP_SIDE, 2.0):
                for sgn in (1, -1):
                    good &= _at(body, pts + sgn * off * nrm[None])
            in_blob = _at(blob, pts)
            for i0, i1 in _runs(good, 1):
                if i1 - i0 < GAP_RUN:
                    continue
                # on along the centre line to the outline, through the junction where
                # other outlines (a card's rim) meet it
                j0, j1 = i0, i1
                while j0 > 0 and in_blob[j0 - 1] and i0 - j0 < widest:
                    j0 -= 1
                while j1 < len(ts) and in_blob[j1] and j1 - i1 < widest:
                    j1 += 1
                out.append((pts[j0], pts[j1 - 1], half))
    return out


def _at(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """``mask`` at the (N, 2) x, y points (nearest pixel); False off the crop."""
    h, w = mask.shape
    xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
    ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    v = np.zeros(len(pts), bool)
    v[ok] = mask[yi[ok], xi[ok]]
    return v


def split_blob(blob: np.ndarray, lab: np.ndarray, min_area: int, body: np.ndarray | None = None,
               widest: float = 0.0) -> np.ndarray:
    """Labels (0 outside, 1..K) of the pieces of ``blob`` (bool crop) cut along its straight
    outlines, and along narrow gaps between areas of ``body`` (grain) when given. Pieces
    under ``min_area`` and the cut itself go to the nearest piece, so the labels cover the
    blob exactly; one label when nothing divides it."""
    lines = split_lines(blob, lab)
    gaps = gap_lines(blob, body, widest) if body is not None else []
    lines += [(p0, p1) for p0, p1, _ in gaps]
    one = blob.astype(np.int32)
    if not lines:
        return one
    cut = np.zeros(blob.shape, np.uint8)
    # a cut that stops a few pixels short of the outline (the last bit of the edge of the
    # picture on top is too short to measure) is closed to the nearest outline pixel
    outside = np.pad(~blob, 1, constant_values=True).astype(np.uint8)
    dist, idx = cv2.distanceTransformWithLabels(1 - outside, cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    zy, zx = np.nonzero(outside)   # raster order, as the labels count them
    for p0, p1 in lines:
        cv2.line(cut, tuple(int(round(v)) for v in p0), tuple(int(round(v)) for v in p1), 1, 2)
        for q in (p0, p1):
            x, y = int(round(q[0])) + 1, int(round(q[1])) + 1
            if 0 <= y < dist.shape[0] and 0 <= x < dist.shape[1] and 0 < dist[y, x] <= CLOSE:
                k = idx[y, x] - 1
                cv2.line(cut, (x - 1, y - 1), (int(zx[k]) - 1, int(zy[k]) - 1), 1, 2)
    n, pieces, stats, _ = cv2.connectedComponentsWithStats((blob & (cut == 0)).astype(np.uint8),
                                                           connectivity=4)
    big = stats[:, cv2.CC_STAT_AREA] >= min_area
    big[0] = False
    # a strip along the outline (a shadow's edge, the rim) is no picture of its own
    depth = cv2.distanceTransform(np.pad(pieces > 0, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    deepest = np.zeros(n, np.float32)
    np.maximum.at(deepest, pieces.ravel(), depth.ravel())
    big &= deepest >= max(MIN_DEPTH, 0.02 * min(blob.shape))
    if big.sum() < 2:
        return one
    remap = np.zeros(n, np.int32)
    remap[big] = np.arange(1, int(big.sum()) + 1)
    out = remap[pieces]
    near, _ = nearest_label(out, blob & (out == 0), np.inf)
    out = np.where(out > 0, out, near).astype(np.int32)
    # the strip of what lies between two pictures (the card they are laid on) is neither's
    strip = np.zeros(blob.shape, np.uint8)
    for p0, p1, half in gaps:
        cv2.line(strip, tuple(int(round(v)) for v in p0), tuple(int(round(v)) for v in p1), 1,
                 2 * int(np.ceil(half)) + 1)
    out[(strip > 0) & ~body] = 0
    return out

"""Smooth fills: push-pull hole filling and robust polynomial surfaces.

Both are how the engine makes up pixels it cannot see: the background behind
a removed object, the part of a card hidden under its text, the part of a
shadow under the object that casts it.
"""

from __future__ import annotations

import cv2
import numpy as np

_EPS = 1e-6


def push_pull(values: np.ndarray, weight: np.ndarray, *, confidence: float = 4.0) -> np.ndarray:
    """Fill pixels of weight 0 from their surroundings (a pyramid "membrane").

    ``values`` (H, W) or (H, W, C) float32, ``weight`` (H, W) in [0, 1]. Pixels
    of weight 1 keep their value; holes get a smooth blend of coarser levels,
    so big holes come out as a gentle interpolation of their border.
    """
    vals = np.asarray(values, np.float32)
    squeeze = vals.ndim == 2
    if squeeze:
        vals = vals[..., None]
    w = np.ascontiguousarray(weight, np.float32)
    if float(w.max(initial=0.0)) <= 0.0:
        out = np.zeros_like(vals)
        return out[..., 0] if squeeze else out
    levels = []
    v = vals * w[..., None]
    while True:
        levels.append((v, w))
        h, wd = w.shape
        if h <= 1 and wd <= 1:
            break
        nh, nw = max(1, (h + 1) // 2), max(1, (wd + 1) // 2)
        v = cv2.resize(v, (nw, nh), interpolation=cv2.INTER_AREA)
        if v.ndim == 2:
            v = v[..., None]
        w = cv2.resize(w, (nw, nh), interpolation=cv2.INTER_AREA)
    v, w = levels[-1]
    est = v / np.maximum(w, _EPS)[..., None]
    for v, w in reversed(levels[:-1]):
        up = cv2.resize(est, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        if up.ndim == 2:
            up = up[..., None]
        conf = np.clip(w * confidence, 0.0, 1.0)[..., None]
        est = conf * (v / np.maximum(w, _EPS)[..., None]) + (1.0 - conf) * up
    return est[..., 0] if squeeze else est


def poly_basis(xs: np.ndarray, ys: np.ndarray, degree: int) -> np.ndarray:
    """Monomials x^i y^j (i + j <= degree) on coordinates already scaled to [-1, 1]."""
    cols = [np.ones_like(xs)]
    for total in range(1, degree + 1):
        for j in range(total + 1):
            cols.append(xs ** (total - j) * ys ** j)
    return np.stack(cols, axis=-1)


def _norm_coords(h: int, w: int):
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32) if w > 1 else np.zeros(1, np.float32)
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32) if h > 1 else np.zeros(1, np.float32)
    return xs, ys


def fit_surface(values: np.ndarray, mask: np.ndarray, degree: int, *,
                weights: np.ndarray | None = None, max_samples: int = 40000,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Weighted least-squares polynomial coefficients (K, C) fitted on ``mask`` pixels."""
    h, w = mask.shape
    ys_i, xs_i = np.nonzero(mask)
    if ys_i.size == 0:
        raise ValueError("no samples to fit")
    if ys_i.size > max_samples:
        rng = rng or np.random.default_rng(0)
        pick = rng.choice(ys_i.size, max_samples, replace=False)
        ys_i, xs_i = ys_i[pick], xs_i[pick]
    gx, gy = _norm_coords(h, w)
    basis = poly_basis(gx[xs_i].astype(np.float64), gy[ys_i].astype(np.float64), degree)
    target = values[ys_i, xs_i].astype(np.float64)
    if weights is not None:
        sw = np.sqrt(weights[ys_i, xs_i].astype(np.float64))[:, None]
        basis, target = basis * sw, target * sw
    # A little ridge keeps high-order terms tame when samples hug the border.
    k = basis.shape[1]
    lhs = basis.T @ basis + 1e-6 * np.eye(k) * max(1.0, float(np.trace(basis.T @ basis)) / k)
    return np.linalg.solve(lhs, basis.T @ target)


def eval_surface(coef: np.ndarray, h: int, w: int, degree: int) -> np.ndarray:
    """Evaluate polynomial coefficients on an (H, W) grid -> (H, W, C) float32.

    Separable: sum_j y^j (sum_i c_ij x^i), so the cost is a few multiply-adds
    per pixel instead of a full basis matrix.
    """
    gx, gy = _norm_coords(h, w)
    coef = np.asarray(coef, np.float64)
    nch = coef.shape[1]
    rows = np.zeros((degree + 1, w, nch), np.float64)  # rows[j] = sum_i c_ij x^i
    k = 0
    xpow = [gx.astype(np.float64) ** i for i in range(degree + 1)]
    for total in range(0, degree + 1):
        for j in range(total + 1):
            rows[j] += xpow[total - j][:, None] * coef[k][None, :]
            k += 1
    ypow = np.stack([gy.astype(np.float64) ** j for j in range(degree + 1)], axis=1)  # (h, J)
    out = np.einsum("hj,jwc->hwc", ypow.astype(np.float32), rows.astype(np.float32))
    return np.ascontiguousarray(out, dtype=np.float32)


def _cone_coords(h: int, w: int):
    """Pixel-centre coordinates scaled by the longer side (circles stay circles), in [-1, 1]."""
    s = float(max(h, w))
    xs = ((np.arange(w, dtype=np.float64) + 0.5) * 2.0 - w) / s
    ys = ((np.arange(h, dtype=np.float64) + 0.5) * 2.0 - h) / s
    return xs, ys


def _cone_solve(r: np.ndarray, target: np.ndarray, wt: np.ndarray):
    """Weighted least squares of ``target`` (N, C) on [1, r, r^2] for K candidate ``r``
    (K, N) at once, from sums of powers: coefficients (K, 3, C) and residual sums (K,)."""
    r2 = r * r
    pw = [np.broadcast_to(wt, r.shape), wt * r, wt * r2]
    m = [p.sum(1) for p in pw] + [(pw[1] * r2).sum(1), (pw[2] * r2).sum(1)]   # sum w r^0..4
    lhs = np.stack([np.stack([m[i + j] for j in range(3)], -1) for i in range(3)], -2)  # (K, 3, 3)
    rhs = np.stack([p @ target for p in pw], 1)                                     # (K, 3, C)
    lhs = lhs + 1e-9 * np.eye(3)[None]
    coef = np.linalg.solve(lhs, rhs)
    tt = float((wt[:, None] * target * target).sum())
    err = tt - np.einsum("kic,kic->k", coef, rhs)   # normal equations: |t|^2 - c.(B^T t)
    return coef, err


def fit_cone(values: np.ndarray, mask: np.ndarray, *, weights: np.ndarray | None = None,
             max_samples: int = 3000) -> tuple[float, float, np.ndarray] | None:
    """A radial gradient: colour = a + b r + c r^2 of the distance r to a centre (cx, cy).

    Designers' radial gradients have a peak (a cone's tip) that no low-order polynomial
    follows, and it is often hidden under the objects in the middle; the centre is found
    by a coarse-to-fine search, the colours by least squares. Returns (cx, cy, coef (3, C))
    in the coordinates of ``_cone_coords``, or None without samples.
    """
    h, w = mask.shape
    ys_i, xs_i = np.nonzero(mask)
    if ys_i.size < 16:
        return None
    if ys_i.size > max_samples:
        pick = np.random.default_rng(0).choice(ys_i.size, max_samples, replace=False)
        ys_i, xs_i = ys_i[pick], xs_i[pick]
    gx, gy = _cone_coords(h, w)
    px, py = gx[xs_i], gy[ys_i]
    target = values[ys_i, xs_i].astype(np.float64)
    wt = weights[ys_i, xs_i].astype(np.float64) if weights is not None else np.ones(px.size)
    span_x, span_y = float(np.abs(gx).max()), float(np.abs(gy).max())
    best = None
    step = None
    cx0, cy0 = 0.0, 0.0
    for rnd in range(5):
        if rnd == 0:
            cxs = np.linspace(-1.3 * span_x, 1.3 * span_x, 15)
            cys = np.linspace(-1.3 * span_y, 1.3 * span_y, 15)
            step = (cxs[1] - cxs[0], cys[1] - cys[0])
        else:
            cxs = cx0 + np.linspace(-1.0, 1.0, 7) * step[0]
            cys = cy0 + np.linspace(-1.0, 1.0, 7) * step[1]
            step = (step[0] / 3.0, step[1] / 3.0)
        gcx, gcy = np.meshgrid(cxs, cys)
        gcx, gcy = gcx.ravel(), gcy.ravel()
        r = np.hypot(px[None] - gcx[:, None], py[None] - gcy[:, None])
        coef, err = _cone_solve(r, target, wt)
        k = int(np.argmin(err))
        if best is None or err[k] < best[0]:
            best = (float(err[k]), float(gcx[k]), float(gcy[k]), coef[k])
        _, cx0, cy0, _ = best
    _, cx, cy, coef = best
    return cx, cy, coef


def eval_cone(cone: tuple[float, float, np.ndarray], h: int, w: int) -> np.ndarray:
    """Evaluate ``fit_cone``'s result on an (H, W) grid -> (H, W, C) float32."""
    cx, cy, coef = cone
    gx, gy = _cone_coords(h, w)
    r = np.hypot(gx[None, :] - cx, gy[:, None] - cy)
    out = coef[0][None, None, :] + r[..., None] * (coef[1][None, None, :] + r[..., None] * coef[2][None, None, :])
    return np.ascontiguousarray(out, dtype=np.float32)

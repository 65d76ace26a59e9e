"""Fitting a soft effect's model (a drop shadow, a glow) to what shows of it: one way to sample
the evidence, one capped least-squares strength, one acceptance rule, for both models."""

from __future__ import annotations

import numpy as np

SOFT_CAP2 = 0.08 ** 2   # a pixel's squared miss counts up to this in a fit
SOFT_ERR = 0.15         # the fit's capped miss may be at most this share of the effect's energy
SOFT_ASIDE = 0.15       # ... and at most this share of the effect's own pixels may miss by more


def caster_shape(support: np.ndarray, caster_box, box) -> np.ndarray | None:
    """The caster's completed ``support`` (a crop at ``caster_box``) in ``box``, the effect's
    crop; None when they do not meet."""
    x0, y0, x1, y1 = box
    cx0, cy0, cx1, cy1 = caster_box
    sx0, sy0, sx1, sy1 = max(x0, cx0), max(y0, cy0), min(x1, cx1), min(y1, cy1)
    if sx1 <= sx0 or sy1 <= sy0:
        return None
    shape = np.zeros((y1 - y0, x1 - x0), np.float32)
    shape[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = support[sy0 - cy0:sy1 - cy0, sx0 - cx0:sx1 - cx0]
    return shape


def fit_samples(data: np.ndarray, clear: np.ndarray, near: np.ndarray, limit: int):
    """Pixels to fit on: the effect's visible pixels (``data``, weight 1) and the background
    near it (``clear & near``, weight 0.5: where its faint tail shows, or nothing does), at
    most ``limit`` of each, weighted for what they stand for. (ys, xs, weights, on_data)."""
    rng = np.random.default_rng(0)
    parts = []
    for mask, wt in ((data, 1.0), (clear & ~data & near, 0.5)):
        py, px = np.nonzero(mask)
        if py.size > limit:  # a sample is plenty for a few numbers
            wt *= py.size / float(limit)
            pick = rng.choice(py.size, limit, replace=False)
            py, px = py[pick], px[pick]
        parts.append((py, px, np.full(py.size, wt, np.float32)))
    ys = np.concatenate([p[0] for p in parts])
    xs = np.concatenate([p[1] for p in parts])
    wts = np.concatenate([p[2] for p in parts])
    return ys, xs, wts, np.arange(ys.size) < parts[0][0].size


def capped_strength(b: np.ndarray, target: np.ndarray, wts: np.ndarray):
    """Strength k of the model ``b`` against ``target`` by least squares with each pixel's miss
    capped (pixels of something else taken in with the effect, a neighbour's shadow or a glyph,
    cannot pull the fit their way): (capped error, k, misses), or None for no usable k."""
    wb = wts * b
    bb = float((wb * b).sum())
    if bb < 1e-6:
        return None
    k = float((wb * target).sum()) / bb
    miss = (target - k * b) ** 2
    kept_b = wb * (miss < SOFT_CAP2)
    kb = float((kept_b * b).sum())
    if kb > 1e-6:  # the strength from the pixels it explains
        k = float((kept_b * target).sum()) / kb
        miss = (target - k * b) ** 2
    if not 0.05 <= k <= 1.0:
        return None
    return float((wts * np.minimum(miss, SOFT_CAP2)).sum()), k, miss


def explains(err: float, miss: np.ndarray, target: np.ndarray, wts: np.ndarray, on_data: np.ndarray) -> bool:
    """Whether the best fit explains the effect: a small capped error, and little of the
    effect's own pixels left aside (a fit that leaves much aside explains a texture)."""
    energy = float((wts * target * target).sum())
    if energy <= 0 or err > SOFT_ERR * energy:
        return False
    return float((wts * on_data * (miss >= SOFT_CAP2)).sum()) <= SOFT_ASIDE * float((wts * on_data).sum())

"""Blends of one colour over what lies beneath: a shadow darkens the page towards a dark
colour, a glow lightens or tints it, both at an alpha that varies. One least-squares model
(img = (1 - a) under + a colour) serves finding them (regions), fitting them (models) and
reading which object darkens which (ordering)."""

from __future__ import annotations

import numpy as np

from .colour import rgb_to_lab
from .labels import label_medians

SHADOW_DARK_L = 45.0  # L* below which a soft blend's colour is a shadow's; above, a glow's
GLOW_RESID = 0.04     # a piece's median miss (RGB) from the background blended towards the glow
GLOW_STARTS = 3       # the biggest pieces whose own colours are tried as the glow's


def shadow_colour(img: np.ndarray, under: np.ndarray, iters: int = 8, light: bool = False) -> np.ndarray:
    """Least-squares colour S of a shadow drawn over ``under``: img = (1-a) under + a S.

    Starts from black (the usual drop shadow) and alternates between the
    per-pixel alphas and the colour; designers' tinted shadows come out tinted. With
    ``light`` (a region already taken for a shadow or glow), a glow, which cannot be reached
    from black (every alpha towards black is 0 on a light one), is started again from its
    pixels farthest from what they lie on, kept when it explains them far better.
    """
    if img.shape[0] > 20000:
        pick = np.random.default_rng(0).choice(img.shape[0], 20000, replace=False)
        img, under = img[pick], under[pick]
    black, err = _blend_colour(img, under, np.zeros(3, np.float32), iters)
    if not light or img.shape[0] == 0:
        return black
    # (a faint glow near the background's colour is explained from black about as well as a
    # shadow is, a few per cent RGB: the bright start is tried on every light one)
    dev = ((img - under) ** 2).sum(-1)
    far = img[dev >= np.percentile(dev, 90)].mean(0).astype(np.float32)
    bright, err2 = _blend_colour(img, under, far, iters)
    return bright if err2 < 0.25 * err else black


BLEND_TRIM = 0.95    # share of a blend's pixels (the best explained) its miss is judged on


def _blend_colour(img: np.ndarray, under: np.ndarray, col: np.ndarray, iters: int):
    """``shadow_colour``'s alternation from ``col``: (colour, mean squared miss of the best
    explained BLEND_TRIM of the pixels)."""
    col = col.astype(np.float32)
    for _ in range(iters):
        a = np.clip(blend_alpha(img, under, col), 0.0, 1.0)
        den = float((a * a).sum())
        if den < 1e-9:
            break
        col = np.clip((a[:, None] * (img - under * (1.0 - a[:, None]))).sum(0) / den, 0.0, 1.0)
    _, resid = blend_residual(img, under, col)
    if not img.size:
        return col.astype(np.float32), 0.0
    # the worst few pixels left out: a crumb of something else among a faint glow's pieces
    # (far off any blend) would decide between the colours alone
    sq = np.sort(resid * resid)
    return col.astype(np.float32), float(sq[:max(1, int(np.ceil(BLEND_TRIM * sq.size)))].mean())


def blend_alpha(img: np.ndarray, under: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Per pixel, how far ``img`` is from ``under`` towards ``col`` (least squares along that
    line, not clipped): the alpha of ``col`` blended over ``under``."""
    d = col - under
    return ((img - under) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-6)


def blend_residual(img: np.ndarray, under: np.ndarray, col: np.ndarray):
    """(alpha, distance of ``img`` from ``under`` blended towards ``col`` at that alpha
    clipped to [0, 1]): how well one blend explains each pixel."""
    a = blend_alpha(img, under, col)
    return a, np.linalg.norm(img - (under + np.clip(a, 0, 1)[..., None] * (col - under)), axis=-1)


GLOW_TRIES = 12    # pixels of a band whose colours start the search for its glow's colour
GLOW_SAMPLE = 3000  # pixels of a band the search fits on


def glow_pixels(img: np.ndarray, under: np.ndarray) -> np.ndarray:
    """Which of the pixels ``img`` are ``under`` blended towards one colour (any shade) at a
    partial alpha that varies, as a soft glow's are (``agreeing``'s tests): the colour is
    the one explaining most of them, fitted on those it explains, started from a few of the
    pixels' own colours (a band also running over other things, or over its host's rim,
    pulls a fit on all of them off the glow's)."""
    if len(img) < 16:
        return np.zeros(len(img), bool)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(img), min(GLOW_SAMPLE, len(img)), replace=False)
    sim, sun = img[pick], under[pick]
    best, best_n = None, 0
    for col in sim[rng.choice(len(sim), min(GLOW_TRIES, len(sim)), replace=False)]:
        for _ in range(3):
            a, resid = blend_residual(sim, sun, col)
            fit = (resid < GLOW_RESID) & (a > 0.02)
            if fit.sum() < 16:
                break
            col = shadow_colour(sim[fit], sun[fit], light=True)
        a, resid = blend_residual(sim, sun, col)
        ok = (resid < GLOW_RESID) & (a > 0.02) & (a < 0.95)
        if ok.sum() > best_n and float(np.std(a[ok])) >= 0.02:
            best, best_n = col, int(ok.sum())
    if best is None:
        return np.zeros(len(img), bool)
    a, resid = blend_residual(img, under, best)
    return (resid < GLOW_RESID) & (a > 0.02) & (a < 0.95)


def shadow_blend(img: np.ndarray, under: np.ndarray, under_lab: np.ndarray,
                  col: np.ndarray | None = None) -> bool:
    """Whether pixels ``img`` are ``under`` darkened towards one dark colour (``col``, or
    the best fit): a soft shadow's (seen, never solid, varying in strength)."""
    col = shadow_colour(img, under) if col is None else col
    a, resid = blend_residual(img, under, col)
    lum_drop = float(np.median(under_lab[:, 0] - rgb_to_lab(img)[:, 0]))
    dark = float(rgb_to_lab(col[None])[0, 0]) < SHADOW_DARK_L
    return (dark and float(np.median(a)) > 0.03 and float(np.percentile(a, 95)) < 0.95
            and float(np.median(resid)) < 0.03 and lum_drop > 2.0 and float(a.std()) > 0.02)


def blend_pieces(img, under, which, pieces: list[int]) -> tuple[list[int], np.ndarray]:
    """Of ``pieces`` (labels ``which`` of the pixels ``img`` over ``under``), those that are
    one blend of what lies beneath towards one colour (median miss < GLOW_RESID, alpha
    neither nothing nor opaque). The colour is fitted on the pieces that still agree: the
    piece that misses most (a word's letters, a rim among them pull the colour off) is left
    out and the colour fitted again, so one stray piece does not lose the glow. Returns them
    and every pixel's alpha towards their colour."""
    keep = list(pieces)
    while keep:
        good, a, miss = agreeing(img, under, which, np.isin(which, keep), keep)
        if len(good) == len(keep):
            return good, a
        keep.remove(max(keep, key=lambda b: (b not in good, miss[b])))
    return [], np.zeros(len(which), np.float32)


def agreeing(img, under, which, fit: np.ndarray, pieces: list[int]):
    """The glow colour fitted on the pixels ``fit``: which of ``pieces`` it explains (median
    miss < GLOW_RESID, alpha neither nothing nor opaque), every pixel's alpha towards it, and
    each piece's median miss."""
    a, resid = blend_residual(img, under, shadow_colour(img[fit], under[fit], light=True))
    miss, alpha = label_medians(resid, which, pieces), label_medians(a, which, pieces)
    return [b for b in pieces if miss[b] < GLOW_RESID and 0.02 < alpha[b] < 0.95], a, miss


def blend_from_biggest(img, under, which, pieces: list[int]) -> tuple[list[int], np.ndarray]:
    """``blend_pieces`` started from the colours of the biggest pieces on their own, each
    fitted again on the pieces it explains until they give it back; the one explaining the
    most pixels wins. For when dropping the worst piece at a time leaves no glow: the many,
    nearly opaque letters of a word crossing it can outlast the glow's own ring."""
    size = {b: int((which == b).sum()) for b in pieces}
    best = ([], np.zeros(len(which), np.float32), 0)
    for b0 in sorted(pieces, key=lambda b: -size[b])[:GLOW_STARTS]:
        fit, prev = which == b0, None
        for _ in range(4):
            good, a, _ = agreeing(img, under, which, fit, pieces)
            if not good or good == prev:
                break
            fit, prev = np.isin(which, good), good
        if good and good == prev and sum(size[b] for b in good) > best[2]:
            best = (good, a, sum(size[b] for b in good))
    return best[0], best[1]

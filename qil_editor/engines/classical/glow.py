"""A soft glow around an object, completed under it: the object's shape grown, blurred and
faded (how design tools draw an outer glow), fitted to what shows of the glow around it."""

from __future__ import annotations

import cv2
import numpy as np

from .softfit import capped_strength, explains, fit_samples

GLOW_GROW = (0, 2, 4, 6, 9, 12)                      # px the shape is grown by before blurring
GLOW_SIGMAS = (1.5, 2.5, 3.5, 5.0, 7.0, 9.0, 12.0)   # px of blur tried


def glow_of(support: np.ndarray, box, caster_box, alpha: np.ndarray, data: np.ndarray,
            clear: np.ndarray) -> np.ndarray | None:
    """``k * blur(grow(S))`` in ``box``, S the caster's completed ``support`` (in
    ``caster_box``), grown, blurred and strength the least-squares best over ``data`` (the
    glow's visible pixels, weight 1) and ``clear`` (background near it, weight 0.5: where its
    faint tail shows or nothing does). Unlike a drop shadow, a glow sits centred on its
    object, so no offset is searched. None when no such glow explains what is seen."""
    x0, y0, x1, y1 = box
    bh, bw = y1 - y0, x1 - x0
    cx0, cy0, cx1, cy1 = caster_box
    sx0, sy0, sx1, sy1 = max(x0, cx0), max(y0, cy0), min(x1, cx1), min(y1, cy1)
    if sx1 <= sx0 or sy1 <= sy0 or data.sum() < 16:
        return None
    shape = np.zeros((bh, bw), np.float32)
    shape[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = support[sy0 - cy0:sy1 - cy0, sx0 - cx0:sx1 - cx0]
    near = cv2.dilate(((shape > 0) | data).astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    ys, xs, wts, on_data = fit_samples(data, clear, near, 3000)
    target = np.clip(alpha[ys, xs], 0.0, 1.0).astype(np.float32)
    pad = max(GLOW_GROW) + 3 * int(max(GLOW_SIGMAS)) + 2
    padded = np.pad(shape, pad)
    best = None
    for grow in GLOW_GROW:
        grown = padded if grow == 0 else cv2.dilate(
            padded, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        for sigma in GLOW_SIGMAS:
            fit = capped_strength(cv2.GaussianBlur(grown, (0, 0), sigma)[ys + pad, xs + pad], target, wts)
            if fit is not None and (best is None or fit[0] < best[0]):
                best = (fit[0], grow, sigma, fit[1], fit[2])
    if best is None:
        return None
    err, grow, sigma, k, miss = best
    if not explains(err, miss, target, wts, on_data):
        return None
    grown = padded if grow == 0 else cv2.dilate(
        padded, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    out = k * cv2.GaussianBlur(grown, (0, 0), sigma)[pad:pad + bh, pad:pad + bw]
    return np.clip(out, 0.0, 1.0).astype(np.float32)

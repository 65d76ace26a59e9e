"""A soft glow around an object, completed under it: the object's shape grown, blurred and
faded (how design tools draw an outer glow), fitted to what shows of the glow around it."""

from __future__ import annotations

import cv2
import numpy as np

from .softfit import capped_strength, caster_shape, explains, fit_samples

GLOW_GROW = (0, 2, 4, 6, 9, 12)                      # px the shape is grown by before blurring
GLOW_SIGMAS = (1.5, 2.5, 3.5, 5.0, 7.0, 9.0, 12.0)   # px of blur tried


def glow_of(caster, box, alpha: np.ndarray, data: np.ndarray, clear: np.ndarray) -> np.ndarray | None:
    """``k * blur(grow(S))`` in ``box``, S the ``caster`` model's completed support, grown,
    blurred and strength the least-squares best over ``data`` (the glow's visible pixels,
    weight 1) and ``clear`` (background near it, weight 0.5: where its faint tail shows or
    nothing does). Unlike a drop shadow, a glow sits centred on its object, so no offset is
    searched. None when no such glow explains what is seen."""
    shape = caster_shape(caster.support, caster.box, box)
    if shape is None or data.sum() < 16:
        return None
    bh, bw = shape.shape
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
            blurred = cv2.GaussianBlur(grown, (0, 0), sigma)
            fit = capped_strength(blurred[ys + pad, xs + pad], target, wts)
            if fit is not None and (best is None or fit[0] < best[0]):
                best = (*fit, blurred)
    if best is None:
        return None
    err, k, miss, blurred = best
    if not explains(err, miss, target, wts, on_data):
        return None
    return np.clip(k * blurred[pad:pad + bh, pad:pad + bw], 0.0, 1.0).astype(np.float32)

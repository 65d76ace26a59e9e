"""Colour conversions and distances used throughout the classical engine.

Per-pixel work uses CIE76 (Euclidean distance in CIELAB): it is one vectorised
expression and, at the thresholds used here (a few units), agrees with
CIEDE2000 on what "looks different". Region-level decisions, where only a few
colours are compared, use CIEDE2000 (``engines/ciede2000.py``: scikit-image's
formula, bit for bit, so the engine does not need scikit-image).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..ciede2000 import deltaE_ciede2000  # scikit-image's, bit for bit, without scikit-image

_INV255 = np.float32(1.0 / 255.0)


def to_float(rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 (..., 3) -> float32 in [0, 1]."""
    out = rgb_u8.astype(np.float32)
    out *= _INV255
    return out


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """float32 sRGB in [0, 1], shape (H, W, 3) or (N, 3) -> CIELAB (L in 0..100)."""
    arr = np.ascontiguousarray(rgb, dtype=np.float32)
    if arr.ndim == 2:
        return cv2.cvtColor(arr[None], cv2.COLOR_RGB2Lab)[0]
    return cv2.cvtColor(arr, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (N, 3) -> float32 sRGB in [0, 1] (the inverse of ``rgb_to_lab``)."""
    arr = np.ascontiguousarray(lab, dtype=np.float32)
    return np.clip(cv2.cvtColor(arr[None], cv2.COLOR_Lab2RGB)[0], 0.0, 1.0)


def delta_e(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """CIE76 colour difference, last axis = Lab."""
    d = lab_a - lab_b
    return np.sqrt(np.einsum("...c,...c->...", d, d))


def delta_e2000(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 for a handful of colours (region means), last axis = Lab."""
    return deltaE_ciede2000(np.asarray(lab_a, np.float64), np.asarray(lab_b, np.float64))


def neighbour_gradient(lab: np.ndarray) -> np.ndarray:
    """Largest CIE76 difference from a pixel to its 4 neighbours.

    Anti-aliased edges and texture score high; flat fills and gentle gradients
    score near zero. This separates the flat "cores" of shapes from their rims.
    """
    h, w = lab.shape[:2]
    grad = np.zeros((h, w), np.float32)
    if w > 1:
        dx = delta_e(lab[:, 1:], lab[:, :-1])
        np.maximum(grad[:, 1:], dx, out=grad[:, 1:])
        np.maximum(grad[:, :-1], dx, out=grad[:, :-1])
    if h > 1:
        dy = delta_e(lab[1:], lab[:-1])
        np.maximum(grad[1:], dy, out=grad[1:])
        np.maximum(grad[:-1], dy, out=grad[:-1])
    return grad


def resize(img: np.ndarray, width: int, height: int, *, smooth: bool = True) -> np.ndarray:
    """Resize choosing area averaging for shrinking and bilinear for growing."""
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    if not smooth:
        interp = cv2.INTER_NEAREST
    elif width <= w and height <= h:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_LINEAR
    return cv2.resize(img, (int(width), int(height)), interpolation=interp)

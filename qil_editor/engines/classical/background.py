"""Estimate the background of a design: a flat colour or a smooth gradient.

The background is modelled as a low-order polynomial surface (linear and
radial gradients are close to quadratic or cubic), fitted robustly so that
objects on top do not pull it, plus a push-pull correction for what a
polynomial misses (multi-stop gradients, vignettes). Whatever differs from
this model by more than a few CIELAB units is foreground.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .colour import delta_e, neighbour_gradient, resize, rgb_to_lab
from .fill import eval_surface, fit_surface, push_pull

# (degree, inlier threshold in CIE76 units) for the successive robust fits
_FIT_SCHEDULE = ((1, 12.0), (2, 9.0), (3, 6.0), (3, 5.0))


@dataclass
class Background:
    rgb: np.ndarray        # (h, w, 3) float32 [0, 1]: the background everywhere, holes filled
    lab: np.ndarray        # same in CIELAB
    delta: np.ndarray      # (h, w) CIE76 distance of the image from the background
    noise: float           # typical pixel-to-pixel variation on the background
    textured: bool         # True when the background is a photo/texture, not a fill
    t_low: float           # "differs from the background" threshold
    t_high: float          # "clearly differs" threshold (seeds)


def _border(h: int, w: int) -> np.ndarray:
    bw = max(1, int(round(0.02 * min(h, w))))
    m = np.zeros((h, w), bool)
    m[:bw], m[-bw:], m[:, :bw], m[:, -bw:] = True, True, True, True
    return m


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _robust_fit(c_rgb, c_lab, c_valid, seed):
    """Polynomial background seeded by ``seed`` pixels, refitted on its inliers with
    growing degree; returns (coefficients, degree, share of pixels it explains)."""
    ch, cw = c_valid.shape
    if seed.sum() < 1:
        seed = c_valid
    coef, degree = fit_surface(c_rgb, seed, 0), 0
    n_valid = max(1, int(c_valid.sum()))
    for deg, thr in _FIT_SCHEDULE:
        c_bg_lab = rgb_to_lab(np.clip(eval_surface(coef, ch, cw, degree), 0, 1))
        dist = delta_e(c_lab, c_bg_lab)
        inl = (dist < thr) & c_valid
        if inl.sum() < max(8, 0.02 * n_valid):
            break
        wts = np.clip(1.0 - (dist / thr) ** 2, 0.0, 1.0) ** 2
        coef, degree = fit_surface(c_rgb, inl, deg, weights=wts), deg
    c_bg_lab = rgb_to_lab(np.clip(eval_surface(coef, ch, cw, degree), 0, 1))
    cover = float(((delta_e(c_lab, c_bg_lab) < 5.0) & c_valid).sum()) / n_valid
    return coef, degree, cover


def estimate_background(rgb: np.ndarray, lab: np.ndarray, valid: np.ndarray,
                        grad: np.ndarray | None = None) -> Background:
    """``rgb``/``lab`` at working resolution; ``valid`` marks pixels with any opacity."""
    h, w = valid.shape
    if grad is None:
        grad = neighbour_gradient(lab)
    # Fit on a coarse copy (the surface is smooth), evaluate at full working size.
    fs = min(1.0, 192.0 / max(h, w))
    ch, cw = max(1, int(round(h * fs))), max(1, int(round(w * fs)))
    c_rgb = resize(rgb, cw, ch)
    c_lab = resize(lab, cw, ch)
    c_valid = resize(valid.astype(np.float32), cw, ch) > 0.99
    if c_rgb.ndim == 2:  # cv2 drops the channel axis of 1-pixel images in some paths
        c_rgb, c_lab = c_rgb.reshape(ch, cw, 3), c_lab.reshape(ch, cw, 3)
    if not c_valid.any():
        c_valid = resize(valid.astype(np.float32), cw, ch) > 0.0
    border = _border(ch, cw) & c_valid
    if border.sum() < 8:
        border = c_valid.copy()
    med = np.median(c_lab[border], axis=0)
    d0 = delta_e(c_lab, med)
    cut = max(10.0, float(np.percentile(d0[border], 50)))
    coef, degree, cover = _robust_fit(c_rgb, c_lab, c_valid, border & (d0 < cut))
    if cover < 0.6:
        # What the border suggests covers little: a big panel fills the canvas (or the
        # border is busy). Try the picture's dominant colour as the background too.
        q = np.floor(c_lab[c_valid] / 8.0).astype(np.int64)
        code = ((q[:, 0] + 20) * 64 + (q[:, 1] + 32)) * 64 + (q[:, 2] + 32)
        vals, counts = np.unique(code, return_counts=True)
        mode = c_lab[c_valid][code == vals[np.argmax(counts)]].mean(axis=0)
        seed = c_valid & (delta_e(c_lab, mode) < 10.0)
        alt = _robust_fit(c_rgb, c_lab, c_valid, seed)
        if alt[2] > cover + 0.05:
            coef, degree, cover = alt
    bg_rgb = eval_surface(coef, h, w, degree)
    bg_lab = rgb_to_lab(np.clip(bg_rgb, 0, 1))
    border = _border(h, w) & valid
    if border.sum() < 8:
        border = valid.copy()
    n_valid = max(1, int(valid.sum()))

    dist = delta_e(lab, bg_lab)
    # Noise: typical local variation where the image sits on the surface.
    calm = (dist < 5.0) & valid
    # Noise: typical local variation. Flat designs are mostly flat, so the median over
    # the whole picture is tiny even when the background model is poor; photos are not.
    noise = float(np.median(grad[valid]))
    if calm.sum() > 16:
        noise = min(noise, float(np.median(grad[calm])))
    t_low = max(4.0, 3.0 * noise)
    t_high = max(10.0, 6.0 * noise)

    poly_rgb = bg_rgb
    r = max(2, int(round(0.015 * max(h, w))))
    smooth = poly_rgb
    data = None
    for _ in range(2):
        near = (dist < t_low) & valid
        data = near & ~cv2.dilate((~near & valid).astype(np.uint8), _disk(r)).astype(bool)
        if data.sum() < 8:
            data = near
            if data.sum() < 8:
                break
        resid = push_pull(rgb - poly_rgb, data.astype(np.float32))
        resid = cv2.GaussianBlur(resid, (0, 0), 1.5)
        smooth = poly_rgb + resid
        dist = delta_e(lab, rgb_to_lab(np.clip(smooth, 0, 1)))
    smooth = np.clip(smooth, 0.0, 1.0).astype(np.float32)
    smooth_lab = rgb_to_lab(smooth)
    dist = delta_e(lab, smooth_lab)
    frac_bg = float(((dist < t_low) & valid).sum()) / n_valid
    border_err = float(np.median(dist[border]))
    textured = bool(noise > 4.0 or (frac_bg < 0.25 and border_err > t_low and noise > 1.5))
    return Background(smooth, smooth_lab, dist.astype(np.float32), noise, textured, t_low, t_high)

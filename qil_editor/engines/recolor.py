"""Recolouring of RGBA layers: hue/saturation/lightness shift and colorize.

Qt-free and vectorised (OpenCV's HLS conversion, numpy elsewhere), so the
editor can run it on a worker thread for live previews and the CLI can use
it as is. Alpha is never touched: recolouring changes colour, not shape.

Conventions follow Photoshop's Hue/Saturation dialog: hue in degrees
(-180..180), saturation and lightness in percent (-100..100); lightness
mixes towards black or white. Colorize keeps each pixel's luminosity and
takes hue and saturation from the chosen colour (the W3C/Photoshop "Color"
blend), so shading survives the change of colour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@functools.cache
def _lum_weights() -> np.ndarray:
    """W3C/Photoshop luminosity weights (float32; made on first use, so importing needs no NumPy)."""
    return np.array([0.3, 0.59, 0.11], np.float32)


def _check(pixels: np.ndarray) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim != 3 or arr.shape[2] != 4 or arr.dtype != np.uint8:
        raise ValueError(f"expected RGBA uint8 (H, W, 4), got {arr.dtype} {arr.shape}")
    return arr


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out


def _to_uint8(rgb01: np.ndarray) -> np.ndarray:
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    return cv2.convertScaleAbs(rgb01, alpha=255.0)  # rounds and saturates


def adjust_hsl(pixels: np.ndarray, hue: float = 0.0, saturation: float = 0.0,
               lightness: float = 0.0) -> np.ndarray:
    """Rotate hue by ``hue`` degrees, scale saturation and shift lightness (percent)."""
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    arr = _check(pixels)
    if not (-100.0 <= saturation <= 100.0 and -100.0 <= lightness <= 100.0):
        raise ValueError("saturation and lightness must be within -100..100")
    rgb = np.ascontiguousarray(arr[..., :3]).astype(np.float32) * np.float32(1 / 255)
    if hue or saturation:
        hls = cv2.cvtColor(rgb, cv2.COLOR_RGB2HLS)  # H in degrees, L and S in 0..1
        if hue:
            hls[..., 0] = np.mod(hls[..., 0] + np.float32(hue), 360.0)
        if saturation:
            hls[..., 2] = np.clip(hls[..., 2] * np.float32(1.0 + saturation / 100.0), 0.0, 1.0)
        rgb = cv2.cvtColor(hls, cv2.COLOR_HLS2RGB)
    if lightness < 0:
        rgb *= np.float32(1.0 + lightness / 100.0)
    elif lightness > 0:
        amount = np.float32(lightness / 100.0)
        rgb += (1.0 - rgb) * amount
    return _with_alpha(_to_uint8(rgb), arr[..., 3])


def _set_lum(color: np.ndarray, lum: np.ndarray) -> np.ndarray:
    """W3C SetLum: move ``color`` to luminosity ``lum`` and clip into gamut."""
    c = color + (lum - color @ _lum_weights())[..., None]
    ll = (c @ _lum_weights())[..., None]
    lo = c.min(axis=-1, keepdims=True)
    hi = c.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(lo < 0.0, ll + (c - ll) * ll / np.maximum(ll - lo, 1e-7), c)
        c = np.where(hi > 1.0, ll + (c - ll) * (1.0 - ll) / np.maximum(hi - ll, 1e-7), c)
    return np.clip(c, 0.0, 1.0)


def colorize(pixels: np.ndarray, color: tuple[int, int, int], amount: float = 1.0) -> np.ndarray:
    """Tint towards ``color`` (RGB 0..255) keeping each pixel's luminosity.

    ``amount`` (0..1) mixes the tinted result with the original.
    """
    arr = _check(pixels)
    if not 0.0 <= amount <= 1.0:
        raise ValueError("amount must be within 0..1")
    rgb = arr[..., :3].astype(np.float32) * np.float32(1 / 255)
    target = np.asarray(color[:3], np.float32) / 255.0
    lum = rgb @ _lum_weights()
    tinted = _set_lum(np.broadcast_to(target, rgb.shape), lum).astype(np.float32)
    if amount < 1.0:
        tinted = rgb + (tinted - rgb) * np.float32(amount)
    return _with_alpha(_to_uint8(tinted), arr[..., 3])


@dataclass(frozen=True)
class Recolor:
    """One recolour setting, as the dialog edits it and the undo step records it."""

    mode: str = "hsl"  # "hsl" or "colorize"
    hue: float = 0.0
    saturation: float = 0.0
    lightness: float = 0.0
    color: tuple[int, int, int] = (255, 0, 0)
    amount: float = 1.0

    @property
    def is_identity(self) -> bool:
        if self.mode == "colorize":
            return self.amount == 0.0
        return self.hue % 360 == 0 and self.saturation == 0 and self.lightness == 0

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        if self.mode == "colorize":
            return colorize(pixels, self.color, self.amount)
        if self.mode == "hsl":
            return adjust_hsl(pixels, self.hue, self.saturation, self.lightness)
        raise ValueError(f"unknown recolor mode {self.mode!r}")

"""Convert any Pillow image mode to straight-alpha RGBA uint8.

Deep modes are scaled, not clipped: 16-bit values map 0..65535 to 0..255,
floats map 0..1 to 0..255. CMYK goes through the embedded ICC profile when
there is one, else the usual (1-C)(1-K) formula.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

def _scale16(arr: np.ndarray) -> np.ndarray:
    a = np.clip(arr.astype(np.int64), 0, 65535)
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


def _gray_to_rgba(gray: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    out = np.empty(gray.shape + (4,), np.uint8)
    out[..., 0] = out[..., 1] = out[..., 2] = gray
    out[..., 3] = 255 if alpha is None else alpha
    return out


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    icc = im.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
        except Exception:  # a broken profile: fall back to the plain formula
            pass
    cmyk = np.asarray(im, dtype=np.uint16)
    k = 255 - cmyk[..., 3:4]
    rgb = ((255 - cmyk[..., :3]) * k + 127) // 255
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def pil_to_rgba(im: Image.Image) -> np.ndarray:
    """A C-contiguous (H, W, 4) uint8 array with straight alpha."""
    mode = im.mode
    if mode == "RGBA":
        return np.array(im, dtype=np.uint8)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return _gray_to_rgba(_scale16(np.asarray(im)))
    if mode == "I":
        # 32-bit integer images come from 16-bit sources in practice (PNG, TIFF).
        return _gray_to_rgba(_scale16(np.asarray(im)))
    if mode == "F":
        f = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        return _gray_to_rgba(np.round(np.clip(f, 0.0, 1.0) * 255.0).astype(np.uint8))
    if mode == "CMYK":
        return np.array(_cmyk_to_rgb(im).convert("RGBA"), dtype=np.uint8)
    if mode == "LAB":
        from PIL import ImageCms
        rgb = ImageCms.applyTransform(im, ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"))
        return np.array(rgb.convert("RGBA"), dtype=np.uint8)
    # L, LA, P/PA (palette transparency included), 1, RGB, RGBX, RGBa (premultiplied),
    # YCbCr, HSV: Pillow's own conversion is exact for these.
    return np.array(im.convert("RGBA"), dtype=np.uint8)

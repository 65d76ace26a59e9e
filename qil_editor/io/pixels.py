"""Convert any Pillow image mode to straight-alpha RGBA uint8, with as few copies as possible.

Deep modes are scaled, not clipped: 16-bit values map 0..65535 to 0..255,
floats map 0..1 to 0..255. CMYK goes through the embedded ICC profile when
there is one, else the usual (1-C)(1-K) formula.

:func:`decode_rgba` decodes a file's pixels straight into the final array
where Pillow allows it (RGB and RGBA into the RGBA array itself; gray,
palette and 16-bit gray into one small plane expanded once), so a picture at
the pixel limit peaks at about its RGBA size instead of three or four times
it. Every such shortcut is checked once per format and mode against
Pillow's ordinary conversion and dropped if they disagree.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

_LUT16 = None


def _scale16(arr: np.ndarray) -> np.ndarray:
    """16-bit (or wider) values to 8-bit, rounded: one table look-up, no 64-bit temporary."""
    global _LUT16
    if _LUT16 is None:
        _LUT16 = ((np.arange(65536, dtype=np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if arr.dtype not in (np.uint16, np.dtype("<u2"), np.dtype(">u2")):
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    return _LUT16[arr]


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


# ----- decoding straight into the final array -------------------------------------------------
#: Formats whose loader decodes into the image memory it is given (ImageFile.load).
DIRECT_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "TIFF", "WEBP")
#: mode -> (Pillow raw mode of the shared buffer, numpy shape suffix, dtype); dtypes as strings
#: so importing this module does not need NumPy (the editor's first frame does without it)
_SHARED = {"RGB": ("RGBX", (4,), "u1"), "RGBA": ("RGBA", (4,), "u1"),
           "L": ("L", (), "u1"), "P": ("P", (), "u1"), "I;16": ("I;16", (), "<u2")}


def _palette_lut(im: Image.Image) -> np.ndarray:
    """(256, 4) RGBA for each palette index, transparency included, as Pillow converts it."""
    strip = Image.new("P", (256, 1))
    strip.putdata(list(range(256)))
    palette = im.getpalette("RGB") or []
    strip.putpalette(palette + [0] * (768 - len(palette)))
    if "transparency" in im.info:
        strip.info["transparency"] = im.info["transparency"]
    return np.asarray(strip.convert("RGBA"))[0]


def _expand(plane: np.ndarray, mode: str, im: Image.Image) -> np.ndarray:
    if plane.ndim == 3:  # RGB decoded as RGBX (X = 255) or RGBA: already final
        return plane
    if mode == "P":
        out = np.empty(plane.shape + (4,), np.uint8)
        np.take(_palette_lut(im), plane, axis=0, out=out)
        return out
    if mode == "I;16":
        plane = _scale16(plane)
    return _gray_to_rgba(plane)


def _decode_shared(im: Image.Image) -> np.ndarray | None:
    """Decode ``im`` into a numpy buffer Pillow writes to directly; None when it would not."""
    raw, extra, dtype = _SHARED[im.mode]
    buf = np.empty((im.height, im.width) + extra, dtype)
    core = Image.core.map_buffer(buf, im.size, "raw", 0, (raw, 0, 1))
    im.im = core
    im.load()
    if im.im is not core:  # the loader made its own image memory: use that instead
        return None
    return buf


@functools.lru_cache(maxsize=None)
def _shared_decode_works(fmt: str, mode: str) -> bool:
    """Whether decoding into a shared buffer gives Pillow's own result, tried on a tiny picture."""
    rng = np.random.default_rng(7)
    try:
        if mode == "P":
            sample = Image.fromarray(rng.integers(0, 4, (3, 5), dtype=np.uint8), "L").convert("P")
            sample.putpalette([10, 20, 30, 200, 100, 0, 0, 255, 0, 5, 5, 250] + [0] * 756)
        elif mode == "I;16":
            sample = Image.fromarray(rng.integers(0, 65535, (3, 5)).astype("<u2"))
        else:
            bands = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
            arr = rng.integers(0, 255, (3, 5, bands), dtype=np.uint8)
            sample = Image.fromarray(arr[..., 0] if bands == 1 else arr, mode)
        data = io.BytesIO()
        sample.save(data, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        with Image.open(io.BytesIO(data.getvalue())) as ref:
            if ref.mode != mode:
                return False
            expect = pil_to_rgba(ref)
        with Image.open(io.BytesIO(data.getvalue())) as trial:
            plane = _decode_shared(trial)
            got = None if plane is None else _expand(plane, mode, trial)
        return got is not None and np.array_equal(got, expect)
    except Exception:  # an encoder missing here, or a Pillow that works differently: no shortcut
        return False


def can_decode_direct(im: Image.Image) -> bool:
    """Whether :func:`decode_rgba` will decode ``im`` straight into (nearly) its final array."""
    return (im.format in DIRECT_FORMATS and im.mode in _SHARED and bool(im.tile)
            and _shared_decode_works("BMP" if im.format == "DIB" else im.format, im.mode))


def decode_rgba(im: Image.Image) -> np.ndarray:
    """Decode an opened (not yet loaded) Pillow image to RGBA uint8 with the least memory.

    Falls back to Pillow's ordinary load and :func:`pil_to_rgba` for other
    formats and modes (CMYK, Lab, 32-bit, animated GIF frames...).
    """
    if can_decode_direct(im):
        mode = im.mode
        plane = _decode_shared(im)
        if plane is not None:
            return _expand(plane, mode, im)
    im.load()
    return pil_to_rgba(im)


#: EXIF orientation -> the numpy view that shows the picture upright (as ImageOps.exif_transpose).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright), read without decoding pixels; 1 when unreadable.

    Pillow's PNG reader decodes the whole picture to look for an eXIf chunk
    after the pixels; we only take one that comes before them.
    """
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        value = im.getexif().get(0x0112, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:  # a damaged EXIF block does not stop the picture from opening
        return 1


def orient(rgba: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an RGBA array (one copy, only when it is not upright)."""
    fix = _ORIENT.get(orientation)
    return rgba if fix is None else np.ascontiguousarray(fix(rgba))

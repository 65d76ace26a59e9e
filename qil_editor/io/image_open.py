"""Open any supported picture safely: flat images through Pillow, PSD/PSB through psd-tools.

Nothing here trusts the file: the path is checked first, the size is read
from the header and checked before decoding, and every failure becomes an
:class:`InputFileError` that names the file and says what to do.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..document import Document, Layer
from ..errors import InputFileError, QilError
from .files import check_input_path, input_error_from_os
from .limits import DEFAULT_MAX_PIXELS, check_pixels
from .formats import OPEN_EXTENSIONS, layered_format
from .pixels import pil_to_rgba

#: Pillow formats we open (JPEG covers the multi-picture MPO files phones write; DIB is headerless BMP).
PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "DIB", "GIF")
#: File name extensions the open dialog offers.
IMAGE_EXTENSIONS = OPEN_EXTENSIONS  # from the one format table (formats.py)

_PIL_LOCK = threading.Lock()


@dataclass(frozen=True)
class SourceInfo:
    """What a file holds, read from its header: for ``qil info`` and the title bar."""

    path: str
    format: str  # PNG, JPEG, PSD, PSB, ...
    width: int
    height: int
    color_mode: str  # RGB, RGBA, Grayscale, CMYK, Indexed, Bitmap, ...
    bit_depth: int  # bits per channel


def is_psd(path: str | os.PathLike) -> bool:
    """True when the file starts with the PSD/PSB signature (whatever its extension)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"8BPS"
    except OSError:
        return False


def _open_header(path: Path) -> Image.Image:
    """``Image.open`` (which parses the header only) with Pillow's own bomb check held off.

    We check the size ourselves, with the caller's limit and a message that
    names the dimensions. Pillow keeps its limit in a module global, so it is
    lifted under a lock for the header parse only and restored at once;
    decoding happens outside the lock.
    """
    with _PIL_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path, formats=PILLOW_FORMATS)
        finally:
            Image.MAX_IMAGE_PIXELS = old


def _too_large(path: Path, max_pixels: int | None, exc: Exception) -> InputFileError:
    return InputFileError(
        f"{path.name}: the picture is larger than the "
        f"{(max_pixels or 0) / 1e6:.0f} megapixels QIL Editor opens safely ({exc}).",
        "Scale it down in another editor first (or raise the limit if you trust the file).")


def _not_an_image(path: Path) -> InputFileError:
    ext = path.suffix.lower().lstrip(".")
    with contextlib.suppress(OSError):
        with open(path, "rb") as fh:
            head = fh.read(512)
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
        if head and printable == len(head):
            return InputFileError(
                f"{path.name} is a text file, not a picture"
                + (f" (although its name ends in .{ext})." if ext else "."),
                "Open the original image file instead; renaming a file does not convert it.")
    return InputFileError(
        f"{path.name} is not a picture QIL Editor can read (unknown or damaged file format).",
        "Use PNG, JPEG, WebP, TIFF, BMP, GIF or PSD; re-export it from the program that made it.")


def _damaged(path: Path, exc: Exception) -> InputFileError:
    detail = str(exc).strip().rstrip(".")
    return InputFileError(
        f"{path.name} is damaged or incomplete and cannot be opened"
        + (f" ({detail})." if detail else "."),
        "The file may have been cut off while copying or downloading. Get a fresh copy or re-export it.")


def _is_io_error(exc: OSError) -> bool:
    """A real I/O failure (has an errno), as opposed to a decoder's complaint."""
    return isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)) or bool(exc.errno)


@contextlib.contextmanager
def _pillow_image(path: Path, max_pixels: int | None) -> Iterator[Image.Image]:
    """Open ``path`` with Pillow (header only), size-checked, errors translated."""
    Image.init()  # register every plugin so ``formats`` can name them
    try:
        im = _open_header(path)
    except UnidentifiedImageError:
        try:  # maybe a real image in a format we do not take
            with Image.open(path) as other:
                fmt = other.format
        except Exception:
            fmt = None
        if fmt:
            raise InputFileError(
                f"{path.name} is a {fmt} image, a format QIL Editor does not open.",
                "Convert it to PNG, JPEG, WebP, TIFF or PSD first.") from None
        raise _not_an_image(path) from None
    except OSError as exc:
        if _is_io_error(exc):
            raise input_error_from_os(path, exc) from None
        raise _damaged(path, exc) from None
    except (SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError,
            struct.error) as exc:
        raise _damaged(path, exc) from None
    try:
        check_pixels(path, im.width, im.height, max_pixels)
        yield im
    except QilError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(path, max_pixels, exc) from None
    except MemoryError:
        raise InputFileError(f"{path.name} is too large to open with the memory available.",
                             "Close other programs or scale the image down first.") from None
    except OSError as exc:
        if _is_io_error(exc):
            raise input_error_from_os(path, exc) from None
        raise _damaged(path, exc) from None
    except (SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError, RuntimeError,
            struct.error) as exc:
        raise _damaged(path, exc) from None
    finally:
        im.close()


def _decode_first_frame(im: Image.Image) -> np.ndarray:
    im.seek(0)
    im.load()
    oriented = ImageOps.exif_transpose(im)
    return pil_to_rgba(oriented if oriented is not None else im)


def open_image(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Any supported file flattened to RGBA uint8 (straight alpha), EXIF orientation applied.

    PSD/PSB files are flattened (our compositor over their layers, or their
    merged image when they have none).
    """
    p = check_input_path(path)
    if is_psd(p):
        from ..document import composite
        from .psd_read import read_psd
        doc = read_psd(p, max_pixels=max_pixels)
        return composite(doc)
    layered = layered_format(p)  # OpenRaster (formats.py)
    if layered is not None:
        from ..document import composite
        return composite(layered.read(p, max_pixels=max_pixels))
    with _pillow_image(p, max_pixels) as im:
        return _decode_first_frame(im)


def open_document(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Document:
    """A :class:`Document` for any supported file; ``doc.path`` is set.

    A flat picture becomes one layer named after the file; a PSD/PSB keeps
    its layers (see :mod:`psd_read`).
    """
    p = check_input_path(path)
    if is_psd(p):
        from .psd_read import read_psd
        return read_psd(p, max_pixels=max_pixels)
    layered = layered_format(p)  # OpenRaster (formats.py)
    if layered is not None:
        return layered.read(p, max_pixels=max_pixels)
    with _pillow_image(p, max_pixels) as im:
        pixels = _decode_first_frame(im)
    h, w = pixels.shape[:2]
    return Document(w, h, [Layer(pixels, name=p.stem or "Background")], path=str(p))


_PIL_MODE_NAMES = {"1": ("Bitmap", 1), "L": ("Grayscale", 8), "LA": ("Grayscale + alpha", 8),
                   "P": ("Indexed", 8), "PA": ("Indexed + alpha", 8), "RGB": ("RGB", 8),
                   "RGBA": ("RGBA", 8), "RGBX": ("RGB", 8), "CMYK": ("CMYK", 8),
                   "YCbCr": ("YCbCr", 8), "LAB": ("Lab", 8), "I": ("Grayscale", 32),
                   "F": ("Grayscale float", 32), "I;16": ("Grayscale", 16),
                   "I;16B": ("Grayscale", 16), "I;16L": ("Grayscale", 16), "I;16N": ("Grayscale", 16)}


def _pillow_bit_depth(im: Image.Image, default: int) -> int:
    if im.format == "PNG" and im.tile:
        rawmode = im.tile[0][3] if len(im.tile[0]) > 3 else None
        rawmode = rawmode[0] if isinstance(rawmode, tuple) else rawmode
        if isinstance(rawmode, str) and ";16" in rawmode:
            return 16
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if bits:
            return int(bits[0] if isinstance(bits, tuple) else bits)
    return default


def describe_file(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> SourceInfo:
    """Format, size, colour mode and bit depth, from the header only."""
    p = check_input_path(path)
    if is_psd(p):
        from .psd_read import read_psd_header
        return read_psd_header(p)
    layered = layered_format(p)
    if layered is not None and layered.describe is not None:
        return layered.describe(p)
    with _pillow_image(p, max_pixels) as im:
        mode_name, depth = _PIL_MODE_NAMES.get(im.mode, (im.mode, 8))
        if im.mode == "P" and "transparency" in im.info:
            mode_name = "Indexed + transparency"
        return SourceInfo(str(p), str(im.format), im.width, im.height, mode_name,
                          _pillow_bit_depth(im, depth))

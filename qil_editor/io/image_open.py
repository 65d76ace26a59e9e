"""Open any supported picture safely: flat images through Pillow, PSD/PSB through psd-tools.

Nothing here trusts the file: the path is checked first (no folders,
devices, pipes or link loops), the size is read from the header and checked
against the pixel limit and the memory budget before decoding, a file too
small to hold the picture it claims is refused as damaged, and every failure
becomes an :class:`InputFileError` that names the file and says what to do
(never a raw exception text).
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..document import Document, Layer
from ..errors import InputFileError, QilError
from .atomic import clean_stale_parts
from .files import check_input_path, damage_detail, input_error_from_os
from .limits import (DEFAULT_MAX_PIXELS, apply_pillow_limit, check_memory, check_pixels,
                     image_peak_bytes, pillow_limit_for)
from .formats import OPEN_EXTENSIONS, layered_format
from .pixels import can_decode_direct, decode_rgba, exif_orientation, orient

#: Pillow formats we open (JPEG covers the multi-picture MPO files phones write; DIB is headerless BMP).
PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "DIB", "GIF")
#: File name extensions the open dialog offers.
IMAGE_EXTENSIONS = OPEN_EXTENSIONS  # from the one format table (formats.py)

_PIL_LOCK = threading.Lock()
apply_pillow_limit(DEFAULT_MAX_PIXELS)  # one limit: Pillow's own bomb check uses ours


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
    names the dimensions. Pillow keeps its limit (set to ours at import) in a
    module global, so it is lifted under a lock for the header parse only
    and restored at once; decoding happens outside the lock.
    """
    with _PIL_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path, formats=PILLOW_FORMATS)
        finally:
            Image.MAX_IMAGE_PIXELS = old


def _too_large(path: Path, max_pixels: int | None) -> InputFileError:
    return InputFileError(
        f"{path.name}: the picture is larger than the "
        f"{(max_pixels or 0) / 1e6:.0f} megapixels QIL Editor opens.",
        "Scale it down in another editor first, or raise the limit with QIL_MAX_PIXELS if you "
        "trust the file.")


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


def _damaged(path: Path, exc: Exception | None, detail: str | None = None) -> InputFileError:
    detail = (detail if detail is not None else damage_detail(exc)).strip().rstrip(".")
    return InputFileError(
        f"{path.name} is damaged or incomplete and cannot be opened"
        + (f" ({detail})." if detail else "."),
        "The file may have been cut off while copying or downloading. Get a fresh copy or re-export it.")


def _is_io_error(exc: OSError) -> bool:
    """A real I/O failure (has an errno), as opposed to a decoder's complaint."""
    return isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)) or bool(exc.errno)


def _jpeg_huffman_coded(path: Path) -> bool:
    """Whether a JPEG's frame is Huffman coded (SOF0-3, SOF5-7), read from its markers.

    Arithmetic-coded frames can spend less than a bit on an 8x8 block, so
    the size check below only applies to Huffman ones.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError:
        return False
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7):
            return True
        if marker in (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDA):
            return False
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return False


#: Smallest number of bits a pixel costs in each mode (palette and gray PNGs may be 1-bit).
_MIN_PNG_BITS = {"1": 1, "L": 1, "P": 1, "LA": 16, "I;16": 16, "I": 16, "RGB": 24, "RGBA": 32}


def _check_plausible_size(path: Path, im: Image.Image) -> None:
    """Refuse a PNG or JPEG far too small to hold the picture its header claims.

    Deflate cannot shrink data more than 1032:1, and a Huffman-coded JPEG
    spends at least one bit on every 8x8 block, so a 712-byte JPEG claiming
    16384x16384 pixels is cut short or forged: decoding it would allocate
    a gigabyte to show grey.
    """
    size = path.stat().st_size
    w, h = im.width, im.height
    if im.format == "PNG":
        bits = _MIN_PNG_BITS.get(im.mode, 1)
        least = h * (1 + (w * bits + 7) // 8) // 1100
    elif im.format == "JPEG" and _jpeg_huffman_coded(path):
        least = ((w + 7) // 8) * ((h + 7) // 8) // 16
    else:
        return
    if size < least:
        raise _damaged(path, None, f"{size} bytes cannot hold the {w}x{h} picture its header "
                                   "claims; the file is cut short or forged")


@contextlib.contextmanager
def _pillow_limit(max_pixels: int | None) -> Iterator[None]:
    """Decode under Pillow's bomb limit for ``max_pixels`` (the lock is taken only if it differs)."""
    wanted = pillow_limit_for(max_pixels)
    if Image.MAX_IMAGE_PIXELS == wanted:
        yield
        return
    with _PIL_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = wanted
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = old


@contextlib.contextmanager
def _pillow_image(path: Path, max_pixels: int | None) -> Iterator[Image.Image]:
    """Open ``path`` with Pillow (header only), size-checked, errors translated."""
    Image.init()  # register every plugin so ``formats`` can name them
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's chatter about odd chunks is not for users
            im = _open_header(path)
    except UnidentifiedImageError:
        try:  # maybe a real image in a format we do not take
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
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
    except MemoryError:
        raise InputFileError(f"{path.name} is too large to open with the memory available.",
                             "Close other programs or scale the image down first.") from None
    except Exception as exc:  # Pillow's plugins raise many kinds on a damaged header
        raise _damaged(path, exc) from None
    try:
        with warnings.catch_warnings(), _pillow_limit(max_pixels):
            warnings.simplefilter("ignore")
            check_pixels(path, im.width, im.height, max_pixels)
            yield im
    except QilError:
        raise
    except Image.DecompressionBombError:
        raise _too_large(path, max_pixels) from None
    except MemoryError:
        raise InputFileError(f"{path.name} is too large to open with the memory available.",
                             "Close other programs or scale the image down first.") from None
    except OSError as exc:
        if _is_io_error(exc):
            raise input_error_from_os(path, exc) from None
        raise _damaged(path, exc) from None
    except Exception as exc:  # a decoder failing on damaged data, whatever it raises
        raise _damaged(path, exc) from None
    finally:
        im.close()


def _decode_first_frame(path: Path, im: Image.Image) -> np.ndarray:
    """The first frame as upright RGBA, after the plausibility and memory checks."""
    im.seek(0)
    _check_plausible_size(path, im)
    orientation = exif_orientation(im)
    need = image_peak_bytes(im.width, im.height, im.mode, can_decode_direct(im))
    if orientation != 1:
        need += im.width * im.height * 4  # the upright copy
    check_memory(path, need, f"a {im.width}x{im.height} picture")
    return orient(decode_rgba(im), orientation)


def _tidy_folder(p: Path) -> None:
    """Opening a file is a good moment to remove our temporary files a killed save left beside it."""
    clean_stale_parts(p.parent)


def open_image(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               allow_damaged: bool = False) -> np.ndarray:
    """Any supported file flattened to RGBA uint8 (straight alpha), EXIF orientation applied.

    PSD/PSB files are flattened (our compositor over their layers, or their
    merged image when they have none).
    """
    p = check_input_path(path)
    _tidy_folder(p)
    if is_psd(p):
        from ..document import composite
        from .psd_read import read_psd
        doc = read_psd(p, max_pixels=max_pixels, allow_damaged=allow_damaged)
        return composite(doc)
    layered = layered_format(p)  # OpenRaster (formats.py)
    if layered is not None:
        from ..document import composite
        return composite(layered.read(p, max_pixels=max_pixels))
    with _pillow_image(p, max_pixels) as im:
        return _decode_first_frame(p, im)


def open_document(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                  allow_damaged: bool = False, groups: bool = True) -> Document:
    """A :class:`Document` for any supported file; ``doc.path`` is set.

    A flat picture becomes one layer named after the file; a PSD/PSB keeps
    its layers and, unless ``groups`` is False, its groups as document
    groups (``doc.groups``), so the editor shows them as a tree and a save
    writes them back; ``groups=False`` folds them into "Group/Layer" names
    for consumers that want a flat list. A PSD with a damaged layer raises
    :class:`InputFileError` naming it, unless ``allow_damaged``: then it
    opens and ``doc.damaged_layers`` lists (layer name, what is wrong).
    """
    p = check_input_path(path)
    _tidy_folder(p)
    if is_psd(p):
        from .psd_read import read_psd
        found: list = []
        doc = read_psd(p, max_pixels=max_pixels, allow_damaged=allow_damaged, damaged=found,
                       groups=groups)
        doc.damaged_layers = found
        return doc
    layered = layered_format(p)  # OpenRaster (formats.py)
    if layered is not None:
        doc = layered.read(p, max_pixels=max_pixels)
        doc.damaged_layers = []
        return doc
    with _pillow_image(p, max_pixels) as im:
        pixels = _decode_first_frame(p, im)
    h, w = pixels.shape[:2]
    doc = Document(w, h, [Layer(pixels, name=p.stem or "Background")], path=str(p))
    doc.damaged_layers = []
    return doc


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

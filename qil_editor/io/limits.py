"""How big an image we agree to decode, and the check that enforces it.

The check runs on sizes read from a file's header, before any pixel is
decoded, so a tiny file that claims to be 60000x60000 (a decompression bomb)
costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputFileError

#: 16384 x 16384: a 268-megapixel canvas is ~1 GiB of RGBA, as much as an editor can sensibly hold.
DEFAULT_MAX_PIXELS = 16384 * 16384


def check_pixels(path: str | Path, width: int, height: int, max_pixels: int | None,
                 what: str = "image") -> None:
    """Raise InputFileError when ``width x height`` exceeds ``max_pixels`` (None: no limit)."""
    if width < 0 or height < 0:
        raise InputFileError(f"{Path(path).name}: the file says the {what} is {width}x{height} "
                             "pixels, which is impossible; the file is damaged.",
                             "Re-export it from the program that made it.")
    if max_pixels is not None and width * height > max_pixels:
        raise InputFileError(
            f"{Path(path).name}: the {what} is {width}x{height} pixels "
            f"({width * height / 1e6:.0f} megapixels), more than the "
            f"{max_pixels / 1e6:.0f} megapixels QIL Editor opens safely.",
            "Scale it down in another editor first (or raise the limit if you trust the file).")

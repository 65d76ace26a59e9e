"""How big a file we agree to decode, and the checks that enforce it.

Two limits, both checked on sizes read from a file's header, before any
pixel is decoded, so a tiny file that claims to be 60000x60000 (a
decompression bomb) costs nothing:

* a **pixel limit** (``QIL_MAX_PIXELS``, default 16384 x 16384), the same
  for every format; Pillow's own bomb limit is set to it, so no format
  answers with Pillow's different number;
* a **memory budget** (``QIL_MEMORY_BUDGET`` or ``qil --memory-budget``,
  default a share of the memory available now): the estimated peak of
  decoding the file (canvas, every layer and mask, rendered fill layers,
  baked adjustments, the composite) must fit in it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import InputFileError, UsageError

ENV_MAX_PIXELS = "QIL_MAX_PIXELS"
ENV_MEMORY_BUDGET = "QIL_MEMORY_BUDGET"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
#: Share of the memory available now that one file may take by default.
DEFAULT_BUDGET_SHARE = 0.6
#: Never less than this by default (a machine under pressure can still open small files).
MIN_DEFAULT_BUDGET = 256 * 1024 ** 2
#: When the available memory cannot be read (not Linux, no sysconf).
FALLBACK_BUDGET = 4 * 1024 ** 3


def parse_size(text: str) -> int | None:
    """``"2G"``, ``"1500M"``, ``"1.5GiB"``, ``"123456"`` (bytes) -> bytes; ``"unlimited"`` -> None."""
    if text.strip().lower() in ("unlimited", "none", "off"):
        return None
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise ValueError(f"not a positive size: {text!r}")
    return value


def _env_max_pixels() -> int:
    raw = os.environ.get(ENV_MAX_PIXELS, "").strip()
    if raw:
        try:
            value = int(float(raw))
            if value > 0:
                return value
        except ValueError:
            pass
    return 16384 * 16384


#: 16384 x 16384 unless ``QIL_MAX_PIXELS`` says otherwise: a 268-megapixel canvas is 1 GiB of RGBA.
DEFAULT_MAX_PIXELS = _env_max_pixels()


def format_bytes(n: float) -> str:
    """``1.5 GB``-style sizes for messages (binary units, as the budget is given)."""
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


# ----- memory available and the budget ------------------------------------------
def _cgroup_room() -> int | None:
    """Bytes left under a container's memory limit (cgroup v2 or v1), if there is one."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            raw = Path(limit_file).read_text().strip()
            if raw == "max":
                return None
            limit = int(raw)
            if limit >= 1 << 60:  # v1 spells "no limit" as a huge number
                return None
            return max(0, limit - int(Path(usage_file).read_text().strip()))
        except (OSError, ValueError):
            continue
    return None


def available_memory() -> int | None:
    """Memory this process could still use now (MemAvailable, container limit), or None."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            avail = None
    room = _cgroup_room()
    if room is not None:
        avail = room if avail is None else min(avail, room)
    return avail


_UNSET = object()
_override: object = _UNSET


def set_memory_budget(value: int | None | object = _UNSET) -> None:
    """Fix the process-wide budget (bytes, or None for unlimited); no argument: back to the default."""
    global _override
    _override = value


def memory_budget() -> int | None:
    """The budget in bytes (None: unlimited): the override, ``QIL_MEMORY_BUDGET``, or the default.

    The default is a share of the memory available at the time of the
    check, so a busy machine refuses earlier than an idle one.
    """
    if _override is not _UNSET:
        return _override  # type: ignore[return-value]
    raw = os.environ.get(ENV_MEMORY_BUDGET, "").strip()
    if raw:
        try:
            return parse_size(raw)
        except ValueError:
            raise UsageError(f"{ENV_MEMORY_BUDGET}={raw!r} is not a size.",
                             "Use a number of bytes with K, M or G (for example 4G), or 'unlimited'.") \
                from None
    avail = available_memory()
    if avail is None:
        return FALLBACK_BUDGET
    return max(MIN_DEFAULT_BUDGET, int(avail * DEFAULT_BUDGET_SHARE))


def check_memory(path: str | Path, needed: int, what: str, budget: int | None | object = _UNSET) -> None:
    """Raise InputFileError when opening ``path`` would need more than the budget.

    ``what`` says where the memory goes ("a 20000x20000 canvas, 12 layers"),
    so the person knows what to shrink.
    """
    limit = memory_budget() if budget is _UNSET else budget
    if limit is None or needed <= limit:
        return
    raise InputFileError(
        f"{Path(path).name} needs about {format_bytes(needed)} of memory to open ({what}), "
        f"more than the {format_bytes(limit)} QIL Editor may use now.",
        "Close other programs, open a flattened or smaller copy, or raise the budget with "
        f"qil --memory-budget SIZE (or {ENV_MEMORY_BUDGET}) if the machine really has the room.")


# ----- pixel limit ---------------------------------------------------------------
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
            f"{max_pixels / 1e6:.0f} megapixels QIL Editor opens.",
            "Scale it down in another editor first, or raise the limit with "
            f"{ENV_MAX_PIXELS}=<pixels> if you trust the file.")


def pillow_limit_for(max_pixels: int | None) -> int | None:
    """The value for ``PIL.Image.MAX_IMAGE_PIXELS`` that matches ``max_pixels``.

    Pillow warns above its limit and refuses above twice it; we refuse above
    ours with our own message first, so its limit only has to be ours.
    """
    return None if max_pixels is None else int(max_pixels)


def apply_pillow_limit(max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Set Pillow's process-wide bomb limit to ours (done when :mod:`image_open` is imported)."""
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = pillow_limit_for(max_pixels)


# ----- decoded size models ---------------------------------------------------------
#: Bytes per pixel a Pillow image core of each mode holds (Pillow pads 3-band modes to 4).
PIL_CORE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2,
                  "I": 4, "F": 4, "LA": 4, "La": 4, "PA": 4, "RGB": 4, "RGBA": 4, "RGBX": 4,
                  "RGBa": 4, "CMYK": 4, "YCbCr": 4, "LAB": 4, "HSV": 4}


def image_peak_bytes(width: int, height: int, mode: str, direct: bool) -> int:
    """Estimated peak bytes to decode a flat image to RGBA (see ``pixels.decode_rgba``).

    ``direct``: Pillow decodes straight into the final array (RGB/RGBA), so
    the peak is the array itself; palette and gray images add their small
    decoded plane; other modes go through a converted copy.
    """
    px = width * height
    rgba = px * 4
    if direct:
        return rgba
    core = px * PIL_CORE_BYTES.get(mode, 4)
    if mode in ("L", "P", "1"):
        return rgba + core
    if mode.startswith("I;16") or mode in ("I", "F"):
        return rgba + core + px  # the 8-bit plane made on the way
    return rgba + 2 * core  # a converted Pillow copy, then the array


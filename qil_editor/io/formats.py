"""The one table of file formats: what we open, what we save, and the dialogs' filters.

Each :class:`FileFormat` names its extensions and, where it has them, a
reader (a layered file to a :class:`Document`), a writer and a content
check. Opening goes by content (a PSD or an OpenRaster file is recognised
whatever its name; everything else goes through Pillow), saving by
extension. The open and save dialogs build their filters from here, so a new
format is one more row, not one more ``if`` in several files.

Readers and writers are imported when first used: the table costs nothing
at start-up and python-pptx is loaded only by a PowerPoint export.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

Warn = Callable[[str], None]


@dataclass(frozen=True)
class FileFormat:
    key: str  # short name, also the "kind" a save reports: "psd", "ora"...
    label: str  # what a person calls it, in dialogs and messages
    extensions: tuple[str, ...]  # lower case, with the dot; the first is the one we add
    read: Callable | None = None  # (path, max_pixels=...) -> Document; None: Pillow opens it flat
    write: Callable | None = None  # (doc, path, warn, **options) -> None, atomic
    sniff: Callable[[Path], bool] | None = None  # recognises the file by its first bytes
    describe: Callable | None = None  # (path) -> SourceInfo from the header only
    layered: bool = False  # the file keeps layers
    linkable: bool = False  # can keep layer images beside the file (SVG --linked)
    openable: bool = True  # offered by the open dialog

    @property
    def patterns(self) -> str:
        return " ".join(f"*{ext}" for ext in self.extensions)

    @property
    def filter(self) -> str:
        """A Qt file dialog filter: ``OpenRaster (*.ora)``."""
        return f"{self.label} ({self.patterns})"


# ----- readers and writers, imported on first use ----------------------------------------------
def _read_psd(path, *, max_pixels=None, **_):
    from .psd_read import read_psd
    return read_psd(path, max_pixels=max_pixels)


def _describe_psd(path):
    from .psd_read import read_psd_header
    return read_psd_header(path)


def _is_psd(path) -> bool:
    from .image_open import is_psd
    return is_psd(path)


def _write_psd(doc, path, warn: Warn) -> None:
    from .psd_write import save_psd
    save_psd(doc, path)


def _read_ora(path, *, max_pixels=None, **_):
    from .ora import read_ora
    return read_ora(path, max_pixels=max_pixels)


def _describe_ora(path):
    from .ora import describe_ora
    return describe_ora(path)


def _is_ora(path) -> bool:
    from .ora import is_ora
    return is_ora(path)


def _write_ora(doc, path, warn: Warn) -> None:
    from .ora import write_ora
    write_ora(doc, path, warn)


def _write_svg(doc, path, warn: Warn, *, linked: bool = False) -> None:
    from .svg import write_svg
    write_svg(doc, path, warn, linked=linked)


def _write_pptx(doc, path, warn: Warn) -> None:
    from .pptx import write_pptx
    write_pptx(doc, path, warn)


def _write_flat_png(doc, path, warn: Warn) -> None:
    from .export import export_flat_png
    export_flat_png(doc, path)


def _write_zip(doc, path, warn: Warn) -> None:
    from .export import export_layers_zip
    export_layers_zip(doc, path)


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("psd", "Photoshop document", (".psd",), _read_psd, _write_psd, _is_psd, _describe_psd,
               layered=True),
    FileFormat("psb", "Photoshop large document", (".psb",), _read_psd, _write_psd, _is_psd,
               _describe_psd, layered=True),
    FileFormat("ora", "OpenRaster", (".ora",), _read_ora, _write_ora, _is_ora, _describe_ora,
               layered=True),
    FileFormat("pptx", "PowerPoint slide", (".pptx",), write=_write_pptx, layered=True, openable=False),
    FileFormat("svg", "SVG with layer images", (".svg",), write=_write_svg, layered=True, linkable=True,
               openable=False),
    FileFormat("png", "PNG image", (".png",), write=_write_flat_png),
    FileFormat("zip", "ZIP of layer PNGs", (".zip",), write=_write_zip, layered=True, openable=False),
    FileFormat("jpeg", "JPEG image", (".jpg", ".jpeg", ".jpe")),
    FileFormat("webp", "WebP image", (".webp",)),
    FileFormat("tiff", "TIFF image", (".tif", ".tiff")),
    FileFormat("bmp", "BMP image", (".bmp",)),
    FileFormat("gif", "GIF image", (".gif",)),
)

#: Every extension the open dialog offers (and a folder of images is scanned for).
OPEN_EXTENSIONS: tuple[str, ...] = tuple(ext for f in FORMATS if f.openable for ext in f.extensions)
#: Formats a document can be saved or exported as (a folder of layer PNGs aside).
SAVE_FORMATS: tuple[FileFormat, ...] = tuple(f for f in FORMATS if f.write is not None)


def by_key(key: str) -> FileFormat:
    for fmt in FORMATS:
        if fmt.key == key:
            return fmt
    raise KeyError(f"no file format {key!r}")


def format_for_path(path: str | os.PathLike) -> FileFormat | None:
    """The format a file name's extension names (None when no row has it)."""
    ext = Path(path).suffix.lower()
    for fmt in FORMATS:
        if ext in fmt.extensions:
            return fmt
    return None


def layered_format(path: str | os.PathLike) -> FileFormat | None:
    """The layered format a file is, judged by its content (None: a flat picture for Pillow)."""
    p = Path(path)
    for fmt in FORMATS:
        if fmt.sniff is not None and fmt.read is not None and fmt.sniff(p):
            return fmt
    return None


def save_extensions_text() -> str:
    """``.psd, .psb, .ora, ...`` for messages that list what can be saved."""
    return ", ".join(f"{f.extensions[0]} ({f.label})" for f in SAVE_FORMATS)


def open_filter() -> str:
    """The open dialog's filters: everything we read, then each format, then all files."""
    everything = " ".join(f"*{ext}" for ext in OPEN_EXTENSIONS)
    rows = [f"Images, PSD and OpenRaster ({everything})"]
    rows += [f.filter for f in FORMATS if f.openable]
    rows.append("All files (*)")
    return ";;".join(rows)


def export_filters(formats: tuple[FileFormat, ...] = SAVE_FORMATS) -> str:
    """The export dialog's filters, one per writable format."""
    return ";;".join(f.filter for f in formats)


def format_for_filter(selected: str) -> FileFormat | None:
    """The format behind a filter string the dialog returned."""
    for fmt in FORMATS:
        if fmt.filter == selected:
            return fmt
    return None


def with_extension(path: str, fmt: FileFormat) -> str:
    """``path`` with ``fmt``'s extension added when it has none of that format's."""
    if Path(path).suffix.lower() in fmt.extensions:
        return path
    return path + fmt.extensions[0]

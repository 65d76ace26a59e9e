"""Export a document as PNGs (one per layer, a folder or a ZIP) or as one flat PNG.

Each layer PNG is canvas-sized, with the layer placed at its offset and its
opacity applied to alpha, so the files line up when stacked in any editor
(as Photoshop's "Export Layers to Files" does). Files are numbered bottom-up:
``00_Background.png``, ``01_Sky.png``...
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ..document import Document, Layer, composite
from ..errors import OutputFileError, UsageError
from .atomic import atomic_write
from .files import output_error_from_os
from .psd_write import save_psd

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_CHARS = 80


def safe_file_stem(name: str) -> str:
    """A file name part that is valid on Windows, macOS and Linux (unicode kept)."""
    stem = _UNSAFE.sub("_", name).strip().strip(".").strip()
    stem = stem[:MAX_NAME_CHARS].rstrip(" .")
    if not stem:
        stem = "Layer"
    if stem.upper().split(".")[0] in _RESERVED:
        stem = "_" + stem
    return stem


def layer_file_names(doc: Document) -> list[str]:
    """The PNG names for each layer, bottom-up, e.g. ``03_Sky.png``."""
    digits = max(2, len(str(max(0, len(doc.layers) - 1))))
    return [f"{i:0{digits}d}_{safe_file_stem(layer.name)}.png" for i, layer in enumerate(doc.layers)]


def layer_on_canvas(layer: Layer, width: int, height: int) -> np.ndarray:
    """The layer placed on a transparent canvas-sized RGBA image, opacity in alpha."""
    out = np.zeros((height, width, 4), np.uint8)
    l, t = max(0, layer.x), max(0, layer.y)
    r, b = min(width, layer.x + layer.width), min(height, layer.y + layer.height)
    if r > l and b > t:
        out[t:b, l:r] = layer.pixels[t - layer.y:b - layer.y, l - layer.x:r - layer.x]
        if layer.opacity < 1.0:
            a = out[t:b, l:r, 3].astype(np.float32) * layer.opacity
            out[t:b, l:r, 3] = np.round(a).astype(np.uint8)
    return out


def _png_bytes(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _layer_pngs(doc: Document) -> Iterator[tuple[str, bytes]]:
    for name, layer in zip(layer_file_names(doc), doc.layers):
        yield name, _png_bytes(layer_on_canvas(layer, doc.width, doc.height))


def export_flat_png(doc: Document, path: str | os.PathLike) -> None:
    """The composite (visible layers) as one RGBA PNG, saved atomically."""
    data = _png_bytes(composite(doc))
    with atomic_write(path) as fh:
        fh.write(data)


def export_layers_png(doc: Document, folder: str | os.PathLike) -> list[Path]:
    """One PNG per layer into ``folder`` (created if needed); returns the paths written."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputFileError(f"Could not export layers: {target.name} is a file, not a folder.",
                              "Choose a folder (or a new folder name) for the layer PNGs.")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error_from_os(target, exc) from None
    written = []
    for name, data in _layer_pngs(doc):
        path = target / name
        with atomic_write(path) as fh:
            fh.write(data)
        written.append(path)
    return written


def export_layers_zip(doc: Document, path: str | os.PathLike) -> None:
    """The per-layer PNGs in one ZIP file, saved atomically."""
    with atomic_write(path) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in _layer_pngs(doc):
                zf.writestr(name, data)


SAVE_FORMATS = {".psd": "Photoshop (layers)", ".psb": "Photoshop large document (layers)",
                ".png": "flat PNG", ".zip": "ZIP of layer PNGs", "folder": "folder of layer PNGs"}


def save_document(doc: Document, path: str | os.PathLike) -> str:
    """Save by the target's kind: .psd/.psb, flat .png, .zip of layers, or a folder.

    A path that is an existing folder, ends with a separator or has no
    extension is taken as a folder for per-layer PNGs. Returns the kind used.
    """
    raw = os.fspath(path)
    p = Path(raw)
    ext = p.suffix.lower()
    if p.is_dir() or raw.endswith(("/", os.sep)) or not ext:
        export_layers_png(doc, p)
        return "folder"
    if ext in (".psd", ".psb"):
        save_psd(doc, p)
    elif ext == ".png":
        export_flat_png(doc, p)
    elif ext == ".zip":
        export_layers_zip(doc, p)
    else:
        raise UsageError(f"Cannot save as '{ext}' ({p.name}).",
                         "Use .psd (layers), .png (flat picture), .zip (layer PNGs) or a folder name.")
    return ext.lstrip(".")

"""OpenRaster (.ora), the open layered format of Krita, GIMP and MyPaint: read and write.

An .ora file is a ZIP: ``mimetype`` first and uncompressed (so the file can
be recognised by its first bytes), ``stack.xml`` (the layer stack, top layer
first: name, x/y, opacity, visibility, composite-op, edit-locked), one PNG
per layer in ``data/``, the flattened picture in ``mergedimage.png`` and a
preview of at most 256x256 in ``Thumbnails/thumbnail.png``.

Writing: the blend modes OpenRaster defines (Normal, Multiply, Screen,
Overlay, Darken, Lighten, Color Dodge, Color Burn, Hard Light, Soft Light,
Difference, Color, Luminosity, Hue, Saturation) are kept as ``svg:`` ops;
other modes, masks, clipping and special fill opacity are baked with a
warning that names the layer (:func:`export.export_layers`). Empty layers
are written as a 1x1 transparent PNG (a PNG cannot be empty) and read back
as empty layers.

Reading: nested stacks are flattened into the layer list the way the PSD
reader flattens groups: names become "Group/Layer", a hidden stack hides its
layers, stack opacity multiplies into its layers' and a stack's own blend
mode goes to its normal-mode layers. ``svg:`` ops and Krita's ``krita:`` ops
are understood; unknown ops are drawn as Normal, as the specification says.
Nothing in the file is trusted: sizes are checked before decoding, the XML
may not declare entities, members are read with size limits.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..document import BlendMode, Document, Layer, composite
from ..errors import InputFileError, QilError
from .atomic import atomic_write
from .export import Capabilities, export_layers, layer_png, png_bytes, xml_text
from .files import check_input_path, input_error_from_os
from .limits import DEFAULT_MAX_PIXELS, check_pixels
from .pixels import pil_to_rgba

MIMETYPE = b"image/openraster"
ORA_VERSION = "0.0.5"
THUMBNAIL_SIDE = 256
#: stack.xml larger than this is not a layer list but an attack or a mistake.
MAX_STACK_XML = 16 * 1024 * 1024

#: Our blend modes and the composite-op OpenRaster names them with.
ORA_OPS: dict[BlendMode, str] = {
    BlendMode.NORMAL: "svg:src-over",
    BlendMode.MULTIPLY: "svg:multiply",
    BlendMode.SCREEN: "svg:screen",
    BlendMode.OVERLAY: "svg:overlay",
    BlendMode.DARKEN: "svg:darken",
    BlendMode.LIGHTEN: "svg:lighten",
    BlendMode.COLOR_DODGE: "svg:color-dodge",
    BlendMode.COLOR_BURN: "svg:color-burn",
    BlendMode.HARD_LIGHT: "svg:hard-light",
    BlendMode.SOFT_LIGHT: "svg:soft-light",
    BlendMode.DIFFERENCE: "svg:difference",
    BlendMode.COLOR: "svg:color",
    BlendMode.LUMINOSITY: "svg:luminosity",
    BlendMode.HUE: "svg:hue",
    BlendMode.SATURATION: "svg:saturation",
}
CAPABILITIES = Capabilities("OpenRaster", frozenset(ORA_OPS))

# What other writers call modes when reading (after "svg:"/"krita:" and with - and space as _).
_OP_ALIASES = {
    "src_over": BlendMode.NORMAL, "plus": BlendMode.LINEAR_DODGE, "add": BlendMode.LINEAR_DODGE,
    "dodge": BlendMode.COLOR_DODGE, "burn": BlendMode.COLOR_BURN, "diff": BlendMode.DIFFERENCE,
    "luminize": BlendMode.LUMINOSITY, "soft_light_svg": BlendMode.SOFT_LIGHT,
    "soft_light_photoshop": BlendMode.SOFT_LIGHT, "linear_light": BlendMode.LINEAR_LIGHT,
    "hard_mix_photoshop": BlendMode.HARD_MIX, "hard_mix": BlendMode.HARD_MIX,
    "darker_color": BlendMode.DARKER_COLOR, "lighter_color": BlendMode.LIGHTER_COLOR,
}


def blend_from_op(op: str | None) -> BlendMode:
    """A composite-op attribute as a blend mode; unknown ones are Normal (the spec's rule)."""
    if not op:
        return BlendMode.NORMAL
    name = op.strip().lower()
    for prefix in ("svg:", "krita:"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    name = name.replace("-", "_").replace(" ", "_")
    if name in _OP_ALIASES:
        return _OP_ALIASES[name]
    try:
        return BlendMode(name)
    except ValueError:
        return BlendMode.NORMAL


# ----- writing ----------------------------------------------------------------------------------
def _number(value: float) -> str:
    """Opacity as text that reads back to the same float."""
    return repr(float(value))


def _thumbnail(flat: np.ndarray) -> bytes:
    im = Image.fromarray(flat, "RGBA")
    im.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def stack_xml(doc: Document, layers: list[Layer], sources: list[str]) -> bytes:
    """The ``stack.xml`` for ``layers`` (bottom first) whose PNGs are at ``sources``."""
    root = ET.Element("image", {"version": ORA_VERSION, "w": str(doc.width), "h": str(doc.height),
                                "xres": "72", "yres": "72"})
    stack = ET.SubElement(root, "stack")
    for layer, src in zip(reversed(layers), reversed(sources)):  # OpenRaster lists the top first
        attrs = {"name": xml_text(layer.name), "src": src, "x": str(layer.x), "y": str(layer.y),
                 "opacity": _number(layer.opacity),
                 "visibility": "visible" if layer.visible else "hidden",
                 "composite-op": ORA_OPS[layer.blend_mode]}
        if layer.locked:
            attrs["edit-locked"] = "true"
        ET.SubElement(stack, "layer", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def write_ora(doc: Document, path: str | os.PathLike, warn=None) -> None:
    """Save ``doc`` as OpenRaster, atomically; ``warn`` gets what the format could not hold."""
    layers = export_layers(doc, CAPABILITIES, warn or (lambda message: None))
    sources = [f"data/layer{i:03d}.png" for i in range(len(layers))]
    flat = composite(doc)
    with atomic_write(path) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            # first, stored, no extra field: the file's signature
            zf.writestr(zipfile.ZipInfo("mimetype", (1980, 1, 1, 0, 0, 0)), MIMETYPE,
                        compress_type=zipfile.ZIP_STORED)
            zf.writestr("stack.xml", stack_xml(doc, layers, sources))
            for layer, src in zip(layers, sources):  # PNGs are compressed already
                zf.writestr(src, layer_png(layer), compress_type=zipfile.ZIP_STORED)
            zf.writestr("mergedimage.png", png_bytes(flat), compress_type=zipfile.ZIP_STORED)
            zf.writestr("Thumbnails/thumbnail.png", _thumbnail(flat), compress_type=zipfile.ZIP_STORED)


# ----- reading ----------------------------------------------------------------------------------
def is_ora(path: str | os.PathLike) -> bool:
    """True for a ZIP whose first member is ``mimetype`` = ``image/openraster``, or any ZIP named .ora."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
    except OSError:
        return False
    if head[:4] != b"PK\x03\x04" or len(head) < 30:
        return False
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    start = 30 + name_len + extra_len
    if head[30:30 + name_len] == b"mimetype" and head[start:start + len(MIMETYPE)] == MIMETYPE:
        return True
    return Path(path).suffix.lower() == ".ora"


def _damaged(path: Path, detail: str) -> InputFileError:
    return InputFileError(f"{path.name} is not a readable OpenRaster file ({detail}).",
                          "Save it again from Krita, GIMP or MyPaint, or export a PSD instead.")


def _read_member(zf: zipfile.ZipFile, path: Path, name: str, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _damaged(path, f"{name} is missing") from None
    if info.file_size > limit:
        raise _damaged(path, f"{name} is {info.file_size} bytes, more than a file of this size can need")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise _damaged(path, f"{name}: {exc}") from None
    except RuntimeError as exc:  # encrypted member
        raise _damaged(path, f"{name}: {exc}") from None


def _parse_stack(data: bytes, path: Path) -> ET.Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # no entity expansion: no billion laughs
        raise _damaged(path, "stack.xml declares a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise _damaged(path, f"stack.xml: {exc}") from None
    if root.tag != "image":
        raise _damaged(path, "stack.xml has no <image> root")
    return root


def _int_attr(el: ET.Element, name: str, path: Path, default: int = 0) -> int:
    raw = el.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(round(float(raw)))
    except (ValueError, OverflowError):
        raise _damaged(path, f"{name}={raw!r} is not a number") from None


def _opacity(el: ET.Element) -> float:
    try:
        value = float(el.get("opacity", "1"))
    except ValueError:
        return 1.0
    return min(1.0, max(0.0, value)) if np.isfinite(value) else 1.0


def _decode_png(data: bytes, path: Path, what: str, max_pixels: int | None) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # our size check below, with our message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=("PNG",))
        with im:
            check_pixels(path, im.width, im.height, max_pixels, what)
            im.load()
            return pil_to_rgba(im)
    except QilError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputFileError(f"{path.name}: {what} is larger than QIL Editor opens safely ({exc}).",
                             "Scale it down in another editor first.") from None
    except MemoryError:
        raise InputFileError(f"{path.name}: {what} is too large to open with the memory available.",
                             "Close other programs or open a smaller file.") from None
    except Exception as exc:  # Pillow raises many kinds for a broken PNG
        raise _damaged(path, f"{what} is not a readable PNG: {exc}") from None


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, path: Path, max_pixels: int | None) -> None:
        self.zf, self.path, self.max_pixels = zf, path, max_pixels
        # a PNG of w*h pixels needs at most ~8 bytes a pixel (16-bit RGBA) plus chunk overhead
        side = max_pixels if max_pixels is not None else 1 << 34
        self.member_limit = side * 8 + (1 << 24)
        self.layers: list[Layer] = []  # top first, as the file lists them

    def walk(self, stack: ET.Element, prefix: str, dx: int, dy: int, opacity: float, visible: bool,
             blend: BlendMode | None) -> None:
        for el in stack:
            if el.tag == "layer":
                self.layer(el, prefix, dx, dy, opacity, visible, blend)
            elif el.tag == "stack":
                name = xml_text(el.get("name") or "Group")
                mode = blend_from_op(el.get("composite-op"))
                self.walk(el, f"{prefix}{name}/", dx + _int_attr(el, "x", self.path),
                          dy + _int_attr(el, "y", self.path), opacity * _opacity(el),
                          visible and el.get("visibility", "visible") != "hidden",
                          mode if mode != BlendMode.NORMAL else blend)
            # <text>, <filter> and other extensions: not layers of pixels; skipped

    def layer(self, el: ET.Element, prefix: str, dx: int, dy: int, opacity: float, visible: bool,
              blend: BlendMode | None) -> None:
        src = el.get("src")
        name = xml_text(el.get("name") or f"Layer {len(self.layers) + 1}")
        if not src:
            raise _damaged(self.path, f"layer '{name}' has no src")
        if not src.lower().endswith(".png"):
            raise InputFileError(f"{self.path.name}: layer '{name}' is stored as {Path(src).suffix or src}, "
                                 "not PNG; QIL Editor reads OpenRaster pixel layers only.",
                                 "Rasterize that layer in the program that made the file.")
        pixels = _decode_png(_read_member(self.zf, self.path, src, self.member_limit), self.path,
                             f"layer '{name}'", self.max_pixels)
        if pixels.shape[:2] == (1, 1) and pixels[0, 0, 3] == 0:
            pixels = np.zeros((0, 0, 4), np.uint8)  # how an empty layer is written
        mode = blend_from_op(el.get("composite-op"))
        if blend is not None and mode == BlendMode.NORMAL:
            mode = blend
        self.layers.append(Layer(pixels, name=prefix + name, x=dx + _int_attr(el, "x", self.path),
                                 y=dy + _int_attr(el, "y", self.path), opacity=opacity * _opacity(el),
                                 visible=visible and el.get("visibility", "visible") != "hidden",
                                 blend_mode=mode, locked=el.get("edit-locked", "false") == "true"))


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise _damaged(path, f"not a ZIP archive: {exc}") from None
    except OSError as exc:
        raise input_error_from_os(path, exc) from None


def _canvas(root: ET.Element, path: Path, max_pixels: int | None) -> tuple[int, int]:
    w, h = _int_attr(root, "w", path, -1), _int_attr(root, "h", path, -1)
    if w <= 0 or h <= 0:
        raise _damaged(path, f"the canvas size {w}x{h} is not positive")
    check_pixels(path, w, h, max_pixels)
    return w, h


def read_ora(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Document:
    """An OpenRaster file as a :class:`Document` (``doc.path`` set); a file without layers
    becomes one layer from its merged image."""
    p = check_input_path(path)
    with _open_zip(p) as zf:
        root = _parse_stack(_read_member(zf, p, "stack.xml", MAX_STACK_XML), p)
        w, h = _canvas(root, p, max_pixels)
        reader = _Reader(zf, p, max_pixels)
        top = root.find("stack")
        if top is not None:
            reader.walk(top, "", 0, 0, 1.0, True, None)
        layers = list(reversed(reader.layers))
        if not layers and "mergedimage.png" in zf.namelist():
            merged = _decode_png(_read_member(zf, p, "mergedimage.png", reader.member_limit), p,
                                 "the merged image", max_pixels)
            layers = [Layer(merged, name=p.stem or "Background")]
    return Document(w, h, layers, path=str(p))


def describe_ora(path: str | os.PathLike):
    """Format and canvas size from ``stack.xml`` alone (for ``qil info``)."""
    from .image_open import SourceInfo

    p = check_input_path(path)
    with _open_zip(p) as zf:
        root = _parse_stack(_read_member(zf, p, "stack.xml", MAX_STACK_XML), p)
    w, h = _canvas(root, p, None)
    return SourceInfo(str(p), "OpenRaster", w, h, "RGBA", 8)

"""SVG export: one positioned ``<image>`` per layer, for Illustrator, Inkscape and Figma.

The SVG is the canvas size in pixels (``viewBox`` the same), and each layer
an ``<image>`` at its offset and its own size, bottom layer first (SVG paints
in document order), with ``id`` and ``inkscape:label`` from the layer name,
``opacity``, ``display="none"`` when hidden, and ``mix-blend-mode`` for the
blend modes CSS has (Multiply, Screen, Overlay, Darken, Lighten, Color
Dodge, Color Burn, Hard Light, Soft Light, Difference, Exclusion, Hue,
Saturation, Color, Luminosity). Other modes, masks, clipping and special fill
opacity are baked with a warning naming the layer.

The PNGs are embedded as ``data:`` URLs, or with ``linked=True`` written
beside the file in ``NAME_layers/`` and referenced relatively, for tools
that edit the pictures in place. Every file is written atomically; the SVG
last, so it never points at a PNG that is not there yet.

Renderers differ on one point: cairo (so rsvg and Inkscape 1.2) draws the
non-separable modes Hue and Color wrongly under partial alpha or opacity;
what we write follows the CSS specification, as browsers and Krita do.
"""

from __future__ import annotations

import base64
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from ..document import BlendMode, Document, Layer
from ..errors import OutputFileError
from .atomic import atomic_write
from .export import Capabilities, export_layers, layer_file_names, layer_png, xml_text
from .files import output_error_from_os

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"

#: Our blend modes and their CSS ``mix-blend-mode`` names.
CSS_BLEND: dict[BlendMode, str] = {
    BlendMode.NORMAL: "normal",
    BlendMode.MULTIPLY: "multiply",
    BlendMode.SCREEN: "screen",
    BlendMode.OVERLAY: "overlay",
    BlendMode.DARKEN: "darken",
    BlendMode.LIGHTEN: "lighten",
    BlendMode.COLOR_DODGE: "color-dodge",
    BlendMode.COLOR_BURN: "color-burn",
    BlendMode.HARD_LIGHT: "hard-light",
    BlendMode.SOFT_LIGHT: "soft-light",
    BlendMode.DIFFERENCE: "difference",
    BlendMode.EXCLUSION: "exclusion",
    BlendMode.HUE: "hue",
    BlendMode.SATURATION: "saturation",
    BlendMode.COLOR: "color",
    BlendMode.LUMINOSITY: "luminosity",
}
CAPABILITIES = Capabilities("SVG", frozenset(CSS_BLEND))

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def linked_folder(path: str | os.PathLike) -> Path:
    """Where ``--linked`` puts the layer PNGs: ``poster_layers/`` beside ``poster.svg``."""
    p = Path(path)
    return p.with_name(f"{p.stem}_layers")


def _unique_id(name: str, used: set[str]) -> str:
    """An XML id from a layer name: ASCII letters, digits, - and _, starting with a letter."""
    stem = _ID_UNSAFE.sub("-", name).strip("-")[:60] or "layer"
    if not stem[0].isalpha():
        stem = "layer-" + stem
    candidate, n = stem, 2
    while candidate in used:
        candidate, n = f"{stem}-{n}", n + 1
    used.add(candidate)
    return candidate


def _number(value: float) -> str:
    return repr(float(value))


def svg_tree(doc: Document, layers: list[Layer], hrefs: list[str]) -> ET.ElementTree:
    """The SVG for ``layers`` (bottom first), each picture at ``hrefs[i]``."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    ET.register_namespace("inkscape", INKSCAPE_NS)
    root = ET.Element(f"{{{SVG_NS}}}svg", {"version": "1.1", "width": str(doc.width),
                                            "height": str(doc.height),
                                            "viewBox": f"0 0 {doc.width} {doc.height}"})
    used: set[str] = set()
    for layer, href in zip(layers, hrefs):
        empty = layer.width == 0 or layer.height == 0
        attrs = {"id": _unique_id(layer.name, used),
                 f"{{{INKSCAPE_NS}}}label": xml_text(layer.name),
                 "x": str(layer.x), "y": str(layer.y),
                 "width": "1" if empty else str(layer.width),
                 "height": "1" if empty else str(layer.height),
                 "preserveAspectRatio": "none",
                 f"{{{XLINK_NS}}}href": href}
        if layer.opacity < 1.0:
            attrs["opacity"] = _number(layer.opacity)
        if layer.blend_mode != BlendMode.NORMAL:
            attrs["style"] = f"mix-blend-mode:{CSS_BLEND[layer.blend_mode]}"
        if not layer.visible:
            attrs["display"] = "none"
        ET.SubElement(root, f"{{{SVG_NS}}}image", attrs)
    ET.indent(root)
    return ET.ElementTree(root)


def _write_linked_pngs(doc: Document, layers: list[Layer], path: Path) -> list[str]:
    folder = linked_folder(path)
    if folder.exists() and not folder.is_dir():
        raise OutputFileError(f"Could not save {path.name}: {folder.name} (where its layer pictures go) "
                              "is a file.", "Move that file away or choose another name for the SVG.")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise output_error_from_os(folder, exc) from None
    hrefs = []
    for name, layer in zip(layer_file_names(layers), layers):  # groups folded into the names
        with atomic_write(folder / name) as fh:
            fh.write(layer_png(layer))
        hrefs.append(f"{quote(folder.name)}/{quote(name)}")
    return hrefs


def write_svg(doc: Document, path: str | os.PathLike, warn=None, *, linked: bool = False) -> None:
    """Save ``doc`` as SVG, atomically; ``warn`` gets what SVG could not hold."""
    p = Path(path)
    layers = export_layers(doc, CAPABILITIES, warn or (lambda message: None))
    if linked:
        if not p.parent.is_dir():  # say so before creating the folder of pictures
            raise OutputFileError(f"Could not save {p.name}: the folder {p.parent} does not exist.",
                                  "Create the folder first or choose another one.")
        hrefs = _write_linked_pngs(doc, layers, p)
    else:
        hrefs = ["data:image/png;base64," + base64.b64encode(layer_png(ly)).decode("ascii")
                 for ly in layers]
    tree = svg_tree(doc, layers, hrefs)
    with atomic_write(p) as fh:
        tree.write(fh, encoding="UTF-8", xml_declaration=True)

"""PowerPoint export (python-pptx): one slide the size of the canvas, one picture per layer.

How layered results travel to PowerPoint, Keynote and Google Slides (the
Qwen-Image-Layered demo exports the same). Each layer, bottom first (back to
front), is a picture at its offset and its own size, named after the layer;
hidden layers are hidden shapes, locked layers have their position and size
locked. Opacity is kept as the picture's transparency (``alphaModFix``,
what PowerPoint's Picture Transparency writes), not baked into the pixels.
PowerPoint has no blend modes, masks or clipping: those are baked into the
pictures with a warning naming the layer.

The slide is 96 pixels to the inch (9525 EMU a pixel), as PowerPoint
measures pictures. PowerPoint takes slides from 1 to 56 inches a side, so a
canvas under 96 or over 5376 pixels is shown scaled to fit (the pictures
keep every pixel), and one longer than 56:1 gets an empty margin.
"""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path

from ..document import Document
from ..errors import QilError
from .atomic import atomic_write
from .export import Capabilities, export_layers, layer_png

CAPABILITIES = Capabilities("PowerPoint")
EMU_PER_PX = 9525  # 914400 EMU an inch / 96 pixels an inch
MIN_SLIDE_EMU = 914400  # 1 inch
MAX_SLIDE_EMU = 51206400  # 56 inches


def emu_per_pixel(width: int, height: int) -> float:
    """9525 unless the canvas must be scaled into PowerPoint's 1..56 inch slide sizes."""
    scale = float(EMU_PER_PX)
    if max(width, height) * scale > MAX_SLIDE_EMU:
        scale = MAX_SLIDE_EMU / max(width, height)
    if min(width, height) * scale < MIN_SLIDE_EMU:
        scale = min(MIN_SLIDE_EMU / min(width, height), MAX_SLIDE_EMU / max(width, height))
    return scale


def _require_pptx():
    """python-pptx is a dependency; a trimmed install without it gets a message, not a traceback."""
    if importlib.util.find_spec("pptx") is None:
        raise QilError("PowerPoint export needs the python-pptx package, which is not installed.",
                       "Install it (pip install python-pptx) or reinstall QIL Editor.")


def build_presentation(doc: Document, warn=None):
    """The ``pptx.Presentation`` for ``doc`` (not saved)."""
    _require_pptx()
    from lxml import etree
    from pptx import Presentation
    from pptx.oxml.ns import qn
    from pptx.util import Emu

    warn_fn = warn or (lambda message: None)
    layers = export_layers(doc, CAPABILITIES, warn_fn)
    prs = Presentation()
    scale = emu_per_pixel(doc.width, doc.height)
    size = [round(doc.width * scale), round(doc.height * scale)]
    fitted = [min(MAX_SLIDE_EMU, max(MIN_SLIDE_EMU, v)) for v in size]
    if fitted != size:  # a canvas over 56:1 cannot fill a slide; the slide gets an empty margin
        warn_fn(f"The canvas ({doc.width}x{doc.height}) is narrower than any PowerPoint slide can be; "
                "the slide has an empty margin beside the picture.")
    prs.slide_width, prs.slide_height = Emu(fitted[0]), Emu(fitted[1])
    if doc.path:
        prs.core_properties.title = Path(doc.path).stem
    blank = next((ly for ly in prs.slide_layouts if ly.name == "Blank"), prs.slide_layouts[6])
    slide = prs.slides.add_slide(blank)
    for layer in layers:
        w, h = max(1, layer.width), max(1, layer.height)  # an empty layer is a 1x1 transparent picture
        pic = slide.shapes.add_picture(io.BytesIO(layer_png(layer)), Emu(round(layer.x * scale)),
                                       Emu(round(layer.y * scale)), Emu(round(w * scale)),
                                       Emu(round(h * scale)))
        pic.name = layer.name
        el = pic._element
        if not layer.visible:
            el.nvPicPr.cNvPr.set("hidden", "1")
        if layer.opacity < 1.0:
            etree.SubElement(el.blipFill.blip, qn("a:alphaModFix"),
                             amt=str(int(round(layer.opacity * 100000))))
        if layer.locked:
            props = el.nvPicPr.find(qn("p:cNvPicPr"))
            locks = props.find(qn("a:picLocks"))
            if locks is None:
                locks = etree.SubElement(props, qn("a:picLocks"))
            for attr in ("noMove", "noResize", "noRot"):
                locks.set(attr, "1")
    return prs


def write_pptx(doc: Document, path: str | os.PathLike, warn=None) -> None:
    """Save ``doc`` as a one-slide PowerPoint file, atomically."""
    prs = build_presentation(doc, warn)
    buf = io.BytesIO()
    prs.save(buf)
    with atomic_write(path) as fh:
        fh.write(buf.getvalue())

"""Load layer stacks for evaluation: a PSD, a folder of layer PNGs, or the PSD test cases.

A folder holds one canvas-sized PNG per layer, numbered bottom-up (``00.png``,
``01_Text.png``, ...; names sort naturally). Hidden layers are left out and
layer opacity is folded into alpha, so every stack is a list of canvas-sized
straight-alpha RGBA arrays, bottom first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..document import Document, Layer, composite
from ..errors import InputFileError, QilError

PNG_SUFFIXES = (".png",)


@dataclass
class LayerStack:
    width: int
    height: int
    layers: list[np.ndarray]       # canvas-sized RGBA uint8, bottom first
    names: list[str]
    source: str

    def flattened(self) -> np.ndarray:
        layers = [Layer(px, name=n) for px, n in zip(self.layers, self.names)]
        return composite(Document(self.width, self.height, layers))


def layer_canvas(layer: Layer, width: int, height: int) -> np.ndarray:
    """A layer placed on a transparent canvas-sized RGBA image (opacity folded into alpha)."""
    from ..io.export import layer_on_canvas
    return layer_on_canvas(layer, width, height)


def stack_from_document(doc: Document, source: str = "") -> LayerStack:
    layers, names = [], []
    for layer in doc.layers:
        if not layer.visible:
            continue
        px = layer_canvas(layer, doc.width, doc.height)
        if not px[..., 3].any():
            continue
        layers.append(px)
        names.append(layer.name)
    return LayerStack(doc.width, doc.height, layers, names, source or (doc.path or ""))


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def load_stack(path: str | Path) -> LayerStack:
    """A PSD/image file (its visible layers) or a folder of canvas-sized layer PNGs."""
    from ..io import open_document, open_image
    p = Path(path)
    if p.is_dir():
        files = sorted((f for f in p.iterdir() if f.suffix.lower() in PNG_SUFFIXES and f.is_file()),
                       key=_natural_key)
        if not files:
            raise InputFileError(f"The folder {p} has no layer PNG files.",
                                 "Put one canvas-sized PNG per layer in it, numbered bottom-up (00.png, 01.png, ...).")
        layers = [open_image(f) for f in files]
        h, w = layers[0].shape[:2]
        for f, px in zip(files, layers):
            if px.shape[:2] != (h, w):
                raise InputFileError(f"{f.name} is {px.shape[1]}x{px.shape[0]} but {files[0].name} is {w}x{h}.",
                                     "Every layer PNG in the folder must have the canvas size.")
        keep = [(px, f.stem) for px, f in zip(layers, files) if px[..., 3].any()]
        if not keep:
            raise InputFileError(f"Every layer PNG in {p} is fully transparent.")
        return LayerStack(w, h, [k[0] for k in keep], [k[1] for k in keep], str(p))
    doc = open_document(p, groups=False)  # ground truth: the layers as seen, groups folded in
    stack = stack_from_document(doc, str(p))
    if not stack.layers:
        raise InputFileError(f"{p.name} has no visible pixels in any layer.")
    return stack


@dataclass
class Case:
    name: str
    image: np.ndarray        # the flattened input (RGBA)
    truth: LayerStack


def psd_cases(root: str | Path) -> tuple[list[Case], list[str]]:
    """Ground-truth cases from a psd-cases folder; returns (cases, reasons for skipped ones)."""
    root = Path(root)
    cases, skipped = [], []
    for folder in sorted(d for d in root.iterdir() if d.is_dir()):
        src = next((folder / n for n in ("src.psd", "src.psb") if (folder / n).exists()), None)
        if src is None:
            skipped.append(f"{folder.name}: no src.psd")
            continue
        try:
            stack = load_stack(src)
        except QilError as err:
            skipped.append(f"{folder.name}: {err.message}")
            continue
        image = stack.flattened()
        if min(stack.width, stack.height) < 8:
            skipped.append(f"{folder.name}: {stack.width}x{stack.height} is too small to decompose")
            continue
        cases.append(Case(folder.name, image, stack))
    return cases, skipped

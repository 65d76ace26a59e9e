"""Re-decompose one layer by prompt: split it into sub-layers with a decomposition engine.

The layer's visible content (its alpha bounding box) goes to the engine
(Qwen-Image-Layered takes RGBA, so transparency is kept), with the user's
prompt and layer count. The sub-layers come back placed where the content
was, carrying the layer's opacity, blend mode and visibility, and are
cut to the original coverage (where the layer was fully transparent, so is
every part of it), so together they still fit the rest of the picture.
Applied as one undo step (``ReplaceLayers``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...document import Document, Layer, ReplaceLayers
from ...errors import UsageError
from ..base import DecomposeOptions, Decomposer
from ..jobs import CancelToken, ProgressCallback
from .region import content_box


@dataclass(frozen=True)
class LayerSplit:
    """A finished split, not yet applied."""

    layer_id: str
    new_layers: tuple[Layer, ...]
    prompt: str

    def command(self) -> ReplaceLayers:
        return ReplaceLayers([self.layer_id], list(self.new_layers),
                             text=f"Split layer into {len(self.new_layers)}")

    def preview_layers(self, doc: Document) -> list[Layer]:
        out: list[Layer] = []
        for layer in doc.layers:
            out.extend(self.new_layers if layer.id == self.layer_id else (layer,))
        return out


def redecompose_layer(layer: Layer, decomposer: Decomposer, options: DecomposeOptions,
                      progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> LayerSplit:
    """Split ``layer`` into ``options.layers`` sub-layers (bottom first); the layer is not changed."""
    box = content_box(layer.pixels[..., 3])
    if box is None:
        raise UsageError(f"The layer {layer.name!r} is empty (fully transparent); there is nothing to split.")
    x0, y0, x1, y1 = box
    content = np.ascontiguousarray(layer.pixels[y0:y1, x0:x1])
    result = decomposer.decompose(content, options, progress, cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    coverage = content[..., 3] > 0
    new_layers = []
    for i, sub in enumerate(result.layers):
        pixels = np.zeros_like(content)
        # sub-layers are placed on the decomposer's canvas (= the content box)
        sx0, sy0 = max(sub.x, 0), max(sub.y, 0)
        sx1, sy1 = min(sub.x + sub.width, content.shape[1]), min(sub.y + sub.height, content.shape[0])
        if sx1 > sx0 and sy1 > sy0:
            pixels[sy0:sy1, sx0:sx1] = sub.pixels[sy0 - sub.y:sy1 - sub.y, sx0 - sub.x:sx1 - sub.x]
        pixels[~coverage] = 0
        new_layers.append(Layer(pixels, name=f"{layer.name} {i + 1}", x=layer.x + x0, y=layer.y + y0,
                                opacity=layer.opacity, visible=layer.visible, blend_mode=layer.blend_mode))
    return LayerSplit(layer.id, tuple(new_layers), options.prompt)

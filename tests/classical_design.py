"""Hand-made designs for the classical engine's tests: layers from a colour and an alpha, the
flattened image with its truth, and a decomposition checked to rebuild its input."""

import numpy as np

from qil_editor.document import Document, Layer, composite
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer
from qil_editor.evaluation.datasets import stack_from_document
from qil_editor.evaluation.metrics import psnr


def layer(colour, alpha, name):
    """A layer of ``colour`` (RGB in [0, 1], or an (H, W, 3) picture) under ``alpha`` (H, W)."""
    h, w = alpha.shape
    px = np.zeros((h, w, 4), np.uint8)
    px[..., :3] = np.clip(np.broadcast_to(np.asarray(colour, np.float32), (h, w, 3)) * 255 + 0.5, 0, 255)
    px[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255)
    return Layer(px, name=name)


def flatten(layers):
    """The opaque image a designer would open, and the truth layers as the metrics take them."""
    h, w = layers[0].pixels.shape[:2]
    doc = Document(w, h, layers)
    image = composite(doc)
    image[..., 3] = 255
    return image, stack_from_document(doc).layers


def design(background, *objects):
    """``background`` (a colour or an (H, W, 3) picture) plus (colour, alpha, name) objects,
    bottom first: (image, truth layers)."""
    h, w = objects[0][1].shape
    return flatten([layer(background, np.ones((h, w), np.float32), "Background")]
                   + [layer(c, a, n) for c, a, n in objects])


def decompose(image, layers):
    """The classical decomposition of ``image`` into ``layers``: (document, layers as the metrics
    take them); fails unless the stack still rebuilds the input."""
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=layers))
    assert psnr(composite(doc)[..., :3], image[..., :3]) >= 40.0
    return doc, stack_from_document(doc).layers

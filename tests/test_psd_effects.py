"""What Photoshop shows beyond plain layers: text gamma, layer effects, knockout, dissolve.

Real files from tests/data/psd-cases where one shows the feature; synthetic
layers otherwise, checked against Photoshop's documented behaviour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qil_editor.document import Layer, composite_layers
from qil_editor.io import read_psd
from qil_editor.io.psd_read import TEXT_GAMMA

CASES = Path(__file__).parent / "data" / "psd-cases"


def _errors(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    a = ours.astype(np.float64)
    b = ref.astype(np.float64)
    pa = np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], -1)
    pb = np.concatenate([b[..., :3] * b[..., 3:] / 255.0, b[..., 3:]], -1)
    d = np.abs(pa - pb)
    return float(d.max()), float(d.mean())


def test_text_layer_blends_at_photoshops_text_gamma():
    """Photoshop's merged image of a text layer: edges mixed at gamma 1.45, matched exactly."""
    doc = read_psd(CASES / "text-layer" / "src.psd")
    text = next(ly for ly in doc.layers if ly.name == "Test text")
    assert text.blend_gamma == TEXT_GAMMA
    ref = np.asarray(Image.open(CASES / "text-layer" / "canvas.png").convert("RGBA"))
    mx, mean = _errors(composite_layers(doc.layers, doc.width, doc.height), ref)
    assert mx <= 1 and mean <= 0.01
    plain = [ly.copy(blend_gamma=1.0) for ly in doc.layers]  # the old reading: 40 levels off
    assert _errors(composite_layers(plain, doc.width, doc.height), ref)[0] > 30


def test_blend_gamma_mixes_in_gamma_encoded_linear_light():
    """Red at alpha 170 over white: G = 255 * srgb((1 - 170/255) ** 1.45) ~ 125 (plain: 85)."""
    white = Layer(np.full((1, 1, 4), 255, np.uint8))
    px = np.array([[[255, 0, 0, 170]]], np.uint8)
    out = composite_layers([white, Layer(px, blend_gamma=TEXT_GAMMA)], 1, 1)
    assert abs(int(out[0, 0, 1]) - 125) <= 1 and out[0, 0, 0] == 255 and out[0, 0, 3] == 255
    assert composite_layers([white, Layer(px)], 1, 1)[0, 0, 1] == 85
    # over transparency nothing is mixed: the layer's own colour and alpha
    alone = composite_layers([Layer(px, blend_gamma=TEXT_GAMMA)], 1, 1)
    assert alone[0, 0].tolist() == [255, 0, 0, 170]

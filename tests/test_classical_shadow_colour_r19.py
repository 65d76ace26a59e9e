"""A drop shadow's colour is read clear of its caster's rim: the usual black, not the
caster's tint (r19). A purple disc's black shadow on a flat page came out purple (the
disc's anti-aliased rim among the shadow's pixels tinted the fitted colour), and, with
colour and alpha trading off along one line over a flat page, too strong."""

import cv2
import numpy as np

from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer


def _disc_with_shadow():
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w]
    disc = np.clip(60.5 - np.hypot(yy - 110.0, xx - 150.0), 0, 1).astype(np.float32)
    shadow = cv2.GaussianBlur(cv2.warpAffine(disc, np.float32([[1, 0, 4], [0, 1, 6]]), (w, h)), (0, 0), 3.0) * 0.5
    page = np.array([0.93, 0.70, 0.65], np.float32)
    purple = np.array([0.37, 0.16, 0.80], np.float32)
    img = page * (1 - shadow[..., None])                      # black shadow on the page
    img = img * (1 - disc[..., None]) + purple * disc[..., None]
    rgba = np.dstack([np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), np.full((h, w), 255, np.uint8)])
    return rgba, shadow


def test_shadow_colour_is_black_not_the_casters_tint():
    rgba, truth = _disc_with_shadow()
    doc = ClassicalDecomposer().decompose(rgba, DecomposeOptions(layers=3))
    shadows = [l for l in doc.layers if l.name.startswith("Shadow")]
    assert shadows, [l.name for l in doc.layers]
    layer = shadows[0]
    a = layer.pixels[..., 3].astype(np.float32) / 255
    strong = a > 0.1
    assert strong.sum() > 200
    colour = layer.pixels[..., :3][strong].astype(np.float32).mean(0)
    assert colour.max() < 8, colour  # black, not purple (it was about (5, 1, 18))

"""The drop shadow of a card lying partly on pictures and partly on the page is one shadow
layer, found from the card's shape, offset and blurred (r19,
``overlays._shadows_across_pictures``): the part on the pictures stayed in their regions
(a dark band baked into each picture's layer) and the shadow had no layer."""

import cv2
import numpy as np

from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer


def _texture(h, w, seed, a, b):
    """A photo-like texture: blotches at a few scales and a little grain."""
    rng = np.random.default_rng(seed)
    t = sum(cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), s) * s for s in (2.0, 5.0, 12.0))
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    out = np.asarray(a, np.float32) * (1 - t[..., None]) + np.asarray(b, np.float32) * t[..., None]
    return np.clip(out + rng.normal(0, 0.02, out.shape).astype(np.float32), 0, 1)


def _card_across_pictures():
    h, w = 288, 384
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 3), np.float32)
    img[:] = (0.80, 0.72, 0.85) * (1 - xx[..., None] / w * 0.3)          # a gradient page
    green = (xx >= 190) & (xx < 290) & (yy >= 20) & (yy < 150)
    mauve = (xx >= 180) & (xx < 330) & (yy >= 150) & (yy < 260)
    img[green] = _texture(h, w, 1, (0.2, 0.8, 0.3), (0.5, 0.95, 0.4))[green]
    img[mauve] = _texture(h, w, 2, (0.5, 0.4, 0.5), (0.65, 0.55, 0.6))[mauve]
    card = np.zeros((h, w), np.float32)
    cv2.rectangle(card, (110, 90), (230, 190), 1.0, -1)
    shadow = cv2.GaussianBlur(cv2.warpAffine(card, np.float32([[1, 0, 7], [0, 1, 6]]), (w, h)), (0, 0), 3.5) * 0.5
    img *= 1 - shadow[..., None]
    img = img * (1 - card[..., None]) + np.float32([0.25, 0.4, 0.4]) * card[..., None]
    rgba = np.dstack([np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), np.full((h, w), 255, np.uint8)])
    return rgba, card, shadow, green | mauve


def test_a_cards_shadow_across_pictures_is_one_layer():
    rgba, card, shadow, pictures = _card_across_pictures()
    doc = ClassicalDecomposer().decompose(rgba, DecomposeOptions(layers=5))
    h, w = card.shape
    alphas = {}
    for layer in doc.layers:
        a = np.zeros((h, w), np.float32)
        ph, pw = layer.pixels.shape[:2]
        a[layer.y:layer.y + ph, layer.x:layer.x + pw] = layer.pixels[..., 3] / 255.0
        alphas[layer.name] = a
    seen = (shadow > 0.2) & (card == 0) & pictures   # where it darkens the pictures
    assert seen.sum() > 100
    best = max((n for n in alphas if n.startswith("Shadow")), key=lambda n: float(alphas[n][seen].mean()), default=None)
    assert best is not None, list(alphas)
    assert float(alphas[best][seen].mean()) > 0.2, (best, float(alphas[best][seen].mean()))

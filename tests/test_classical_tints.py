"""Translucent flat shapes on a design's gradient background. The engine took such a shape
for an opaque one of a gradient colour and the part of a word under it for a shape of its
own, so the word came out cut and the shape hid what it covered once moved."""

import numpy as np

from qil_editor.evaluation.failures import soft_iou

from classical_design import H, W, box, decompose, design, ellipse, words


def ramp(c0, c1, horizontal=True):
    """A linear gradient background across the canvas."""
    t = np.linspace(0.0, 1.0, W if horizontal else H, dtype=np.float32)
    t = t[None, :, None] if horizontal else t[:, None, None]
    return np.broadcast_to(np.float32(c0) * (1 - t) + np.float32(c1) * t, (H, W, 3)).copy()


def layer_alpha(layer):
    return layer[..., 3].astype(np.float32) / 255.0


def test_a_translucent_ellipse_over_a_word_is_a_tint_and_the_word_stays_whole():
    bg = ramp((0.85, 0.55, 0.95), (0.3, 0.85, 0.85))
    title = words("Studio", 40, 120, 48, bold=True)
    disc = 0.55 * ellipse(130, 110, 80, 45)
    image, truth = design(bg, ((0.85, 0.3, 0.6), title, "Title"), ((0.6, 0.6, 0.95), disc, "Tint"))
    doc, pred = decompose(image, 3)
    assert len(pred) == 3
    # the tint: one colour at its opacity over its whole area, the word's part included
    tint = max(pred[1:], key=lambda p: soft_iou(layer_alpha(p), disc))
    assert soft_iou(layer_alpha(tint), disc) >= 0.9
    inside = ellipse(130, 110, 70, 35) > 0.99
    assert abs(float(np.median(layer_alpha(tint)[inside])) - 0.55) <= 0.05
    assert np.abs(tint[inside][:, :3].astype(np.float32) / 255.0 - np.float32([0.6, 0.6, 0.95])).max() <= 0.06
    # the word whole, under the tint
    word = max(pred[1:], key=lambda p: soft_iou(layer_alpha(p), title))
    assert word is not tint
    assert soft_iou(layer_alpha(word), title) >= 0.9
    assert [id(p) for p in pred].index(id(word)) < [id(p) for p in pred].index(id(tint))


def test_an_opaque_gradient_card_on_a_gradient_stays_opaque():
    """Its colours may follow the background's ramp along part of its rim; they do not
    follow it all through."""
    bg = ramp((0.95, 0.75, 0.7), (0.85, 0.55, 0.6), horizontal=False)
    card = box(170, 40, 290, 170, 8)
    fill = ramp((0.75, 0.45, 0.7), (0.55, 0.3, 0.55))
    image, truth = design(bg, (fill, card, "Card"))
    doc, pred = decompose(image, 2)
    got = layer_alpha(pred[1])
    assert soft_iou(got, card) >= 0.95
    assert float(got[card > 0.99].min()) >= 0.99


def test_a_translucent_disc_over_its_own_drop_shadow_is_still_a_tint():
    """Its shadow shows through it, darkening what the tint covers: not a tinted
    background all through, yet no opaque fill either."""
    import cv2
    bg = ramp((0.55, 0.65, 0.9), (0.6, 0.85, 0.45))
    disc = ellipse(200, 100, 50, 50)
    shadow = 0.45 * cv2.GaussianBlur(np.roll(np.roll(disc, 8, 0), 8, 1), (0, 0), 4.0)
    image, truth = design(bg, ((0, 0, 0), shadow, "Shadow"), ((0.75, 0.25, 0.8), 0.6 * disc, "Tint"))
    doc, pred = decompose(image, 3)
    tint = max(pred[1:], key=lambda p: soft_iou(layer_alpha(p), disc))
    inside = ellipse(200, 100, 40, 40) > 0.99
    assert abs(float(np.median(layer_alpha(tint)[inside])) - 0.6) <= 0.06
    assert soft_iou(layer_alpha(tint), 0.6 * disc) >= 0.85
    # the shadow is a layer of its own: where the disc's rim crosses it, it looked busy
    # (a "photo") and took the layer, so the shadow went into the tint's
    assert max(soft_iou(layer_alpha(p), shadow) for p in pred[1:] if p is not tint) >= 0.6

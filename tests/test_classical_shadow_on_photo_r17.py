"""Drop shadows in the classical decomposer, round 17 of issue 14: a card lying on a picture
that is not the whole background casts its shadow on that picture, and the shadow becomes a
layer of its own. Fails on the engine before the behaviour it names."""

import cv2
import numpy as np

from classical_design import W, H, best_iou, box, decompose, design, photo


def test_a_cards_shadow_on_a_picture_panel_is_a_layer_of_its_own_under_the_card():
    """A picture panel over the right part of a flat page, a card on the panel casting a soft
    drop shadow on it. Only a photo background was searched for such shadows: on a panel the
    darkened picture stayed in the panel's region, so the shadow went into the panel's layer
    (and would stay behind when the card is moved). It is found as on a photo background, by
    the card's own shape offset and blurred, and lies right beneath the card; the card, seen
    to cast it on the panel, lies on the panel (read from the outlines alone, the panel's edge
    along the shadow running on past the card's corner could put the panel on top)."""
    panel = np.zeros((H, W), np.float32)
    panel[:, 175:] = 1.0                      # under half the canvas: a panel, not the background
    card = box(215, 70, 280, 150)
    shadow = 0.55 * cv2.GaussianBlur(np.roll(card, (5, 5), (0, 1)), (0, 0), 3.0)
    image, truth = design((0.3, 0.1, 0.25),
                          (photo(11, (0.6, 0.2, 0.6), (0.85, 0.5, 0.9)), panel, "Panel"),
                          ((0.0, 0.0, 0.0), shadow, "Shadow"),
                          ((0.95, 0.9, 0.6), card, "Card"))
    doc, pred = decompose(image, 4)
    assert best_iou(pred, shadow) >= 0.7
    names = [layer.name for layer in doc.layers]
    assert names == ["Background", "Photo", "Shadow", "Shape 1"]

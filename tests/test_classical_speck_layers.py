"""A sliver with no flat body (a thin line, a speck of texture or shadow) is not worth a layer
of its own up to a larger size than a flat speck; counted as a layer it made a real object merge
with another one to stay within the layer count (a title merged with the disc above it)."""

import numpy as np

from classical_design import box, decompose, design, ellipse, words


def test_a_thin_sliver_touching_a_card_joins_it_instead_of_taking_a_layer():
    card = box(60, 60, 180, 160)
    sliver = np.zeros_like(card)
    sliver[90:132, 180:182] = 1.0  # 84 px: 0.11 % of the canvas, two pixels wide
    image, truth = design((0.95, 0.93, 0.88), ((0.2, 0.35, 0.7), card, "Card"),
                          ((0.8, 0.2, 0.1), sliver, "Sliver"))
    doc, pred = decompose(image, 4)
    assert len(doc.layers) == 2, [layer.name for layer in doc.layers]
    assert (pred[1][..., 3] > 0).sum() >= card.sum() + 40  # the card holds the sliver


def test_a_small_label_and_a_small_flat_dot_keep_their_layers():
    dot = ellipse(250, 60, 4, 4)        # about 50 px: 0.07 % of the canvas, flat
    label = words("OK", 230, 150, 14)   # a short label
    card = box(40, 40, 200, 200)
    image, truth = design((0.95, 0.93, 0.88), ((0.2, 0.35, 0.7), card, "Card"),
                          ((0.85, 0.1, 0.1), dot, "Dot"), ((0.1, 0.1, 0.1), label, "Label"))
    doc, pred = decompose(image, 4)
    assert len(doc.layers) == 4, [layer.name for layer in doc.layers]

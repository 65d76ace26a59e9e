"""Pictures laid a few pixels apart on a card (r17): the edge-density test joins them across
the strip of card between them, and the step test cannot read an outline whose other side
is a second outline a few pixels away. The gap's two straight, parallel sides of grain are
the cut; the strip of card is neither picture's, and the card the two pictures lie on is no
band across one picture."""

import numpy as np
import pytest

from classical_design import best_iou, box, decompose, design, photo


def _collage(gap):
    card = box(20, 30, 300, 215)
    left = box(40, 50, 150, 195)
    right = box(150 + gap, 50, 280, 195)
    image, truth = design((0.93, 0.93, 0.9), ((0.75, 0.62, 0.85), card, "Card"),
                          (photo(4), left, "Photo 1"),
                          (photo(9, (0.45, 0.1, 0.15), (0.9, 0.6, 0.35)), right, "Photo 2"))
    return image, truth, left, right


@pytest.mark.parametrize("gap", [6, 8])
def test_two_pictures_a_few_pixels_apart_on_a_card_are_two_layers(gap):
    image, truth, left, right = _collage(gap)
    _, pred = decompose(image, len(truth))
    assert best_iou(pred, left) >= 0.85
    assert best_iou(pred, right) >= 0.85
    # the middle of the strip of card between them lies in neither picture's layer
    strip = np.zeros(left.shape, bool)
    strip[60:185, 150 + gap // 2 - 1:150 + gap // 2 + 1] = True
    for layer, alpha in ((max(pred[1:], key=lambda p: _iou(p, a)), a) for a in (left, right)):
        assert (layer[..., 3][strip] > 127).mean() < 0.2


def _iou(layer, alpha):
    a, t = layer[..., 3] > 127, alpha > 0.5
    return (a & t).sum() / max(1, (a | t).sum())

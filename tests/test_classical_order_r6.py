"""Stacking order of the classical decomposer, round 6 of issue 14: each test fails on the
engine before the behaviour it names was added."""

import cv2
import numpy as np
import pytest
from test_classical_completion import decompose, design, photo_texture, rect

from qil_editor.evaluation.failures import match_layers


@pytest.mark.parametrize("grow, blur, strength, colour, seed", [
    (13, 7.0, 0.6, (0.3, 0.9, 0.8), 5), (9, 5.0, 0.7, (1.0, 0.95, 0.6), 6), (13, 7.0, 0.6, (1.0, 0.95, 0.6), 7)])
def test_a_card_in_its_glow_whose_edge_runs_past_a_photo_lies_over_it(grow, blur, strength, colour, seed):
    """T-junction seen through a glow: a card wrapped in a soft glow covers the left part of a
    photo, and its right edge runs on past the photo's top and bottom. The card's edge runs
    on against its own glow, not against the background; a glow lies beneath what it
    surrounds, so that edge is the card's own as much as one against the background is."""
    photo = rect(170, 90, 290, 180)
    card = rect(60, 40, 200, 215)
    glow = cv2.GaussianBlur(cv2.dilate(card, np.ones((grow, grow), np.uint8)), (0, 0), blur) * strength
    fill = photo_texture(seed, (0.1, 0.25, 0.1), (0.35, 0.6, 0.3), (0.8, 0.9, 0.6))
    image, truth = design((fill, photo, "Photo"), (colour, glow, "Glow"),
                          ((0.92, 0.62, 0.2), card, "Card"))
    _, pred = decompose(image, 4)
    match = match_layers(pred, truth)
    assert 0 < match[1] < match[3]       # the photo beneath the card


def _regions(image):
    """The engine's regions and their order for ``image`` (its stages 2-4, at full size)."""
    from qil_editor.engines.classical.background import estimate_background
    from qil_editor.engines.classical.colour import neighbour_gradient, rgb_to_lab, to_float
    from qil_editor.engines.classical.ordering import order_regions
    from qil_editor.engines.classical.regions import segment
    from qil_editor.engines.classical.text import merge_text_lines
    rgb = to_float(image[..., :3])
    valid = np.ones(rgb.shape[:2], bool)
    lab = rgb_to_lab(rgb)
    grad = neighbour_gradient(lab)
    bg = estimate_background(rgb, lab, valid, grad)
    seg = merge_text_lines(segment(rgb, lab, grad, valid, bg), rgb.shape[0])
    return seg, order_regions(seg)


@pytest.mark.parametrize("seed, colour, box", [(9, (0.2, 0.3, 0.55), (140, 60, 280, 180)),
                                               (10, (0.85, 0.35, 0.2), (140, 60, 290, 180))])
def test_with_no_evidence_either_way_a_picture_lies_beneath_a_card(seed, colour, box):
    """A photo and a card that only touch, along one straight edge of the same length: no
    outline, T-junction or bite says which is on top. Designs put shapes on pictures more
    often than pictures on shapes, so the picture goes beneath (the old guess, "the smaller
    one on top", put the smaller photo over the card)."""
    photo = rect(40, 60, 140, 180)
    fill = photo_texture(seed, (0.35, 0.1, 0.1), (0.8, 0.45, 0.2), (0.95, 0.85, 0.5))
    image, _ = design((fill, photo, "Photo"), (colour, rect(*box), "Card"))
    seg, ordering = _regions(image)
    pictures = [r.label for r in seg.regions if r.kind == "photo" and r.area > 5000]
    cards = [r.label for r in seg.regions if r.kind == "shape" and r.area > 5000]
    assert len(pictures) == 1 and len(cards) == 1
    rank = ordering.rank()
    assert rank[pictures[0]] < rank[cards[0]]

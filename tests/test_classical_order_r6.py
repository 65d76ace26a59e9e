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

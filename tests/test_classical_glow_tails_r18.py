"""Glow bands in the classical decomposer, round 18 of issue 14: a dark card's soft coloured
glow that runs along a striped card over the background is no part of the striped card.
Fails on the engine before the behaviour it names."""

import cv2
import numpy as np

from classical_design import H, W, box, decompose, design


def _striped_card_beside_a_glowing_card():
    """A pink card with diagonal stripes (no flat core: its region grows from the rim
    pixels) lying over the corner of a dark olive card ringed by a soft green glow, all on a
    blue page; the ring runs along the striped card's edges."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    stripes = 0.5 + 0.5 * np.sin((xx + yy) * 2 * np.pi / 9.0)
    card = np.stack([0.85 + 0.1 * stripes, 0.3 + 0.15 * stripes, 0.4 + 0.1 * stripes], -1)
    dark = box(150, 110, 270, 200)
    ring = cv2.GaussianBlur(cv2.dilate(dark, np.ones((9, 9), np.uint8)), (0, 0), 3.0) * 0.8
    return design((0.45, 0.6, 0.85), ((0.3, 0.85, 0.3), ring, "Glow"),
                  ((0.17, 0.18, 0.08), dark, "Dark"), (card, box(60, 40, 180, 140), "Card"))


def test_a_glow_ring_along_a_striped_card_is_not_the_card():
    """The ring is the page blended towards green; next to the striped card its pixels
    joined the card's region and the card's layer carried the ring round the dark card.
    Cut off as a glow, it is the dark card's: the card's layer holds nothing past its edges."""
    image, truth = _striped_card_beside_a_glowing_card()
    _, layers = decompose(image, len(truth))
    card = truth[3][..., 3].astype(np.float32) / 255.0
    mine = max(layers[1:], key=lambda lay: float(np.minimum(lay[..., 3] / 255.0, card).sum()))
    outside = (mine[..., 3].astype(np.float32) / 255.0) * (cv2.dilate(card, np.ones((7, 7), np.uint8)) == 0)
    assert outside.sum() < 40, outside.sum()

"""Stacking order of the classical decomposer, round 17 of issue 14: a card wrapped in its glow
owns its outline. Fails on the engine before the behaviour it names."""

import cv2
import numpy as np

from qil_editor.engines.classical.ordering import contact_matrix, order_regions, outline_cues
from classical_design import segmentation


def test_a_card_wrapped_in_its_glow_owns_the_outline_it_shares_with_what_it_lies_on():
    """An oval card (1) in a soft glow (3) that wraps it all round where it is seen, lying over
    the corner of an oval (2) with no glow. The card meets the background nowhere, so its shape
    was fitted to nothing and it gave no outline cue; the glow lies beneath it, so its edge
    against the glow is its own as an edge against the background would be: the card's fitted
    oval owns the outline it shares with the oval beneath."""
    h, w = 300, 400
    yy, xx = np.mgrid[:h, :w]
    card = ((xx - 230) / 80.0) ** 2 + ((yy - 160) / 60.0) ** 2 <= 1.0
    halo = cv2.dilate(card.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13))).astype(bool)
    under = ((xx - 140) / 70.0) ** 2 + ((yy - 110) / 55.0) ** 2 <= 1.0
    owner = np.zeros((h, w), np.int32)
    owner[under] = 2
    owner[halo & ~under] = 3                   # the glow shows only round the card, beside the oval
    owner[card] = 1
    seg = segmentation(owner, ["shape", "shape", "shape"], sharp=[1.0, 1.0, 0.1])
    cues = outline_cues(seg, contact_matrix(owner, 4))
    assert cues[1][1][2] >= 0.8                # the card owns the outline it shares with the oval
    assert cues[2][1][1] < 0.8                 # the oval does not
    order = order_regions(seg).order
    assert order.index(1) > order.index(2)

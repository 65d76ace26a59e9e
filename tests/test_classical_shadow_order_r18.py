"""Stacking order of shadows in the classical decomposer, round 18 of issue 14: two shadows
(or glows) of different casters stand as their casters do, not as the few pixels where they
touch say. Fails on the engine before the behaviour it names."""

import numpy as np

from qil_editor.engines.classical.ordering import order_regions
from classical_design import segmentation


def test_a_pictures_shadow_is_not_dragged_under_a_glow_it_touches_at_a_corner():
    """A card (1) with its glow (2, typed a shadow) lies under a picture (3) that overlaps the
    card's corner; the picture's drop shadow (4), an L-shaped band, meets the glow's rim over
    six pixels. The pair test guessed the glow over the picture's shadow from that contact, so
    the shadow went under the glow and the card, to the bottom of the stack; it lies right
    beneath its picture, over the card."""
    owner = np.zeros((200, 300), np.int32)
    owner[56:104, 56:184] = 2
    owner[60:100, 60:180] = 1
    owner[104:176, 144:150] = 4
    owner[170:180, 144:262] = 4
    owner[90:170, 150:260] = 3
    seg = segmentation(owner, ["shape", "shadow", "photo", "shadow"])
    order = order_regions(seg).order
    assert order.index(2) < order.index(1) < order.index(4) < order.index(3)

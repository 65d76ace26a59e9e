"""Stacking order of a word and a drop shadow in the classical decomposer, round 19 of issue
14: a card's shadow falls on a word the card is seen to lie on, as on a shape or a picture
it lies on. Fails on the engine before the behaviour it names."""

import numpy as np

from qil_editor.engines.classical.ordering import order_regions
from classical_design import segmentation


def _card_over_word(word_ends_at: int):
    """A card (1) with its drop shadow (3), a band around it; a line of text (2, upright
    strokes) runs in from the left through the shadow up to ``word_ends_at``."""
    owner = np.zeros((200, 300), np.int32)
    owner[52:152, 92:192] = 3
    owner[60:140, 100:180] = 1
    for x in range(20, word_ends_at, 7):
        owner[90:110, x:min(x + 3, word_ends_at)] = 2
    owner[98:101, 20:word_ends_at] = np.where(owner[98:101, 20:word_ends_at] == 1, 1, 2)
    return segmentation(owner, ["shape", "text", "shadow"])


def test_a_cards_shadow_falls_on_the_word_the_card_cuts():
    """The word runs on under the card (the card's straight edge cuts it), so it lies under
    the card, and the card's shadow, drawn right beneath the card, lies over the word. The
    pair test puts a shadow under all it touches, and the lift over what the caster lies on
    left words out, so the word came out on top of the shadow."""
    order = order_regions(_card_over_word(100)).order
    assert order.index(2) < order.index(1)
    assert order.index(2) < order.index(3) < order.index(1)


def test_a_word_beside_a_card_stays_over_its_shadow():
    """A word that stops in the shadow, short of the card, is not seen under the card: the
    shadow is not lifted over it."""
    order = order_regions(_card_over_word(96)).order
    assert order.index(3) < order.index(2)

"""Stacking order of the classical decomposer, round 16 of issue 14: a word that stops a pixel
or two short of a card's edge lies under the card when several of its strokes stop there or
the one that does stops in the body of the line (a cut); a lone descender or ascender (the hook
of a J) by an edge is chance, and words lie on cards far more often than under them. Label
maps drawn by hand; the first test fails before the change."""

import numpy as np

from qil_editor.engines.classical.ordering import order_regions
from classical_design import segmentation


def _word_over_card(reaching: int, gap: int = 1, baseline: int = 108, card=(40, 300)):
    """A card (label 1, columns ``card``) under a line of text (label 2: upright strokes
    standing on ``baseline``); the first ``reaching`` strokes run on down to ``gap`` px short
    of the card's top edge (row 120). A badge (label 3) lies on the card's bottom edge."""
    owner = np.zeros((240, 360), np.int32)
    owner[120:220, card[0]:card[1]] = 1
    owner[200:236, card[0] + 5:card[1] - 5] = 3
    for k, x in enumerate(range(50, 290, 16)):
        bottom = 120 - gap if k < reaching else baseline
        owner[60:bottom, x:x + 6] = 2
    return segmentation(owner, ["shape", "text", "shape"], [(0.4, 0.2, 0.1), (0.6, 0.9, 0.3), (0.2, 0.3, 0.8)])


def test_one_glyph_end_by_a_cards_edge_does_not_put_the_word_under_the_card():
    rank = order_regions(_word_over_card(1)).rank()
    assert rank[2] > rank[1]


def test_a_word_cut_by_a_cards_edge_still_lies_under_it():
    rank = order_regions(_word_over_card(15)).rank()
    assert rank[2] < rank[1]


def test_a_word_whose_line_a_small_card_cuts_at_one_stroke_still_lies_under_it():
    """A disc's crest or a narrow card cuts one glyph at the baseline: one stroke end, but in
    the body of the line (every stroke reaches that row)."""
    rank = order_regions(_word_over_card(0, baseline=119, card=(40, 60))).rank()
    assert rank[2] < rank[1]

"""Stacking order of the classical decomposer, round 17 of issue 14: contradictory relations
(cycles) are resolved before any region is placed, each losing its weakest relation, and only
relations that lie on a cycle go. Fails on the engine before the behaviour it names."""

import numpy as np

from qil_editor.engines.classical.ordering import _topological
from classical_design import segmentation


def _title_word_card():
    """A title (1) with two anti-aliased crumbs of its strokes (2, 3), a smaller word (4) and a
    card (5), none overlapping."""
    owner = np.zeros((200, 300), np.int32)
    owner[10:50, 10:280] = 1
    owner[52, 20:22] = 2
    owner[52, 30:32] = 3
    owner[80:100, 10:120] = 4
    owner[120:190, 150:290] = 5
    return segmentation(owner, ["text", "thin", "thin", "text", "shape"])


def test_a_cycle_among_a_titles_crumbs_does_not_hold_the_title_back():
    """The crumbs' guesses contradict each other (1 over 2 over 3 over 1). The cycle used to be
    broken only once nothing else could go, so the title came after every unrelated word; now
    it loses its weakest relation first and the title takes its place among the words (the
    bigger one first, as for any free words)."""
    seg = _title_word_card()
    above = {(1, 2): 0.6, (2, 3): 0.1, (3, 1): 0.67}
    order = _topological(seg, above, contact=np.ones((6, 6)))
    assert order.index(1) < order.index(4)
    assert order.index(2) < order.index(1) < order.index(3)   # 2 over 3 went, the rest holds


def test_only_a_relation_on_a_cycle_is_dropped():
    """The card (5) lies over the word (4) by a weak guess (0.1) that is on no cycle, and the
    title (1) and word (4) contradict each other. The weakest relation of all used to go when
    the order was stuck, the card's, putting the card under the word; now only the cycle's
    weaker relation goes."""
    seg = _title_word_card()
    above = {(5, 4): 0.1, (1, 4): 0.6, (4, 1): 0.5}
    order = _topological(seg, above, contact=np.ones((6, 6)))
    assert order.index(4) < order.index(1)
    assert order.index(4) < order.index(5)

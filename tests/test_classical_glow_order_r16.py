"""Stacking order of the classical decomposer, round 16 of issue 14: a glow that the
segmentation keeps in narrow pieces along its card's sides still follows the card. Fails on
the engine before the behaviour it names."""

import numpy as np

from qil_editor.engines.classical.ordering import _glows_follow_their_hosts, _topological, contact_matrix
from classical_design import segmentation


def test_a_glow_in_narrow_pieces_follows_its_card_and_a_piece_does_not_turn_the_order():
    """A card (1) wrapped in a faint glow whose visible core the segmentation keeps as narrow
    strips along its sides (3 on top, 4 below), each well under 0.5 % of the canvas; a second
    card (2) lies over the first card's corner, which only a weak cue says. The strip below
    the first card touches the second card, and an outline cue between the two (meaningless:
    the glow is translucent) puts the strip over the second card: with the strip beneath its
    own card, the three made a cycle whose weakest link was the cards' own relation, and the
    first card went on top. A glow's piece is a glow: it lies right beneath its card and stands
    to the second card as its card does."""
    h, w = 300, 400
    owner = np.zeros((h, w), np.int32)
    owner[50:150, 60:200] = 1                  # the first card
    owner[46:50, 60:200] = 3                   # its glow above it: 560 px (0.47 %)
    owner[150:154, 60:180] = 4                 # and below it, up to the second card: 480 px
    owner[140:220, 180:300] = 2                # the second card, over the first one's corner
    seg = segmentation(owner, ["shape", "shape", "shape", "shape"], sharp=[1.0, 1.0, 0.1, 0.1])
    assert max(seg.region(3).area, seg.region(4).area) < 0.005 * h * w
    contact = contact_matrix(owner, 5)
    perimeter = np.maximum(contact.sum(axis=1), 1)
    above = {(2, 1): 0.38, (1, 3): 0.8, (1, 4): 0.8, (4, 2): 0.7}
    hosts = _glows_follow_their_hosts(seg, above, contact, perimeter)
    assert hosts == {3: 1, 4: 1}
    rank = {lbl: i for i, lbl in enumerate(_topological(seg, above, contact, hosts))}
    assert rank[2] > rank[1] > rank[4]          # second card on top, the glow under the first


def test_a_soft_sliver_of_a_few_pixels_is_no_glow():
    """A soft thin sliver along a card (the anti-aliased rim of a glyph) is no glow piece: it
    keeps its own relations and is not pinned right beneath the card."""
    h, w = 300, 400
    owner = np.zeros((h, w), np.int32)
    owner[50:150, 60:200] = 1
    owner[150:152, 80:120] = 2                 # 80 px, soft, thin
    seg = segmentation(owner, ["shape", "thin"], sharp=[1.0, 0.2])
    contact = contact_matrix(owner, 3)
    perimeter = np.maximum(contact.sum(axis=1), 1)
    assert _glows_follow_their_hosts(seg, {(2, 1): 0.6}, contact, perimeter) == {}

"""Stacking order of the classical decomposer, round 19 of issue 14: a one-pixel rim in the
T-junction cue, and the outline a card's fit owns only because the card stops there. Label
maps drawn by hand; each test fails on the engine before the behaviour it names."""

from types import SimpleNamespace

import numpy as np
import pytest

from qil_editor.engines.classical.ordering import _t_junction, contact_matrix, outline_cues
from qil_editor.engines.classical.regions import Region, Segmentation


def _region(owner, label, kind="shape"):
    ys, xs = np.nonzero(owner == label)
    return SimpleNamespace(label=label, kind=kind, area=int(ys.size),
                           bbox=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


@pytest.mark.parametrize("rim", [12, 30])
def test_a_one_pixel_rim_running_on_past_a_cards_corner_is_no_edge_of_its_own(rim):
    """Two cards side by side along x = 200; the right one's region also holds a rim one
    pixel wide running on up past the left card's corner (a neighbour's anti-aliased outline
    taken into it). The rim ran on in line past the end of the shared outline while the left
    card's outline turned away there, which read as the T-junction of the right card on top.
    An edge runs on with its object's body behind it: the rim says nothing."""
    owner = np.zeros((320, 420), np.int32)
    owner[100:200, 100:200] = 1
    owner[100:200, 200:300] = 2
    owner[100 - rim:100, 200] = 2
    left, right = _region(owner, 1), _region(owner, 2)
    assert _t_junction(owner, left, right) == 0
    assert _t_junction(owner, right, left) == 0


def _two_cards(a_rows, b_rows):
    """Card 1 abutting card 2 (to its right) along x = 180, each spanning the given rows."""
    owner = np.zeros((320, 420), np.int32)
    owner[a_rows[0]:a_rows[1], 60:180] = 1
    owner[b_rows[0]:b_rows[1], 180:320] = 2
    regions = []
    for lbl, colour in ((1, (0.3, 0.2, 0.2)), (2, (0.9, 0.4, 0.1))):
        ys, xs = np.nonzero(owner == lbl)
        rgb = np.array(colour, np.float32)
        regions.append(Region(lbl, "shape", (slice(int(ys.min()), int(ys.max()) + 1),
                                             slice(int(xs.min()), int(xs.max()) + 1)),
                              int(ys.size), rgb, rgb * 100.0))
    seg = Segmentation(owner, regions, owner > 0, np.zeros_like(owner, bool))
    return outline_cues(seg, contact_matrix(owner, 3))


def test_a_cards_side_seen_nowhere_against_the_background_is_not_its_own_by_its_fit():
    """A card whose whole right side meets another card is fitted a rectangle ending where it
    stops, so the fit's edge followed the outline they share whatever lies on top: the card
    beneath "owned" the edge of the card covering it. A side the card shows nowhere against
    the background owns nothing; one that runs on past the other card against the background
    still does."""
    hidden = _two_cards((100, 200), (60, 260))    # card 2 covers card 1's whole right side
    assert hidden[1][1][2] < 0.8
    seen = _two_cards((60, 260), (100, 200))      # card 1's right side runs on above and below
    assert seen[1][1][2] >= 0.8

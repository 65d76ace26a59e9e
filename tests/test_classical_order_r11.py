"""Stacking order of the classical decomposer, round 11 of issue 14: the T-junction cue on
label maps drawn by hand. Each test fails on the engine before the behaviour it names."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from qil_editor.engines.classical.ordering import _t_junction


def _region(owner, label, kind="shape"):
    ys, xs = np.nonzero(owner == label)
    return SimpleNamespace(label=label, kind=kind, area=int(ys.size),
                           bbox=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


@pytest.mark.parametrize("card, triangle", [
    ((60, 40, 200, 150), [(150, 110), (290, 120), (170, 250)]),
    ((80, 60, 230, 170), [(170, 120), (320, 150), (180, 280)]),
    ((40, 30, 180, 140), [(120, 100), (260, 90), (210, 240)]),
])
def test_a_card_corner_over_a_shape_owns_both_legs_of_the_outline_they_share(card, triangle):
    """A card whose corner lies on a triangle meets it along an L (the card's bottom and right
    edges), not along one straight line. Each leg is straight and ends in a T-junction where
    the card's edge runs on against the background while the triangle's outline turns away,
    so the card is on top. (The cue tested only one line through the whole shared outline,
    which an L is not, and said nothing.)"""
    owner = np.zeros((320, 400), np.int32)
    cv2.fillPoly(owner, [np.array(triangle, np.int32)], 1)
    x0, y0, x1, y1 = card
    owner[y0:y1, x0:x1] = 2
    tri, crd = _region(owner, 1), _region(owner, 2)
    assert _t_junction(owner, crd, tri) == 1
    assert _t_junction(owner, tri, crd) == -1


@pytest.mark.parametrize("length, width", [(160, 9), (200, 14)])
def test_a_halo_beside_a_card_is_never_put_over_it_by_the_t_junction_cue(length, width):
    """The soft rim of a glow that the segmentation keeps as a strip along one side of its card
    runs on past the card's ends, as a covering object's edge would. A glow lies beneath what
    it hugs whatever its outline shows, so the cue says nothing for it (it put such rims over
    their cards)."""
    owner = np.zeros((300, 400), np.int32)
    owner[100:200, 120:240] = 1                                   # the card
    y = 200
    owner[y:y + width, 200 - length // 2:200 + length // 2] = 2   # the rim, longer than the card
    card, rim = _region(owner, 1), _region(owner, 2)
    assert _t_junction(owner, rim, card, (0,)) == 1              # on the outline alone: on top
    assert _t_junction(owner, rim, card, (0, 2)) == 0             # known as a halo: no verdict


def _words_crossing(bars_on_top: bool, stroke: int, gap: int):
    """Label map of two 'words' whose strokes cross: a row of upright strokes (label 1) and
    two long bars through them (label 2), one drawn over the other."""
    from qil_editor.engines.classical.regions import Region, Segmentation
    owner = np.zeros((160, 320), np.int32)
    uprights = np.zeros_like(owner, bool)
    for x in range(40, 270, stroke + gap):
        uprights[40:120, x:x + stroke] = True
    bars = np.zeros_like(owner, bool)
    bars[62:62 + stroke, 30:290] = True
    bars[96:96 + stroke, 30:290] = True
    first, second = (uprights, bars) if bars_on_top else (bars, uprights)
    owner[first] = 1
    owner[second] = 2
    regions = []
    for lbl, colour in ((1, (0.9, 0.2, 0.2)), (2, (0.2, 0.2, 0.9))):
        ys, xs = np.nonzero(owner == lbl)
        rgb = np.array(colour, np.float32)
        regions.append(Region(lbl, "text", (slice(int(ys.min()), int(ys.max()) + 1),
                                            slice(int(xs.min()), int(xs.max()) + 1)),
                              int(ys.size), rgb, rgb * 100.0))
    return Segmentation(owner, regions, owner > 0, np.zeros_like(owner, bool))


@pytest.mark.parametrize("bars_on_top", [True, False])
@pytest.mark.parametrize("stroke, gap", [(4, 14), (6, 18), (3, 10)])
def test_of_two_words_whose_strokes_cross_the_one_whose_strokes_pass_lies_on_top(bars_on_top, stroke, gap):
    """Where strokes of two words cross, the upper word's stroke passes and the lower one's is
    cut. The order follows the crossings whichever word that is (it used to follow which
    word's pixels lie in the other's convex hull, which says nothing for words)."""
    from qil_editor.engines.classical.ordering import order_regions
    seg = _words_crossing(bars_on_top, stroke, gap)
    rank = order_regions(seg).rank()
    assert rank[2] > rank[1]     # label 2 is the word drawn last



def _word_stopping_at(kind: str, gap: int):
    """A block (label 1, of ``kind``) and a word (label 2: level strokes) whose strokes stop
    ``gap`` pixels short of the block's left edge, as if cut by it; a card (label 3) on the
    block's top edge."""
    from qil_editor.engines.classical.regions import Region, Segmentation
    owner = np.zeros((240, 360), np.int32)
    owner[40:200, 180:330] = 1
    for y in range(70, 170, 14):
        owner[y:y + 5, 60:180 - gap] = 2
    owner[16:40, 100:240] = 3
    regions = []
    for lbl, k, colour in ((1, kind, (0.3, 0.6, 0.3)), (2, "text", (0.1, 0.1, 0.1)),
                           (3, "shape", (0.9, 0.5, 0.1))):
        ys, xs = np.nonzero(owner == lbl)
        rgb = np.array(colour, np.float32)
        regions.append(Region(lbl, k, (slice(int(ys.min()), int(ys.max()) + 1),
                                       slice(int(xs.min()), int(xs.max()) + 1)),
                              int(ys.size), rgb, rgb * 100.0))
    return Segmentation(owner, regions, owner > 0, np.zeros_like(owner, bool))


def test_a_line_of_text_that_seems_to_stop_at_a_pictures_edge_is_not_put_under_it():
    """Text that runs on over a picture often goes into the picture's region there (its colours
    there are the picture's), so the line seems to stop at the picture's edge, as a word cut
    by a card does, a pixel or two short of it. Words lie on pictures far more often than
    under them: the picture's edge no longer puts the line beneath it (a card's edge still
    does)."""
    from qil_editor.engines.classical.ordering import order_regions
    rank = order_regions(_word_stopping_at("photo", 2)).rank()
    assert rank[2] > rank[1]
    rank = order_regions(_word_stopping_at("shape", 2)).rank()
    assert rank[2] < rank[1]


def test_a_crumb_of_a_word_at_a_pictures_edge_does_not_pull_the_word_under_the_picture():
    """A crumb of a word's anti-aliased stroke end (label 4), between the word and a picture's
    edge: the picture's outline is whole along it, which says nothing when the text over the
    picture went into the picture's region. Taken as evidence it put the crumb, and through
    it the word, under the picture; a card's whole edge still puts the crumb beneath it."""
    from qil_editor.engines.classical.ordering import order_regions
    for kind, on_top in (("photo", True), ("shape", False)):
        seg = _word_stopping_at(kind, 4)
        seg.owner[100:102, 177:180] = 4
        seg.regions.append(_crumb(seg.owner, 4))
        rank = order_regions(seg).rank()
        assert (rank[2] > rank[1]) == on_top
        assert (rank[4] > rank[1]) == on_top


def _crumb(owner, label):
    from qil_editor.engines.classical.regions import Region
    ys, xs = np.nonzero(owner == label)
    rgb = np.array((0.1, 0.1, 0.1), np.float32)
    return Region(label, "thin", (slice(int(ys.min()), int(ys.max()) + 1),
                                  slice(int(xs.min()), int(xs.max()) + 1)), int(ys.size), rgb, rgb * 100.0)

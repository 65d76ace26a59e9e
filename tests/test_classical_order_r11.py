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

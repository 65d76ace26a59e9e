"""Stacking order of the classical decomposer, round 8 of issue 14: the final topological
sort. Each test fails on the engine before the behaviour it names was added."""

import numpy as np

from qil_editor.engines.classical.ordering import _topological
from qil_editor.engines.classical.regions import Region, Segmentation


def _seg(kinds_areas):
    regions = [Region(i + 1, kind, (slice(0, 1), slice(0, 1)), area, np.zeros(3, np.float32),
                      np.zeros(3, np.float32)) for i, (kind, area) in enumerate(kinds_areas)]
    return Segmentation(np.zeros((384, 512), np.int32), regions, np.zeros((384, 512), bool),
                        np.zeros((384, 512), bool))


def test_crumbs_under_a_picture_do_not_hold_it_back_behind_unrelated_text():
    """A title and, elsewhere, a picture whose edge covers two 6-pixel crumbs: nothing puts
    the title under the picture, so the picture comes first, as pictures do, and its crumbs
    right before it (before, the picture waited for the crumbs, which rank with text and
    came after the bigger title, and so the picture ended up over the title)."""
    seg = _seg([("text", 7859), ("thin", 6), ("thin", 6), ("photo", 30429)])
    order = _topological(seg, {(4, 2): 0.7, (4, 3): 0.7})
    assert order.index(4) < order.index(1)
    assert order.index(2) < order.index(4) and order.index(3) < order.index(4)


"""Stacking order of the classical decomposer, round 15 of issue 14: a drop shadow stays right
beneath its caster when what else the caster lies on is caught in a cycle of relations.
Fails on the engine before the behaviour it names."""

import numpy as np

from qil_editor.engines.classical.ordering import _topological
from classical_design import segmentation


def test_a_shadow_waits_for_its_caster_while_the_regions_under_the_caster_are_in_a_cycle():
    """A card (2) casts a shadow (1) and lies over two panels (3, 4) whose own relation is
    contradictory (3 over 4 with 0.6, 4 over 3 with 0.3). The shadow used to be released at
    once, to the very bottom, beneath both panels; the cycle loses its weakest relation first
    now, and the shadow goes right beneath its card."""
    owner = np.zeros((200, 300), np.int32)
    owner[10:40, 10:60] = 1
    owner[20:80, 20:100] = 2
    owner[100:190, 10:140] = 3
    owner[100:190, 150:290] = 4
    seg = segmentation(owner, ["shadow", "shape", "shape", "shape"])
    above = {(2, 1): 0.9, (2, 3): 0.9, (2, 4): 0.9, (3, 4): 0.6, (4, 3): 0.3}
    order = _topological(seg, above, contact=np.ones((5, 5)))
    assert order == [4, 3, 1, 2]


def test_a_shadow_is_still_released_when_nothing_under_its_caster_is_in_a_cycle():
    """The wait does not deadlock: a panel under the card that itself lies over the shadow
    (so the panel waits for the shadow and the shadow for the panel) lets the shadow go."""
    owner = np.zeros((200, 300), np.int32)
    owner[10:40, 10:60] = 1
    owner[20:80, 20:100] = 2
    owner[100:190, 10:140] = 3
    seg = segmentation(owner, ["shadow", "shape", "shape"])
    above = {(2, 1): 0.9, (2, 3): 0.9, (3, 1): 0.5}
    assert _topological(seg, above, contact=np.ones((4, 4))) == [1, 3, 2]

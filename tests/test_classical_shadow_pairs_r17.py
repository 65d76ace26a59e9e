"""Drop shadows in the classical decomposer, round 17 of issue 14: two objects' shadows are
not one layer. Fails on the engine before the behaviour it names."""

import cv2
import numpy as np

from classical_design import H, W, segmentation
from qil_editor.engines.classical.grouping import group_regions
from qil_editor.engines.classical.ordering import order_regions


def _disc(owner, cx, cy, r, lbl):
    cv2.circle(owner, (cx, cy), r, lbl, -1)


def test_two_objects_shadows_chained_by_a_crumb_stay_two_layers():
    """Two discs side by side, each with the crescent of its drop shadow below it, the two
    shadows a few pixels apart with a crumb of shadow between them touching both. Alike in
    colour (both black) the two shadows were the cheapest pair once the crumb had joined one
    of them, and one layer held both (each then completed at about half its IoU). Told to
    make one merge more than there are objects, the engine now merges elsewhere: each shadow
    stays apart from the other object's shadow."""
    owner = np.zeros((H, W), np.int32)
    _disc(owner, 100, 112, 40, 2)           # shadow A, cast 12 px down
    _disc(owner, 190, 112, 40, 4)           # shadow B
    owner[141:146, 123:168] = 5             # a crumb of shadow between the two, touching both
    _disc(owner, 100, 100, 40, 1)           # disc A
    _disc(owner, 190, 100, 40, 3)           # disc B
    crumb_ring = cv2.dilate((owner == 5).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert {2, 4} <= set(np.unique(owner[crumb_ring]).tolist())
    seg = segmentation(owner, ["shape", "shadow", "shape", "shadow", "shadow"],
                       [(0.3, 0.8, 0.8), (0.0, 0.0, 0.0), (0.3, 0.5, 0.2), (0.0, 0.0, 0.0),
                        (0.0, 0.0, 0.0)], sharp=[0.9, 0.1, 0.9, 0.1, 0.1])
    groups = group_regions(seg, order_regions(seg), 3, (W, H))
    for g in groups:
        assert not {2, 4} <= set(g.labels), [x.labels for x in groups]


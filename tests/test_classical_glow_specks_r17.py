"""Soft glows in the classical decomposer, round 17 of issue 14: a glow with specks on its
rim is still a glow. Fails on the engine before the behaviour it names."""

import cv2
import numpy as np

from classical_design import H, W, segmentation
from qil_editor.engines.classical.grouping import group_regions
from qil_editor.engines.classical.ordering import order_regions


def test_a_glow_holding_specks_called_photo_or_text_stays_a_glow():
    """A dark card with a light green glow round it; on the glow's rim two specks the
    segmenter called a photo and a text (a few pixels each, as the grain of a glow over a
    gradient gives). Joined to the glow, they made its group a shape: it was then costed as
    one (its own bits over other objects too far in colour to join it, its host the cheapest
    pair) and named a shape. The group is now a glow (kind shadow), named so."""
    owner = np.zeros((H, W), np.int32)
    cv2.rectangle(owner, (70, 50), (250, 190), 2, -1)     # the glow, the card grown
    owner[48:52, 150:154] = 3                              # a speck called photo on its rim
    owner[188:192, 120:124] = 4                            # a speck called text
    cv2.rectangle(owner, (90, 70), (230, 170), 1, -1)      # the card over it
    seg = segmentation(owner, ["shape", "shadow", "photo", "text"],
                       [(0.15, 0.3, 0.15), (0.6, 1.0, 0.6), (0.5, 0.9, 0.5), (0.55, 0.95, 0.55)],
                       sharp=[0.9, 0.05, 0.9, 0.9])
    groups = group_regions(seg, order_regions(seg), 2, (W, H))
    glow = [g for g in groups if 2 in g.labels]
    assert len(groups) == 2 and 1 not in glow[0].labels, [g.labels for g in groups]
    assert glow[0].kind == "shadow" and glow[0].name.startswith("Glow"), (glow[0].kind, glow[0].name)

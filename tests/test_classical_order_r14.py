"""Stacking order of the classical decomposer, round 14 of issue 14: the T-junction cue for a
card with big rounded corners. Each test fails on the engine before the behaviour it names."""

import cv2
import numpy as np

from qil_editor.engines.classical.ordering import contact_matrix, order_regions, outline_cues
from classical_design import segmentation


def _rounded(owner, x0, y0, x1, y1, r, label):
    """Draw a rectangle with corners of radius ``r`` into ``owner``."""
    m = np.zeros(owner.shape, np.uint8)
    cv2.rectangle(m, (x0 + r, y0), (x1 - r, y1), 1, -1)
    cv2.rectangle(m, (x0, y0 + r), (x1, y1 - r), 1, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(m, (cx, cy), r, 1, -1)
    owner[m > 0] = label


def test_a_card_with_big_rounded_corners_is_whole_where_it_lies_on_a_bar():
    """A button with big rounded corners lying over a bar: its edges across the bar continue
    its whole outline (the T-junction cue). Its corner facets made a polygon with cut corners
    that fit nothing, so the cue had no shape for it (a rectangle with the corner radius that
    fits is tried now, as completion does)."""
    owner = np.zeros((300, 400), np.int32)
    owner[120:180, 40:360] = 2                    # the bar
    _rounded(owner, 140, 60, 300, 240, 50, 1)     # the button over it
    seg = segmentation(owner, ["shape", "shape"], [(0.9, 0.3, 0.2), (0.2, 0.4, 0.8)])
    cues = outline_cues(seg, contact_matrix(owner, 3))
    assert cues[1][2][2] >= 0.7
    assert order_regions(seg).rank()[1] > order_regions(seg).rank()[2]

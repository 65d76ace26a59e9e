"""Completing a covered polygon whose two seen sides spread apart under what covers it:
the side between them is hidden, so they never meet; the polygon closes square to the way
they run through the farthest part in sight (the least it must reach), not at the hull of
the visible part."""

import cv2
import numpy as np

from qil_editor.engines.classical.shapes import fit_covered_shape, hull_mask
from qil_editor.evaluation.failures import soft_iou

W, H = 200, 160


def _quad_under_disc():
    """A quadrilateral standing on its short side, its long sides spreading apart going up;
    a disc lies over its top, so its top side is wholly hidden."""
    quad = np.zeros((H, W), np.uint8)
    cv2.fillPoly(quad, [np.array([[70, 150], [110, 150], [150, 20], [40, 30]], np.int32)], 1)
    disc = np.zeros((H, W), np.uint8)
    cv2.circle(disc, (130, 15), 90, 1, -1)
    return quad.astype(bool), disc.astype(bool)


def test_spreading_sides_close_under_the_cover():
    quad, disc = _quad_under_disc()
    own = quad & ~disc
    near = cv2.dilate(disc.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    fit = fit_covered_shape(own, own & ~near, own | disc, robust=True, rectangle=True)
    assert fit is not None
    assert not ((fit > 0.01) & ~(own | disc)).any()          # only where something covers it
    inside = fit > 0.5
    assert (inside & ~quad).sum() <= 0.02 * inside.sum()    # nothing the quadrilateral lacks
    truth = quad.astype(np.float32)
    # it reaches under the disc beyond the hull of what is seen
    assert soft_iou(fit, truth) >= soft_iou(hull_mask(own).astype(np.float32), truth) + 0.05

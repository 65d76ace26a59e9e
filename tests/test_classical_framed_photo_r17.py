"""Completion in the classical decomposer, round 17 of issue 14: a shape is completed under
everything stacked on it, not only under what touches it. Fails on the engine before the
behaviour it names."""

import numpy as np

from classical_design import W, H, best_iou, box, decompose, design, ellipse, photo


def test_a_disc_under_a_framed_picture_is_completed_under_the_picture_too():
    """A disc with a framed picture over part of it: a white card (the frame) with a photo set
    on it, a few pixels in from its sides. The disc touches only the frame, so only the frame
    was taken to cover it: the part of the disc under the photo (which lies on the frame) was
    left out, the fitted disc did not fit what it was allowed to reach, and the disc's layer
    kept a hole the frame's shape. What lies on what covers a shape hides it too."""
    disc = ellipse(150, 100, 60, 60)
    frame = box(150, 60, 230, 130)
    pic = np.zeros((H, W), np.float32)
    pic[65:125, 155:225] = 1.0
    image, truth = design((0.1, 0.45, 0.4),
                          ((0.4, 0.25, 0.5), disc, "Disc"),
                          ((1.0, 1.0, 1.0), frame, "Frame"),
                          (photo(5, size=(W, H)), pic, "Photo"))
    _, pred = decompose(image, 4)
    assert best_iou(pred, disc) >= 0.95

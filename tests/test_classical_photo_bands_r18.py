"""Pictures in the classical decomposer, round 18 of issue 14: a line of text that starts on a
picture and runs on over a shape beside it is not part of the picture. Fails on the engine
before the behaviour it names."""

import numpy as np

from classical_design import best_iou, box, decompose, design, ellipse, photo, words


def test_a_word_running_off_a_picture_onto_a_disc_leaves_both_whole():
    """A photo with a dark oval beside it, partly under it, and a white word that starts on
    the photo's edge and runs across the oval. The photo's edge-density test took the word
    along as a band sticking out of the picture's side (too thick for the opening that trims
    thin things): the photo's layer carried the word's letters and the oval came out cut in
    two. The band is handed back: the oval comes out whole and the photo stays in its frame."""
    oval = ellipse(215, 95, 50, 38)
    image, truth = design((0.85, 0.72, 0.35),
                          ((0.25, 0.1, 0.28), oval, "Oval"),
                          (photo(5), box(30, 90, 175, 200), "Photo"),
                          ((1.0, 1.0, 1.0), words("Travel", 150, 78, 30, serif=True), "Word"))
    _, layers = decompose(image, len(truth))
    frame = box(30, 90, 175, 200)
    pic = max(layers[1:], key=lambda lay: float(np.minimum(lay[..., 3] / 255.0, frame).sum()))
    outside = (pic[..., 3].astype(np.float32) / 255.0)[:, 180:]  # right of the picture's frame
    assert outside.sum() < 30, outside.sum()
    assert best_iou(layers, oval) >= 0.9, best_iou(layers, oval)

"""A drop shadow is drawn right beneath its caster. When the caster also lies on something
(a word it half covers), the shadow was laid before that, at the bottom, with unrelated
layers between it and its caster: moving the card left its shadow behind other layers."""

import cv2
import numpy as np

from qil_editor.evaluation.failures import soft_iou

from classical_design import box, decompose, design, words


def test_a_shadow_lies_right_beneath_its_caster_when_the_caster_covers_a_word():
    card = box(180, 120, 290, 160)
    shadow = 0.5 * np.clip(cv2.GaussianBlur(np.roll(np.roll(card, 5, 0), 5, 1), (0, 0), 4.0), 0, 1)
    half_hidden = words("50% off", 150, 110, 36)
    other = words("Workshop", 30, 150, 22, bold=True)
    image, truth = design((0.86, 0.78, 0.55), ((0.35, 0.7, 0.7), half_hidden, "Offer"),
                          ((0.55, 0.6, 0.85), other, "Title"), ((0, 0, 0), shadow, "Shadow"),
                          ((0.4, 0.5, 0.75), card, "Card"))
    doc, pred = decompose(image, 5)
    assert len(pred) == 5

    def index_of(alpha):
        return int(np.argmax([soft_iou(p[..., 3] / 255.0, alpha) for p in pred]))

    assert index_of(shadow) == index_of(card) - 1

"""A title running from the plain background onto a picture. Its light face's 2-3 px strokes
have a uniform core only in bits on the picture, so the letters there stayed in the photo
layer ("Coffee & Co" -> "Coffee" + a photo with "& Co" in it)."""

import numpy as np

from classical_design import best_iou, box, decompose, design, photo, words


def test_a_light_title_running_onto_a_picture_stays_whole():
    picture = box(170, 40, 300, 200)
    title = words("Coffee & Co", 40, 95, 40)
    texture = photo(5, (0.15, 0.55, 0.25), (0.55, 0.9, 0.5))
    image, truth = design((0.92, 0.55, 0.7), (texture, picture, "Photo"),
                          ((0.3, 0.2, 0.08), title, "Title"))
    doc, pred = decompose(image, 3)
    assert len(pred) == 3
    assert best_iou(pred, title) >= 0.9
    assert best_iou(pred, picture) >= 0.85
    # the letters on the picture are not left in the photo layer (in the title's colour)
    photo_layer = max(pred[1:], key=lambda p: float((p[..., 3] / 255.0 * picture).sum()))
    on_picture = (title > 0.9) & (picture > 0.99)
    px = photo_layer[on_picture]
    inked = (px[:, 3] > 128) & (np.abs(px[:, :3] / 255.0 - np.float32([0.3, 0.2, 0.08])).max(-1) < 0.1)
    assert float(inked.mean()) <= 0.1


def test_a_row_of_a_pictures_own_flat_patches_is_no_text_line():
    """Flat patches in a colour the picture has all over it can line up like glyphs; read as a
    line of text they took a layer, and with the count given the real title was merged."""
    import cv2

    panel = box(120, 30, 310, 210)
    texture = photo(11, (0.1, 0.35, 0.1), (0.6, 0.8, 0.35))
    mid = np.float32([0.35, 0.575, 0.225])
    for i in range(5):
        m = np.zeros(panel.shape, np.float32)
        cv2.ellipse(m, (150 + 30 * i, 120), (9, 13), 0, 0, 360, 1.0, -1)
        texture = texture * (1 - m[..., None]) + mid * m[..., None]
    title = words("Best Tickets", 10, 100, 36, serif=True)
    image, truth = design((0.75, 0.85, 0.4), (texture, panel, "Photo"),
                          ((0.2, 0.13, 0.13), title, "Title"))
    doc, pred = decompose(image, 3)
    assert best_iou(pred, panel) >= 0.95
    assert best_iou(pred, title) >= 0.85

"""Pictures' thin drop-shadow bands in the classical decomposer, round 18 of issue 14: a
shadow cast nearly under its picture, taken along with the picture, leaves it as a band of a
few rows; a near-black picture's own dark edge, as thin, stays in the picture. Fails on the
engine before the behaviour it names."""

import cv2
import numpy as np

from classical_design import H, W, box, photo
from qil_editor.engines.classical.background import Background
from qil_editor.engines.classical.colour import rgb_to_lab
from qil_editor.engines.classical.regions import _shed_photo_shadows

PAGE = np.array((0.92, 0.88, 0.8), np.float32)


def _shed(rgb, blob):
    bgrgb = np.broadcast_to(PAGE, (H, W, 3)).copy()
    bg = Background(bgrgb, rgb_to_lab(bgrgb), np.zeros((H, W), np.float32), 0.0, False, 2.0, 6.0)
    lbl = blob.astype(np.int32)
    return _shed_photo_shadows(lbl, rgb.astype(np.float32), rgb_to_lab(rgb.astype(np.float32)), bg, 60)


def test_a_thin_drop_shadow_band_below_a_picture_leaves_it():
    """A picture casting a soft shadow nearly straight down (1 px over, 4 down, blur 2,
    strength 0.45): the band below it is six rows or so, too thin for a 5x5 opening, but
    the page darkened towards black as a drop shadow darkens it: it is shed as the shadow."""
    pic = box(60, 60, 200, 150)
    sh = 0.45 * cv2.GaussianBlur(np.roll(np.roll(pic, 4, axis=0), 1, axis=1), (0, 0), 2.0) * (1 - pic)
    rgb = (PAGE * (1 - sh)[..., None]) * (1 - pic)[..., None] + photo(4) * pic[..., None]
    blob = (pic > 0.5) | (sh > 0.04)
    out, shed = _shed(rgb, blob)
    band = (pic < 0.5) & (sh > 0.15)
    assert band.sum() > 300
    assert (shed[band] == 1).mean() >= 0.6, (shed[band] == 1).mean()
    assert not shed[pic > 0.99].any()


def test_a_near_black_pictures_soft_edge_stays_in_it():
    """A near-black photo with a feathered edge (blur 1.5): its rim, a few rows wide, is the
    page blended towards black as a shadow's band is, but it darkens the page up to the
    picture's own near-black, far more than a drop shadow does: it stays in the picture."""
    pic = cv2.GaussianBlur(box(60, 60, 200, 150), (0, 0), 1.5)
    img = photo(5, c0=(0.02, 0.02, 0.03), c1=(0.12, 0.1, 0.14))
    rgb = PAGE * (1 - pic)[..., None] + img * pic[..., None]
    out, shed = _shed(rgb, pic > 0.05)
    assert not shed.any(), int(shed.astype(bool).sum())

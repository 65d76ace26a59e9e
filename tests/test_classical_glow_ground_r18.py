"""Soft glows in the classical decomposer, round 18 of issue 14: a glow lying over a picture
is found there too. Fails on the engine before the behaviour it names."""

import numpy as np
from classical_design import box, decompose, design, ellipse, photo
from test_classical_glow import glow_of

from qil_editor.evaluation.failures import match_layers


def test_the_ring_of_a_glow_over_a_picture_leaves_the_picture():
    """A disc with a yellow glow lies over a picture's corner, most of its ring on the
    picture. The glow's pieces were fitted against the page's background alone: too little
    of its ring was left for a glow, and the ring over the picture stayed in the picture's
    region (the picture's layer carried a yellow arc). That part is now fitted against the
    picture as seen beyond the glow and goes with the glow, which lies over the picture:
    the picture's layer shows the picture there."""
    pic_px = photo(5)
    pic = box(40, 30, 190, 150)
    disc = ellipse(156, 116, 32, 32)
    glow = glow_of(disc, 9, 5.0, 0.75)
    image, truth = design((0.2, 0.75, 0.3), (pic_px, pic, "Photo"),
                          ((0.95, 0.9, 0.35), glow, "Glow"), ((0.6, 0.2, 0.8), disc, "Disc"))
    doc, pred = decompose(image, 4)
    match = match_layers(pred, truth)
    assert 0 < match[1] < match[2] < match[3], match
    ring = (glow > 0.3) & (disc < 0.01) & (pic > 0.99)   # the glow's ring over the picture
    assert ring.sum() > 200
    seen = pred[match[1]][..., :3][ring].astype(np.float32) / 255.0
    miss = np.linalg.norm(seen - pic_px[ring], axis=-1)
    assert float(np.median(miss)) < 0.15, float(np.median(miss))


def test_the_colour_of_a_faint_glow_is_found_among_a_crumb():
    """A faint glow near the background's colour (a few per cent RGB) with a dark crumb of
    something else among its pixels (a picture's corner, one pixel in a hundred): the
    fit from black, pulled off by the crumb, explained the mean square about as well as a
    shadow is and was kept without the bright start being tried, so the glow came out red
    and none of its pieces agreed with it. The miss is now judged without the worst few
    pixels and the bright start is always tried on a light blend."""
    from qil_editor.engines.classical.blends import blend_residual, shadow_colour
    rng = np.random.default_rng(1)
    under = (np.float32([0.33, 0.86, 0.72]) + rng.normal(0, 0.004, (1000, 3))).astype(np.float32)
    glow = np.float32([0.44, 0.84, 0.8])
    a = rng.uniform(0.05, 0.6, (1000, 1)).astype(np.float32)
    img = under + a * (glow - under)
    img[:10] = np.float32([0.38, 0.4, 0.34])   # the crumb
    col = shadow_colour(img, under, light=True)
    _, miss = blend_residual(img[10:], under[10:], col)
    assert float(np.median(miss)) < 0.01, (col, float(np.median(miss)))

"""Completing covered shapes: a card with only two sides of its own in sight, a card under
a region the final order puts on top of it without a cue that said so."""

import cv2
import numpy as np
import pytest

from qil_editor.engines.classical.shapes import fit_covered_shape
from qil_editor.evaluation.failures import soft_iou

W, H = 320, 240


def _mask(draw) -> np.ndarray:
    out = np.zeros((H, W), np.uint8)
    draw(out)
    return out.astype(bool)


def _card_under_disc_and_strip():
    """A card whose bottom side lies wholly under a disc and whose right side runs along a
    strip lying on it (a neighbour's shadow, say): only its top and left sides are its own."""
    card = _mask(lambda m: cv2.rectangle(m, (40, 40), (199, 159), 1, -1))
    disc = _mask(lambda m: cv2.circle(m, (120, 215), 100, 1, -1))
    strip = _mask(lambda m: cv2.rectangle(m, (200, 30), (213, 156), 1, -1))
    return card, disc, strip


def test_two_sides_seen_complete_a_rectangle_under_what_covers_it():
    card, disc, strip = _card_under_disc_and_strip()
    cover = disc | strip
    own = card & ~cover
    near = cv2.dilate(cover.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert fit_covered_shape(own, own & ~near, own | cover, robust=True) is None  # too few sides for a polygon
    fit = fit_covered_shape(own, own & ~near, own | cover, robust=True, rectangle=True)
    assert fit is not None
    assert soft_iou(fit, card.astype(np.float32)) >= 0.9
    assert not ((fit > 0.01) & ~(own | cover)).any()      # only where something covers it
    # under the disc it reaches as far down as the card is seen at its sides
    assert ((fit > 0.5) & disc & card).sum() >= 0.9 * (disc & card & (np.arange(H)[:, None] < 154)).sum()


def test_rectangle_needs_sides_square_to_each_other():
    """Two straight sides that are neither parallel nor square (a triangle's) are no rectangle's."""
    tri = _mask(lambda m: cv2.fillPoly(m, [np.array([[40, 40], [220, 60], [60, 200]], np.int32)], 1))
    cover = _mask(lambda m: cv2.circle(m, (150, 140), 60, 1, -1))
    own = tri & ~cover
    near = cv2.dilate(cover.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    real = own & ~near
    fit = fit_covered_shape(own, real, own | cover, robust=True, rectangle=True)
    if fit is not None:  # a triangle may be completed as one, never as the box around it
        box = _mask(lambda m: cv2.rectangle(m, (40, 40), (220, 200), 1, -1))
        assert ((fit > 0.5) & box & ~tri).sum() <= 0.02 * tri.sum()


def test_a_region_ranked_on_top_covers_what_it_touches():
    """A photo the final order puts on a card, though the cue between them said otherwise
    (and so is not among ``ordering.above``): the card is completed under it."""
    from qil_editor.engines.classical.background import Background
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.models import build_models
    from qil_editor.engines.classical.ordering import Ordering, contact_matrix
    from qil_editor.engines.classical.regions import Region, Segmentation

    card = _mask(lambda m: cv2.rectangle(m, (40, 40), (199, 159), 1, -1))
    photo = _mask(lambda m: cv2.rectangle(m, (120, 100), (279, 209), 1, -1))
    owner = np.zeros((H, W), np.int32)
    owner[card] = 1
    owner[photo] = 2
    bg_col = np.float32([0.95, 0.9, 0.8])
    img = np.broadcast_to(bg_col, (H, W, 3)).copy()
    img[card] = (0.2, 0.3, 0.5)
    rng = np.random.default_rng(1)
    img[photo] = rng.uniform(0.2, 0.9, (int(photo.sum()), 3))
    regions = []
    for lbl, kind in ((1, "shape"), (2, "photo")):
        m = owner == lbl
        ys, xs = np.nonzero(m)
        rgb = img[m].mean(0).astype(np.float32)
        regions.append(Region(lbl, kind, (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)),
                              int(m.sum()), rgb, rgb_to_lab(rgb[None])[0], sharp=1.0))
    seg = Segmentation(owner, regions, owner > 0, np.ones((H, W), bool))
    bgrgb = np.broadcast_to(bg_col, (H, W, 3)).copy()
    bg = Background(bgrgb, rgb_to_lab(bgrgb), np.zeros((H, W), np.float32), 0.0, False, 2.0, 6.0)
    # the photo is ranked above the card, but no relation between them survived
    ordering = Ordering([1, 2], {}, contact_matrix(owner, 3))
    model = build_models(seg, ordering, img, bg)[1]
    x0, y0, x1, y1 = model.box
    alpha = np.zeros((H, W), np.float32)
    alpha[y0:y1, x0:x1] = model.support * model.alpha
    assert (alpha[card & photo] > 0.5).mean() >= 0.95
    # beyond the card at most its fitted edge (cv2's anti-aliased fill runs a pixel wide)
    grown = cv2.dilate(card.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert not (alpha[~grown] > 0.01).any()


def _aa(draw, ss=4) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of what ``draw(canvas, ss)`` paints (supersampled)."""
    big = np.zeros((H * ss, W * ss), np.uint8)
    draw(big, ss)
    return cv2.resize(big, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _rounded(x0, y0, x1, y1, r):
    def draw(b, s):
        cv2.rectangle(b, ((x0 + r) * s, y0 * s), ((x1 - r) * s - 1, y1 * s - 1), 255, -1)
        cv2.rectangle(b, (x0 * s, (y0 + r) * s), (x1 * s - 1, (y1 - r) * s - 1), 255, -1)
        for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(b, (cx * s, cy * s), r * s, 255, -1)
    return _aa(draw)


def test_a_bar_across_a_rounded_card_leaves_no_bite():
    """A gradient card with big rounded corners and a dark bar on it running out past its
    right side: the card's layer is the whole card, not a C with a bite where the bar is."""
    import classical_design
    from qil_editor.evaluation.failures import match_layers

    card = _rounded(40, 40, 220, 190, 45)
    bar = _aa(lambda b, s: cv2.rectangle(b, (90 * s, 75 * s), (250 * s - 1, 135 * s - 1), 255, -1))
    t = np.linspace(0.0, 1.0, W, dtype=np.float32)[None, :, None]
    ramp = np.broadcast_to((1 - t) * np.float32([0.75, 0.4, 0.5]) + t * np.float32([0.35, 0.3, 0.4]), (H, W, 3))
    image, truth = classical_design.design((0.45, 0.6, 0.78), (ramp, card, "Card"), ((0.22, 0.15, 0.15), bar, "Bar"))
    _, pred = classical_design.decompose(image, 3)
    got = pred[match_layers(pred, truth)[1]][..., 3] / 255.0
    assert soft_iou(got, card) >= 0.95
    under = (card > 0.99) & (bar > 0.99)
    assert (got[under] > 0.9).mean() >= 0.95



@pytest.mark.parametrize("right, bottom", [(140, 115), (135, 120), (150, 110)])
def test_a_disc_seen_along_a_short_arc_is_completed_as_a_circle(right, bottom):
    """A round photo or dot showing only a short arc of its outline: an ellipse fitted to the
    arc is free to stretch under what covers it, out past the covers, so no fit passed and the
    disc kept its bite. A circle is held by three numbers and completes it."""
    h, w = 240, 320
    full = np.zeros((h, w), np.uint8)
    cv2.circle(full, (150, 120), 60, 1, -1)
    full = full.astype(bool)
    cover = np.zeros((h, w), bool)
    cover[:, right:] = True                 # a card over its right part ...
    cover[bottom:, :] = True                # ... and a band over its bottom
    # what covers it reaches a little past the disc, not over the whole canvas
    cover &= cv2.dilate(full.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    own = full & ~cover
    near = cv2.dilate(cover.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    fit = fit_covered_shape(own, own & ~near, own | cover)
    assert fit is not None
    assert soft_iou(fit > 0.5, full) >= 0.95
    assert not ((fit > 0.5) & ~(own | cover)).any()

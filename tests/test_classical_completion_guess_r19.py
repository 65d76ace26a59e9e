"""Completing covered shapes whose hidden part no exact fit gives: a triangle seen by two
sides only (its third side wholly hidden), a polygon whose seen sides would meet only
beyond what covers them (a short side between them is hidden), and a rounded card whose
far side is hidden (its rounded corners lie beyond the visible part, not across it)."""

import cv2
import numpy as np

from qil_editor.engines.classical.shapes import fit_covered_shape
from qil_editor.evaluation.failures import soft_iou

W, H = 220, 180


def _fit(shape: np.ndarray, cover: np.ndarray, **kw):
    own = shape & ~cover
    near = cv2.dilate(cover.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    fit = fit_covered_shape(own, own & ~near, own | cover, robust=True, rectangle=True, **kw)
    return own, fit


def _poly(pts) -> np.ndarray:
    out = np.zeros((H, W), np.uint8)
    cv2.fillPoly(out, [np.array(pts, np.int32)], 1)
    return out.astype(bool)


def _disc(cx, cy, r) -> np.ndarray:
    out = np.zeros((H, W), np.uint8)
    cv2.circle(out, (cx, cy), r, 1, -1)
    return out.astype(bool)


def _check(own, fit, shape, cover, gain):
    assert fit is not None
    assert not ((fit > 0.01) & ~(own | cover)).any()          # only where something covers it
    inside = fit > 0.5
    assert (inside & ~shape).sum() <= 0.03 * inside.sum()    # (nearly) nothing the shape lacks
    truth = shape.astype(np.float32)
    assert soft_iou(fit, truth) >= soft_iou(own.astype(np.float32), truth) + gain


def test_triangle_seen_by_two_sides():
    """Its left corner and the whole of its lower left side lie under a disc."""
    tri = _poly([[30, 90], [210, 20], [120, 170]])
    disc = _disc(75, 130, 62)
    own, fit = _fit(tri, disc, guess=True)
    _check(own, fit, tri, disc, 0.05)
    # a guess, for completing only: without ``guess`` nothing fits
    assert _fit(tri, disc)[1] is None


def test_corner_beyond_the_cover_is_cut():
    """A pentagon whose upper and lower right sides would meet far to the right; a disc over
    its right end hides them and the short side that joins them."""
    penta = _poly([[20, 60], [60, 30], [150, 60], [150, 95], [40, 120]])
    disc = _disc(150, 78, 30)
    own, fit = _fit(penta, disc, guess=True)
    _check(own, fit, penta, disc, 0.01)
    assert _fit(penta, disc)[1] is None


def test_rounded_card_holds_its_visible_part():
    """A card with big rounded corners, its top third under a wide bar: its top side and
    top corners are hidden, so the completed card reaches above the visible part at full
    width (the rounding lies under the bar) instead of rounding off the visible part's
    square top corners, and its seen round corners are not traded for the sharp corners of
    the polygon its straight sides make."""
    card = np.zeros((H, W), np.uint8)
    x0, y0, x1, y1, r = 50, 20, 170, 160, 24
    cv2.rectangle(card, (x0 + r, y0), (x1 - r, y1), 1, -1)
    cv2.rectangle(card, (x0, y0 + r), (x1, y1 - r), 1, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(card, (cx, cy), r, 1, -1)
    card = card.astype(bool)
    bar = np.zeros((H, W), bool)
    bar[0:70] = True
    own, fit = _fit(card, bar, guess=True)
    assert fit is not None
    # a row under the bar a little above its edge: the card is there at (nearly) full width
    row = fit[66, x0 + 5:x1 - 5] > 0.5
    assert row.all()

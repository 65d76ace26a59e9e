"""Photo blobs holding several pictures, or a picture and shapes the edge-density test took along."""

import numpy as np
import pytest

from qil_editor.evaluation.failures import match_layers, soft_iou

from classical_design import decompose
from test_classical_completion import design, photo_texture, rect

W, H = 320, 240


def test_a_striped_card_and_a_dark_box_cut_off_a_photo_blob_are_handed_back():
    """A photo blob cut along straight outlines into pieces that are no pictures (a striped
    card: two colours and their blends; a dark flat box) hands them back to the ordinary
    segmentation instead of keeping the whole blob as one photo."""
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.regions import _split_photos
    yy, xx = np.mgrid[0:H, 0:W]
    stripes = (((xx + yy) // 3) % 2).astype(np.float32)[..., None]
    card = np.zeros((H, W), bool)
    card[40:140, 60:200] = True
    box = np.zeros((H, W), bool)
    box[100:210, 120:280] = True
    box &= ~card
    rgb = np.full((H, W, 3), 0.9, np.float32)
    rgb[box] = np.float32([0.16, 0.15, 0.08]) + np.random.default_rng(0).normal(0, 0.01, (box.sum(), 3))
    striped = np.float32([0.95, 0.35, 0.45]) * (1 - stripes) + np.float32([0.9, 0.42, 0.5]) * stripes
    rgb[card] = striped[card]
    rgb = np.clip(rgb, 0, 1).astype(np.float32)
    lab = rgb_to_lab(rgb)
    blob = card | box
    edge = card.copy()                                  # the stripes are all edges, the box none
    lbl = _split_photos(blob, edge, lab, rgb, 64)
    assert (lbl[card] > 0).mean() < 0.05 and (lbl[box] > 0).mean() < 0.05


def test_an_outline_from_frame_to_frame_is_a_cut_only_where_another_meets_it_square():
    """A straight step running from one side of the frame to the other is a horizon unless
    something else says it is an edge: the bottom of the picture beside it (anchored inside
    the blob) meeting it square a few pixels off makes it the corner of that picture."""
    from qil_editor.engines.classical.photo_split import _anchored
    blob = np.zeros((130, 210), bool)
    blob[5:125, 5:205] = True
    edge = (np.array([100.0, 5.0]), np.array([100.0, 124.0]))       # frame to frame
    bottom = (np.array([198.0, 100.0]), np.array([107.0, 100.0]))  # ends 7 px short of it
    assert _anchored([edge], blob) == []                            # a horizon alone stays
    kept = _anchored([edge, bottom], blob)
    assert len(kept) == 2
    slanted = (np.array([198.0, 60.0]), np.array([107.0, 100.0]))   # not square: no corner
    assert len(_anchored([edge, slanted], blob)) == 1
    crossing = (np.array([20.0, 100.0]), np.array([190.0, 100.0]))  # bars crossing: no corner
    assert _anchored([edge, crossing], blob) == [crossing]


@pytest.mark.parametrize("band", [(10, 100, 310, 130), (140, 10, 175, 230)])
def test_a_photo_cut_in_two_by_a_band_across_it_is_one_layer(band):
    """A flat band lies across a photo: the two pieces either side share their frame's sides
    along the cut and the band covers the gap between them, so they are one picture (and
    completed under the band), not two photo layers."""
    photo = rect(40, 40, 280, 200)
    fill = photo_texture(13, (0.05, 0.15, 0.3), (0.2, 0.5, 0.6), (0.7, 0.9, 0.95))
    image, truth = design((fill, photo, "Photo"), ((0.9, 0.8, 0.2), rect(*band), "Band"))
    _, pred = decompose(image, 3)
    match = match_layers(pred, truth)
    assert 0 < match[1] < match[2]
    assert soft_iou(pred[match[1]][..., 3] / 255.0, photo) >= 0.9

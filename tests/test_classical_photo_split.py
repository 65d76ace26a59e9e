"""Photo blobs holding several pictures, or a picture and shapes the edge-density test took along."""

import numpy as np
import pytest

from qil_editor.evaluation.failures import match_layers, soft_iou

from classical_design import decompose
from test_classical_completion import design, photo_texture, rect

W, H = 320, 240


@pytest.mark.parametrize("grainy", [False, True])
def test_a_flat_box_cut_off_beside_a_picture_is_handed_back_a_grainy_sky_is_not(grainy):
    """A photo blob cut along a straight outline into a picture and a thick piece with few
    edges (a dark flat box the edge-density test took along) hands that piece back to the
    ordinary segmentation instead of keeping the whole blob as one photo. A piece that is
    edge-dense but fails the picture test (a grainy gradient sky, colours along one line)
    says nothing against the cut running inside one picture: the blob stays whole."""
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.photo_blobs import split_photos
    pic = np.zeros((H, W), bool)
    pic[40:200, 30:170] = True
    box = np.zeros((H, W), bool)
    box[80:220, 170:290] = True
    tex = photo_texture(14, (0.35, 0.1, 0.1), (0.8, 0.45, 0.2), (0.95, 0.85, 0.5))
    rng = np.random.default_rng(0)
    if grainy:
        xx = np.linspace(0.0, 1.0, W, dtype=np.float32)[None, :, None]
        fill = np.float32([0.3, 0.5, 0.9]) * (1 - xx) + np.float32([0.5, 0.7, 0.95]) * xx
        fill = fill + rng.normal(0, 0.02, (H, W, 1)).astype(np.float32)
    else:
        fill = np.broadcast_to(np.float32([0.16, 0.15, 0.08]), (H, W, 3))
    rgb = np.full((H, W, 3), 0.9, np.float32)
    rgb[box] = fill[box]
    rgb[pic] = tex[pic]
    rgb = np.clip(rgb, 0, 1).astype(np.float32)
    edge = pic | box if grainy else pic.copy()
    lbl = split_photos(pic | box, edge, rgb_to_lab(rgb), rgb, 64)
    assert (lbl[pic] > 0).mean() > 0.95
    if grainy:
        assert (lbl[box] > 0).mean() > 0.95 and len(np.unique(lbl[pic | box])) == 1
    else:
        assert (lbl[box] > 0).mean() < 0.05


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

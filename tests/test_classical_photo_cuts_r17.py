"""Photo blobs holding several pictures or cards (r17): outlines the cut finder missed, and
blobs with no picture in them at all."""

import numpy as np

from qil_editor.engines.classical.colour import rgb_to_lab
from qil_editor.engines.classical.photo_blobs import split_photos
from qil_editor.engines.classical.photo_split import _distinct

from test_classical_completion import photo_texture

W, H = 320, 240


def test_an_outline_goes_on_past_a_shape_lying_across_it():
    """Picture A lies on picture B; a flat band (no part of the blob) crosses A from top to
    bottom, so A's top edge inside the blob is a long stretch on one side of the band and a
    short one (under the shortest cut) on the other. The short stretch lies on the long
    one's line, so it is the same outline and is cut too: the part of A past the band is
    not left joined to B."""
    b = np.zeros((H, W), bool)
    b[40:200, 40:200] = True
    a = np.zeros((H, W), bool)
    a[110:220, 120:280] = True
    band = np.zeros((H, W), bool)
    band[90:230, 170:186] = True
    rgb = np.full((H, W, 3), 0.9, np.float32)
    rgb[b] = photo_texture(3, (0.1, 0.3, 0.1), (0.3, 0.6, 0.3), (0.7, 0.9, 0.6))[b]
    rgb[a] = photo_texture(8, (0.35, 0.05, 0.2), (0.7, 0.2, 0.4), (0.95, 0.6, 0.7))[a]
    blob = (a | b) & ~band
    lbl = split_photos(blob, blob.copy(), rgb_to_lab(rgb), rgb, 64)
    past = a & blob
    past[:, :186] = False                   # A beyond the band
    b_only = b & ~a & blob
    b_label = np.bincount(lbl[b_only]).argmax()
    assert b_label > 0 and (lbl[b_only] == b_label).mean() > 0.9
    assert (lbl[past] == b_label).mean() < 0.1


def test_a_blob_of_cards_with_no_picture_in_it_is_no_photo():
    """A striped card overlapping a flat dark card: the density test takes both as one busy
    blob, and the cut along the card's edge gives two thick pieces of which neither is a
    picture (stripes are two colours and their blends, the dark card has no edges inside). The
    blob is no photo: none of it stays labelled, so the ordinary segmentation takes the
    cards."""
    yy, xx = np.mgrid[0:H, 0:W]
    stripes = ((xx + yy) // 6) % 2 == 0
    card = np.zeros((H, W), bool)
    card[50:170, 40:170] = True
    dark = np.zeros((H, W), bool)
    dark[100:210, 150:290] = True
    rgb = np.full((H, W, 3), 0.85, np.float32)
    rgb[dark] = (0.15, 0.14, 0.08)
    rgb[card] = np.where(stripes[card, None], np.float32([0.9, 0.35, 0.4]), np.float32([0.95, 0.5, 0.55]))
    blob = card | dark
    edge = np.zeros((H, W), bool)
    edge[card] = True
    lbl = split_photos(blob, edge, rgb_to_lab(rgb), rgb, 64)
    assert not lbl.any()


def test_hough_peaks_a_pixel_apart_count_once():
    """A thick step gives a cluster of Hough peaks a pixel or half a degree apart; only the
    first of each is read (theta near pi with -rho is the line at theta near 0), so the
    list's length goes to different outlines."""
    peaks = np.array([[40.0, np.pi / 2], [41.0, np.pi / 2 + 0.005], [90.0, 0.0],
                      [39.0, np.pi / 2 - 0.01], [-90.0, np.pi - 0.004], [10.0, np.pi / 2]])
    out = _distinct(peaks, 10)
    assert out.tolist() == [[40.0, np.pi / 2], [90.0, 0.0], [10.0, np.pi / 2]]
    assert len(_distinct(peaks, 2)) == 2

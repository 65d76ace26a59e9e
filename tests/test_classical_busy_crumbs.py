"""Busy crumbs that the edge-density test takes for photos: the rims of glyphs on a card, a
shadow's edge where a word crosses it. They are no pictures and take no layer of their own."""

import cv2
import numpy as np
import pytest

from qil_editor.evaluation.synthetic import find_fonts

from classical_design import photo, words
from test_classical_text_blocks import _hand_segmentation


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
def test_glyph_rims_on_a_card_have_no_picture_body_and_a_photo_has():
    """A picture is grain all over; the rims of bold glyphs on a flat card are rough only
    along the glyphs' outlines."""
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.photo_blobs import picture_grain

    h, w = 240, 320
    ink = words(["Hello"], 20, 20, 34, bold=True)[:h, :w]
    img = np.empty((h, w, 3), np.float32)
    img[:] = np.float32([0.25, 0.9, 0.6])                            # a card
    img = img * (1 - ink[..., None]) + np.float32([0.45, 0.1, 0.1]) * ink[..., None]  # words on it
    img[:, 160:] = photo(5)[:, 160:]                                 # a picture beside it
    glyphs = (ink > 0.5).astype(np.uint8)
    rims = cv2.dilate(glyphs, np.ones((5, 5), np.uint8)) > cv2.erode(glyphs, np.ones((3, 3), np.uint8))
    owner = np.zeros((h, w), np.int32)
    owner[:, :160][cv2.dilate(rims.astype(np.uint8), np.ones((7, 7), np.uint8))[:, :160] > 0] = 1
    owner[60:180, 190:300] = 2
    seg = _hand_segmentation(owner, {1: [0.3, 0.6, 0.4], 2: [0.3, 0.4, 0.7]}, {1: "photo", 2: "photo"})
    picture_grain(seg, rgb_to_lab(img))
    assert seg.region(1).extras["grain"] < 0.5 < seg.region(2).extras["grain"], [r.extras for r in seg.regions]


@pytest.mark.parametrize("grain, crumb_stays", [(0.1, False), (0.95, True)])
def test_a_busy_crumb_with_no_picture_body_takes_no_layer(grain, crumb_stays):
    """A small "photo" with no picture body (glyph rims, a shadow's edge crossed by a word)
    used to keep a layer of its own, so the visible sliver of a card's drop shadow folded
    into its caster and the engine handed back the crumb instead. With little body it joins
    a neighbour and the sliver keeps its layer; a small picture (grain all over) still
    stands."""
    from qil_editor.engines.classical.grouping import group_regions
    from qil_editor.engines.classical.ordering import order_regions

    h, w = 200, 300
    owner = np.zeros((h, w), np.int32)
    owner[40:100, 40:140] = 1       # a card
    owner[100:102, 50:80] = 2       # the sliver of its drop shadow
    owner[120:180, 160:280] = 3     # another card
    owner[130:142, 170:200] = 4     # a busy crumb on it (0.6 % of the canvas)
    cols = {1: [0.9, 0.5, 0.2], 2: [0.3, 0.25, 0.2], 3: [0.2, 0.4, 0.8], 4: [0.4, 0.3, 0.5]}
    kinds = {1: "shape", 2: "shadow", 3: "shape", 4: "photo"}
    seg = _hand_segmentation(owner, cols, kinds, {2: 0.1})
    seg.region(4).extras["grain"] = grain
    groups = [sorted(g.labels) for g in group_regions(seg, order_regions(seg), 3, (w, h))]
    assert ([4] in groups) == crumb_stays, groups
    assert ([2] in groups) != crumb_stays, groups


def test_a_speck_touching_two_groups_alike_joins_the_one_in_its_colour():
    """A pixel or two between two words touches both alike; it joins the one in its colour.
    Folded into the other, its 'lies above' cue came along and, surer than the cues between
    the words themselves, turned their order round."""
    from qil_editor.engines.classical.grouping import group_regions
    from qil_editor.engines.classical.ordering import order_regions

    h, w = 200, 300
    owner = np.zeros((h, w), np.int32)
    owner[40:100, 40:140] = 1       # a card
    owner[40:100, 141:240] = 2      # another card, one pixel apart
    owner[60, 140] = 3              # a speck between them, in the second card's colour
    cols = {1: [0.9, 0.5, 0.2], 2: [0.2, 0.4, 0.8], 3: [0.25, 0.4, 0.75]}
    seg = _hand_segmentation(owner, cols, {1: "shape", 2: "shape", 3: "thin"})
    groups = [sorted(g.labels) for g in group_regions(seg, order_regions(seg), 3, (w, h))]
    assert [2, 3] in groups, groups

"""Words whose strokes cross: the busy crumbs where their inks mix go back to the words."""

import numpy as np
import pytest

from qil_editor.engines.classical.colour import rgb_to_lab
from qil_editor.engines.classical.regions import Region, Segmentation
from qil_editor.engines.classical.text import words_take_crossing_crumbs
from qil_editor.evaluation.synthetic import find_fonts

from classical_design import best_iou, decompose, design, words


def _seg(owner, kinds, colours, rgb):
    regions = []
    for k, kind in kinds.items():
        ys, xs = np.nonzero(owner == k)
        c = np.float32(colours[k])
        regions.append(Region(k, kind, (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)),
                              int(ys.size), c, rgb_to_lab(c[None])[0]))
    return Segmentation(owner, regions, owner > 0, owner == 0), rgb_to_lab(rgb)


def _crossing(crumb_colours, kinds=None):
    """Two words (1 across, 2 down) and a 'photo' crumb (3) where they cross, painted half in
    each of ``crumb_colours``."""
    owner = np.zeros((300, 400), np.int32)   # the crumb is under 0.2 % of it
    owner[55:65, 10:150] = 1
    owner[10:110, 75:85] = 2
    owner[55:65, 75:85] = 3
    cols = {1: [0.1, 0.4, 0.2], 2: [0.6, 0.9, 0.5], 3: [0.4, 0.6, 0.3]}
    rgb = np.zeros((300, 400, 3), np.float32) + np.float32([0.9, 0.3, 0.6])
    for k in (1, 2):
        rgb[owner == k] = cols[k]
    rgb[55:65, 75:80] = crumb_colours[0]
    rgb[55:65, 80:85] = crumb_colours[1]
    return _seg(owner, kinds or {1: "text", 2: "text", 3: "photo"}, cols, rgb)


def test_a_crumb_where_words_cross_goes_to_the_words_by_colour():
    seg, lab = _crossing(([0.1, 0.4, 0.2], [0.6, 0.9, 0.5]))
    out = words_take_crossing_crumbs(seg, lab)
    assert [r.kind for r in out.regions] == ["text", "text"]
    assert (out.owner[55:65, 75:80] == 1).all() and (out.owner[55:65, 80:85] == 2).all()
    assert [r.area for r in out.regions] == [int((out.owner == 1).sum()), int((out.owner == 2).sum())]
    assert out.regions[1].bbox == (75, 10, 85, 110)


def test_a_small_picture_in_colours_of_its_own_stays():
    seg, lab = _crossing(([0.9, 0.1, 0.1], [0.1, 0.1, 0.9]))
    out = words_take_crossing_crumbs(seg, lab)
    assert out is seg


def test_a_crumb_against_cards_stays():
    seg, lab = _crossing(([0.1, 0.4, 0.2], [0.6, 0.9, 0.5]), {1: "shape", 2: "shape", 3: "photo"})
    assert words_take_crossing_crumbs(seg, lab) is seg


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
def test_two_crossing_words_come_out_as_two_layers():
    """A bold word crossed by a serif word in another ink (old set 1022 and 1028): the spots
    where their strokes cross read as busy 'photo' crumbs; under the given count they took a
    layer while the two words were forced into one."""
    bold = words("Design", 30, 96, 48, bold=True)
    serif = words("Studio", 10, 108, 40, serif=True)
    image, truth = design([0.9, 0.35, 0.6], ([0.1, 0.45, 0.25], bold, "Design"),
                          ([0.55, 0.8, 0.4], serif, "Studio"))
    _, pred = decompose(image, 3)
    assert best_iou(pred, bold) >= 0.8 and best_iou(pred, serif) >= 0.8, \
        (best_iou(pred, bold), best_iou(pred, serif))

"""Text the classical engine never found: small text on a photo background, a label on a card
lying on a photo. Each was left in another layer (the photo, the card), so with the layer count
given a layer went missing."""

import cv2
import numpy as np
import pytest

from qil_editor.engines.classical.colour import neighbour_gradient, rgb_to_lab
from qil_editor.engines.classical.overlays import find_overlays
from qil_editor.engines.classical.text import thin_text_lines

from classical_design import best_iou, decompose, design, ellipse, photo, words

W, H = 320, 240


PHOTOS = [  # (seed, dark, light): a teal/lime field and a pink/olive one, like held-back photos
    (7, (0.1, 0.35, 0.45), (0.55, 0.85, 0.35)),
    (19, (0.3, 0.35, 0.15), (0.75, 0.5, 0.6)),
]


@pytest.mark.parametrize("seed,c0,c1", PHOTOS)
def test_small_serif_text_on_a_photo_background_is_a_layer_of_its_own(seed, c0, c1):
    """14 px serif text has 1-2 px stems and no uniform core, the only mark of a graphic on
    a photo the engine looked for: the line stayed in the photo and its layer was never made
    (text7007: 2 layers made of 3)."""
    title = words(["Big offer"], 20, 170, 44, bold=True)
    small = words(["Only food live here"], 120, 40, 14, serif=True)
    image, _ = design(photo(seed, c0, c1), ((0.08, 0.08, 0.12), title, "Title"),
                      ((0.98, 0.95, 0.85), small, "Small"))
    pred = decompose(image, 3)[1]
    assert len(pred) == 3
    assert best_iou(pred, small) >= 0.8
    assert best_iou(pred, title) >= 0.9


def test_a_small_label_on_a_disc_on_a_photo_comes_off_the_disc():
    """The disc's core grew 2 px into the label's thin strokes, so the word went into the
    disc's layer (backdrop 8030: 3 layers made of 4)."""
    disc = ellipse(220, 120, 40, 40)
    label = words(["Design"], 196, 112, 13)
    image, _ = design(photo(3, (0.35, 0.1, 0.3), (0.85, 0.55, 0.85)), ((0.3, 0.05, 0.15), disc, "Disc"),
                      ((0.9, 0.55, 0.85), label, "Label"))
    pred = decompose(image, 3)[1]
    assert len(pred) == 3
    assert best_iou(pred, label) >= 0.75
    assert best_iou(pred, disc) >= 0.9


def busy(seed, scales=(3, 8, 32)):
    """A busy picture (foliage, gravel): colour noise at a few scales, fine detail everywhere."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((H, W, 3), np.float32)
    for i, s in enumerate(scales):
        n = rng.random((H // s + 1, W // s + 1, 3)).astype(np.float32)
        acc += cv2.resize(n, (W, H), interpolation=cv2.INTER_NEAREST if i == 0 else cv2.INTER_CUBIC)
    return np.clip(acc / len(scales), 0, 1)


def test_thin_text_lines_reads_no_text_into_a_bare_photo():
    """The photo's own fine detail (grain, fractal edges) stands out from a median too; only
    lines of one colour and size whose colour is rare around them, in a calm band, are read
    as text, and a picture busy all over is not searched at all."""
    pictures = [photo(seed, c0, c1) for seed, c0, c1 in PHOTOS + [(23, (0.05, 0.05, 0.1), (0.9, 0.9, 0.95))]]
    for rgb in pictures + [busy(1), busy(2, (4, 16, 64)), busy(3, (6, 24))]:
        lab = rgb_to_lab(rgb)
        valid = np.ones((H, W), bool)
        cores = find_overlays(rgb, lab, neighbour_gradient(lab), valid)
        found = thin_text_lines(cores, valid, rgb, lab, H)
        assert int(found.max()) == int(cores.max())  # nothing added


def test_thin_text_lines_takes_the_ink_not_the_paper_in_its_counters():
    """Inside an 'o' the paper differs from the median too (the median there is ink): a glyph's
    core is its pixels farthest from the ring around it, so the line's colour is the ink's."""
    ink = np.float32([0.15, 0.2, 0.1])
    small = words(["Good rooms nearby"], 60, 100, 15, serif=True)
    rgb = photo(7, *PHOTOS[0][1:]) * (1 - small[..., None]) + ink * small[..., None]
    lab = rgb_to_lab(rgb.astype(np.float32))
    valid = np.ones((H, W), bool)
    found = thin_text_lines(np.zeros((H, W), np.int32), valid, rgb.astype(np.float32), lab, H)
    assert found.max() >= 6  # the glyphs of the line
    taken = found > 0
    assert float(small[taken].mean()) >= 0.8  # their cores are ink, not paper or photo
    assert float((small > 0.5)[taken].mean()) >= 0.8


def _glyph(label, x, y, w, h, lab=(70.0, 10.0, 50.0)):
    from qil_editor.engines.classical.regions import Region
    lab = np.float32(lab)
    return Region(label, "shape", (slice(y, y + h), slice(x, x + w)), w * h, np.float32([0.9, 0.6, 0.3]), lab)


def test_two_pieces_of_one_line_join_when_their_boxes_agree():
    """A word carved off a picture comes in stroke pieces (bars, serifs: the median piece is a
    bar), the rest of its line in whole letters: the glyph sizes differ by far more than 1.5x,
    so the two pieces stayed two text layers; one line's pieces share its height."""
    from qil_editor.engines.classical.text import find_text_lines
    whole = [_glyph(i + 1, 20 + 22 * i, 100, 16, 26) for i in range(4)]       # "OFFE"
    x = 20 + 22 * 4 + 30  # a word space and a bit (something lay between them)
    pieces = [_glyph(5, x, 100, 4, 26), _glyph(6, x + 4, 100, 12, 5), _glyph(7, x + 4, 111, 10, 5),
              _glyph(8, x + 4, 121, 12, 5), _glyph(9, x + 20, 100, 4, 26), _glyph(10, x + 24, 100, 12, 6),
              _glyph(11, x + 24, 111, 10, 5)]                                   # "EN" in bars
    groups = find_text_lines(whole + pieces, 384)
    assert any(set(range(1, 12)) <= set(g) for g in groups)
    # a smaller line beside it is still not the same line
    small = [_glyph(12 + i, 250 + 12 * i, 110, 9, 12) for i in range(4)]
    groups = find_text_lines(whole + small, 384)
    assert not any({1, 12} <= set(g) for g in groups)


def _segmented(image):
    """The engine's regions for a flat design: segmentation, text carved off pictures, lines."""
    from qil_editor.engines.classical.background import estimate_background
    from qil_editor.engines.classical.colour import to_float
    from qil_editor.engines.classical.regions import segment
    from qil_editor.engines.classical.text import carve_glyphs_from_photos, merge_text_lines
    rgb = to_float(image[..., :3])
    lab = rgb_to_lab(rgb)
    grad = neighbour_gradient(lab)
    valid = np.ones(rgb.shape[:2], bool)
    bg = estimate_background(rgb, lab, valid, grad)
    assert not bg.textured
    seg = segment(rgb, lab, grad, valid, bg)
    return merge_text_lines(carve_glyphs_from_photos(seg, rgb, lab, grad), rgb.shape[0])


def test_a_shape_seen_between_the_glyphs_on_a_picture_stays_the_shapes():
    """A title crossing an ellipse that lies over a picture: the ellipse's bits between the
    glyphs inside the picture's blob have a crisp outline and a glyph's size, so they were
    carved off the picture as a "line" of glyphs in the ellipse's colour (text7014)."""
    pic = np.zeros((H, W), np.float32)
    pic[110:215, 150:290] = 1.0
    blob = ellipse(150, 130, 50, 70)
    title = words(["OFFER ENTRY LOCAL", "WEEK SUMMER"], 10, 150, 24, serif=True, bold=True, spacing=1.3)
    image, _ = design(np.float32([0.35, 0.3, 0.75]), (photo(5, (0.6, 0.2, 0.3), (0.95, 0.5, 0.6)), pic, "Photo"),
                      ((0.2, 0.55, 0.2), blob, "Ellipse"), ((0.95, 0.7, 0.35), title, "Title"))
    seg = _segmented(image)
    green = rgb_to_lab(np.float32([[[0.2, 0.55, 0.2]]]))[0, 0]
    from qil_editor.engines.classical.colour import delta_e
    assert not [r for r in seg.regions if r.kind == "text" and float(delta_e(r.lab, green)) < 10.0]

"""Text kept whole by the classical decomposer, and the text-heavy generated set."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from qil_editor.document import composite
from qil_editor.evaluation.datasets import stack_from_document
from qil_editor.evaluation.failures import failure_figures
from qil_editor.evaluation.synthetic import _fractal, find_fonts, load_font
from qil_editor.evaluation.synthetic_text import generate_text_design, text_set

from classical_design import decompose, flatten, layer

W, H = 360, 260


def _text(lines, x, y, size, bold=False):
    fonts = find_fonts()
    bolds = [f for f in fonts if "Bold" in f and "Serif" not in f]
    plain = [f for f in fonts if "Bold" not in f and "Serif" not in f]
    font = load_font((bolds if bold else plain or fonts or [None])[0] if fonts else None, size)
    img = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        d.text((x, y + i * int(1.3 * size)), line, fill=255, font=font)
    return np.asarray(img, np.float32) / 255.0


def _photo(x0, y0, x1, y1, seed):
    rng = np.random.default_rng(seed)
    t = _fractal(H, W, rng)[..., None]
    col = np.clip(np.float32([0.15, 0.35, 0.2]) + t * np.float32([0.6, 0.45, 0.1])
                  + rng.normal(0, 0.02, (H, W, 3)).astype(np.float32), 0, 1)
    alpha = np.zeros((H, W), np.float32)
    alpha[y0:y1, x0:x1] = 1.0
    return col, alpha


def _decompose(layers, count):
    image, truth = flatten(layers)
    return truth, decompose(image, count)[1]


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
@pytest.mark.parametrize("seed,bold", [(3, False), (11, True)])
def test_a_line_running_onto_a_photo_stays_onelayer(seed, bold):
    """The photo blob used to keep the glyphs lying on the picture: the line came out cut in
    two (the words on the plain background one layer, the rest inside the photo layer)."""
    bg = np.broadcast_to(np.float32([0.95, 0.9, 0.8]), (H, W, 3))
    pc, pa = _photo(170, 40, 330, 220, seed)
    text = _text(["Summer market weekend", "Fresh local food"], 40, 100, 22, bold)
    layers = [layer(bg, np.ones((H, W), np.float32), "Background"), layer(pc, pa, "Photo"),
              layer(np.float32([0.95, 0.95, 0.3]) if seed % 2 else np.float32([0.1, 0.1, 0.45]),
                     text, "Text")]
    truth, pred = _decompose(layers, 3)
    figs = failure_figures(pred, truth, ["background", "photo", "text"])
    assert figs.text_whole[0] >= 0.85


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
def test_a_paragraph_on_a_photo_comes_off_it():
    """Body text lying wholly on a picture, in a colour seen beside it (a title on the plain
    background): the photo layer keeps none of it."""
    bg = np.broadcast_to(np.float32([0.2, 0.22, 0.3]), (H, W, 3))
    pc, pa = _photo(150, 20, 345, 240, 5)
    white = np.float32([0.98, 0.98, 0.95])
    title = _text(["Open day"], 20, 30, 26, bold=True)
    body = _text(["Join us for the best", "coffee in the city"], 160, 140, 16, bold=True)
    layers = [layer(bg, np.ones((H, W), np.float32), "Background"), layer(pc, pa, "Photo"),
              layer(white, title, "Title"), layer(white, body, "Body")]
    truth, pred = _decompose(layers, 4)
    figs = failure_figures(pred, truth, ["background", "photo", "text", "text"])
    assert figs.text_whole[1] >= 0.85


def test_the_text_set_is_deterministic_and_its_truth_composites_to_its_image():
    a = generate_text_design(7003)
    b = generate_text_design(7003)
    assert np.array_equal(a.image, b.image)
    assert [la.name for la in a.truth.layers] == [lb.name for lb in b.truth.layers]
    for d in text_set(6, first_seed=7000):
        assert len(d.kinds) == len(d.truth.layers)
        assert 3 <= len(d.truth.layers) <= 8
        assert d.kinds[0] == "background" and "text" in d.kinds
        flat = composite(d.truth)
        assert np.abs(flat[..., :3].astype(int) - d.image[..., :3].astype(int)).max() <= 1
        assert (d.image[..., 3] == 255).all()


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
def test_the_text_set_has_multi_word_lines_and_paragraphs():
    """What the set is for: text boxes of several words, some of several lines."""
    lines_per_box = []
    for d in text_set(12, first_seed=7000):
        for lay, kind in zip(stack_from_document(d.truth).layers, d.kinds):
            if kind != "text":
                continue
            rows = lay[..., 3].max(axis=1) > 0
            # runs of inked rows: one per line of text
            lines_per_box.append(int(np.count_nonzero(np.diff(rows.astype(np.int8)) == 1) + rows[0]))
    assert max(lines_per_box) >= 2
    assert len(lines_per_box) >= 20


def test_a_crumb_does_not_force_two_text_boxes_into_onelayer():
    """Grouping stops at the requested count. A crumb of one pixel used to count as a layer,
    so the last merge it forced put a title and a paragraph into one layer; it takes no layer
    of its own, so it does not count."""
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.grouping import group_regions
    from qil_editor.engines.classical.ordering import order_regions
    from qil_editor.engines.classical.regions import Region, Segmentation

    h, w = 200, 300
    owner = np.zeros((h, w), np.int32)
    owner[20:50, 20:200] = 1     # a title
    owner[70:110, 20:200] = 2    # a paragraph in the same colour below it
    owner[130:190, 220:290] = 3  # a card
    owner[10, 290] = 4           # a one-pixel crumb, far from everything
    cols = {1: [0.1, 0.1, 0.4], 2: [0.1, 0.1, 0.4], 3: [0.9, 0.5, 0.2], 4: [0.5, 0.5, 0.5]}
    kinds = {1: "text", 2: "text", 3: "shape", 4: "thin"}
    regions = []
    for k in range(1, 5):
        ys, xs = np.nonzero(owner == k)
        rgb = np.float32(cols[k])
        regions.append(Region(k, kinds[k], (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)),
                              int(ys.size), rgb, rgb_to_lab(rgb[None])[0]))
    seg = Segmentation(owner, regions, owner > 0, owner == 0)
    groups = group_regions(seg, order_regions(seg), 3, (w, h))
    together = [g.labels for g in groups if 1 in g.labels and 2 in g.labels]
    assert not together, [g.labels for g in groups]


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
def test_a_title_reaching_just_over_a_paragraph_stays_its_ownlayer():
    """Lines of one paragraph share a column. A title whose last word reaches a few pixels over
    the column of a body paragraph just below it (same colour, similar size) used to be read as
    the paragraph's first line, and both boxes came out as one layer."""
    ink = np.float32([0.15, 0.1, 0.35])
    title = _text(["Open day"], 20, 30, 26, bold=True)
    cols = np.flatnonzero(title.max(axis=0) > 0)
    rows = np.flatnonzero(title.max(axis=1) > 0)
    body = _text(["Join us for the best", "coffee in the city and", "music every weekend"],
                 int(cols[-1]) - 4, int(rows[-1]) + 8, 19, bold=True)
    bg = np.broadcast_to(np.float32([0.95, 0.92, 0.85]), (H, W, 3))
    layers = [layer(bg, np.ones((H, W), np.float32), "Background"), layer(ink, title, "Title"),
              layer(ink, body, "Body")]
    truth, pred = _decompose(layers, 3)
    figs = failure_figures(pred, truth, ["background", "text", "text"])
    assert min(figs.text_whole) >= 0.9, figs.text_whole


@pytest.mark.skipif(not find_fonts(), reason="needs the DejaVu fonts for legible glyphs")
@pytest.mark.parametrize("photo_bg", [False, True])
def test_a_title_running_off_its_card_lies_on_it(photo_bg):
    """The glyphs on a card leave holes in it, so most of the card's outline touched the
    word and the "a region whose outline mostly touches another lies on it" rule put the
    card over the title; the card's layer then carried the title's pixels on the card
    (fails before on the photo background; the flat one guards the plain case)."""
    if photo_bg:
        bg, _ = _photo(0, 0, W, H, 4)
    else:
        bg = np.broadcast_to(np.float32([0.93, 0.9, 0.84]), (H, W, 3))
    card = np.zeros((H, W), np.float32)
    card[20:140, 10:150] = 1.0
    title = _text(["Yoga summer open", "Market learn"], 14, 60, 26, bold=True)
    layers = [layer(bg, np.ones((H, W), np.float32), "Background"),
              layer(np.float32([0.08, 0.41, 0.42]), card, "Card"),
              layer(np.float32([0.95, 0.75, 0.55]), title, "Title")]
    truth, pred = _decompose(layers, 3)
    figs = failure_figures(pred, truth, ["background", "shape:rect", "text"])
    assert figs.text_whole[0] >= 0.9
    # the card's layer holds the card, not the letters lying on it
    ink = title > 0.5
    card_i = max(range(1, len(pred)), key=lambda i: float((pred[i][..., 3][card > 0.5] > 128).mean()))
    card_layer = pred[card_i]
    on_card = ink & (card > 0.5)
    shown = card_layer[..., 3][on_card] > 128
    off = np.abs(card_layer[..., :3][on_card].astype(np.float32) - np.float32([0.08, 0.41, 0.42]) * 255).max(axis=1)
    assert float(shown.mean()) < 0.5 or float(np.median(off[shown])) < 20  # hidden, or card colour
    text_i = max(range(1, len(pred)), key=lambda i: float((pred[i][..., 3][ink] > 128).mean()))
    assert card_i < text_i  # the card beneath the title


def _hand_segmentation(owner, cols, kinds, sharp=None):
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.regions import Region, Segmentation

    regions = []
    for k in range(1, int(owner.max()) + 1):
        ys, xs = np.nonzero(owner == k)
        rgb = np.float32(cols[k])
        regions.append(Region(k, kinds[k], (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)),
                              int(ys.size), rgb, rgb_to_lab(rgb[None])[0], (sharp or {}).get(k, 1.0)))
    return Segmentation(owner, regions, owner > 0, owner == 0)


@pytest.mark.parametrize("cols, soft, kept", [(30, 0.1, True), (30, 0.9, False), (10, 0.1, False)])
def test_a_soft_shadow_sliver_keeps_a_layer_while_the_count_asks_for_one(cols, soft, kept):
    """The visible sliver of a drop shadow mostly hidden under its caster is a speck, but
    while the count asks for more layers than the objects fill it stays a layer (completed
    under its caster) instead of folding into the caster; a crisp dark speck still folds,
    and so does a crumb of darkening too small to say anything of its shadow."""
    from qil_editor.engines.classical.grouping import group_regions
    from qil_editor.engines.classical.ordering import order_regions

    h, w = 200, 300
    owner = np.zeros((h, w), np.int32)
    owner[40:100, 40:140] = 1     # a card
    owner[100:102, 50:50 + cols] = 2  # the sliver of its shadow peeking out below it
    owner[120:180, 180:280] = 3   # another card
    colours = {1: [0.9, 0.5, 0.2], 2: [0.3, 0.25, 0.2], 3: [0.2, 0.4, 0.8]}
    kinds = {1: "shape", 2: "shadow", 3: "shape"}
    seg = _hand_segmentation(owner, colours, kinds, {2: soft})
    groups = group_regions(seg, order_regions(seg), 3, (w, h))
    assert ([2] in [g.labels for g in groups]) == kept, [g.labels for g in groups]
    if not kept:
        assert len(groups) == 2


def test_a_folded_crumb_does_not_set_its_groups_place_in_the_stack():
    """Free groups (nothing between them) stack by the rank of their main object: a crumb
    that ranked at the bottom and was folded into a word used to put the word's layer
    under a card it never touches."""
    from qil_editor.engines.classical.grouping import group_regions
    from qil_editor.engines.classical.ordering import Ordering, contact_matrix

    h, w = 200, 300
    owner = np.zeros((h, w), np.int32)
    owner[40:160, 20:120] = 1     # a card
    owner[80:110, 160:280] = 2    # a word, free of the card
    owner[110:112, 200:204] = 3   # a crumb on the word's edge
    cols = {1: [0.9, 0.5, 0.2], 2: [0.1, 0.1, 0.4], 3: [0.1, 0.1, 0.4]}
    kinds = {1: "shape", 2: "text", 3: "thin"}
    seg = _hand_segmentation(owner, cols, kinds)
    ordering = Ordering([3, 1, 2], {}, contact_matrix(owner, 4))
    groups = group_regions(seg, ordering, 2, (w, h))
    assert [sorted(g.labels) for g in groups] == [[1], [2, 3]]


@pytest.mark.parametrize("strip, conf, middle, joined", [([0.3, 0.9, 0.2], 0.7, "photo", True),
                                                         ([0.9, 0.2, 0.6], 0.7, "photo", False),
                                                         ([0.3, 0.9, 0.2], 0.99, "photo", False),
                                                         ([0.3, 0.9, 0.2], 0.7, "text", False)])
def test_pieces_that_touch_in_one_flat_colour_join_across_an_outline_cue(strip, conf, middle, joined):
    """A strip cut off a button touches the button in one flat colour: no seam shows, so it
    is one object even where an outline cue put the photo under the button between them
    (strip < photo < button). A strip in another colour, a chain of sure cues, or a word
    between them (bits of a shape between a word's glyphs seem to lie on the word) keeps
    them apart."""
    from qil_editor.engines.classical.grouping import group_regions
    from qil_editor.engines.classical.ordering import Ordering, contact_matrix

    h, w = 200, 300
    owner = np.zeros((h, w), np.int32)
    owner[20:120, 20:200] = 3     # a photo (or a word)
    owner[60:90, 60:160] = 1      # a button on it
    owner[54:60, 80:140] = 2      # a strip of the button along its top edge
    owner[140:190, 220:290] = 4   # a card elsewhere
    cols = {1: [0.3, 0.9, 0.2], 2: strip, 3: [0.6, 0.3, 0.7], 4: [0.2, 0.3, 0.8]}
    kinds = {1: "text", 2: "text", 3: middle, 4: "shape"}
    seg = _hand_segmentation(owner, cols, kinds)
    ordering = Ordering([2, 3, 1, 4], {(1, 3): max(conf, 0.8), (3, 2): conf}, contact_matrix(owner, 5))
    groups = group_regions(seg, ordering, 3, (w, h))
    assert ([1, 2] in [sorted(g.labels) for g in groups]) == joined, [g.labels for g in groups]

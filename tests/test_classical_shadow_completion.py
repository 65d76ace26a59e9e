"""A drop shadow completed as its caster's shape, offset and blurred (models.shadow_of and
the shadow models built from it): fitted on what shows of it, used where the caster hides it."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from classical_design import decompose, design, noise
from qil_editor.engines.classical.models import shadow_of
from qil_editor.evaluation.failures import _alphas, match_layers, soft_iou


def _card(h=200, w=260, box=(70, 50, 190, 140)):
    s = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    s[y0:y1, x0:x1] = 1.0
    return s


def _drop(shape, dx, dy, sigma, k):
    mat = np.float32([[1, 0, dx], [0, 1, dy]])
    return k * cv2.GaussianBlur(cv2.warpAffine(shape, mat, shape.shape[::-1], flags=cv2.INTER_LINEAR),
                                (0, 0), sigma)


def _fit(shape, seen, data):
    """shadow_of on a whole-canvas box: ``seen`` the measured alpha, ``data`` the shadow's
    own visible pixels (what segmentation kept of it), the rest of the free canvas 'clear'."""
    h, w = shape.shape
    caster = SimpleNamespace(box=(0, 0, w, h), support=shape)
    free = ~cv2.dilate(shape.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return shadow_of(caster, (0, 0, w, h), seen, data & free, free & ~data)


def test_a_shadow_with_its_faint_tail_left_in_the_background_is_completed_at_full_strength():
    """Segmentation keeps only the darker part of a soft shadow; its tail shows on the
    background beyond. Taken as measured there (not as zero), the fit keeps the true blur
    and strength, so the part under the card is as dark as the shadow really is."""
    shape = _card()
    truth = _drop(shape, 6.5, 5.5, 4.6, 0.4)
    data = truth > 0.06   # the region the segmentation made of it
    got = _fit(shape, truth, data)
    assert got is not None
    assert soft_iou(got, truth) >= 0.95
    inside = shape > 0.5
    assert abs(float(got[inside].mean()) - float(truth[inside].mean())) < 0.03


def test_pixels_of_another_shadow_taken_in_with_a_shadow_do_not_spoil_its_fit():
    """A shadow region that also took a strip of a neighbour's shadow: those pixels are far
    off the best fit, left out, and the shadow is still fitted from the rest."""
    shape = _card()
    truth = _drop(shape, 5.0, 6.0, 3.2, 0.5)
    seen = truth.copy()
    other = np.zeros_like(truth)
    other[150:156, 100:140] = 0.5          # another object's shadow touching this one
    seen = np.maximum(seen, other)
    data = (truth > 0.03) | (other > 0)
    got = _fit(shape, seen, data)
    assert got is not None
    assert soft_iou(got, truth) >= 0.93


def _card_design(*below):
    """A card on a flat background, its drop shadow (blur and offset between the usual
    steps) under it, and ``below`` (colour, alpha, name) objects beneath both."""
    h, w = 240, 320
    card = np.zeros((h, w), np.float32)
    card[50:150, 90:210] = 1.0
    card = cv2.GaussianBlur(card, (0, 0), 0.6)
    shadow = _drop(card, 7.0, 6.5, 4.6, 0.45)
    image, truth = design((0.93, 0.88, 0.55), *below,
                          ((0.0, 0.0, 0.0), shadow, "Shadow"), ((0.95, 0.35, 0.3), card, "Card"))
    return image, truth, card, shadow


def _shadow_layer(image, truth, index):
    doc, layers = decompose(image, len(truth))
    match = match_layers(layers, truth)
    assert doc.layers[match[index]].name.startswith("Shadow")
    assert match[index] < match[index + 1]   # right beneath its card
    return _alphas(layers)[match[index]]


def test_a_soft_drop_shadow_is_completed_under_its_card_as_the_card_offset_and_blurred():
    image, truth, card, shadow = _card_design()
    got = _shadow_layer(image, truth, 1)
    assert soft_iou(got, shadow) >= 0.93
    under = card > 0.99
    assert abs(float(got[under].mean()) - float(shadow[under].mean())) < 0.03


def test_a_cards_shadow_falling_partly_on_a_panel_is_completed_too():
    """Part of the shadow falls on a panel beneath: there it darkens the panel, not the
    background, and is no measure of the shadow's colour or strength against the
    background; the fit takes what falls on the background."""
    panel = np.zeros((240, 320), np.float32)
    panel[120:220, 30:140] = 1.0
    image, truth, card, shadow = _card_design(((0.35, 0.55, 0.85), panel, "Panel"))
    got = _shadow_layer(image, truth, 2)
    assert soft_iou(got, shadow) >= 0.93


def _build(img, bg_col, owner, kinds, above, contact):
    """The region models of a hand-made segmentation (``owner`` labels 1.., ``kinds`` per
    label) with the given stacking (``above``: (upper, lower)) and contact lengths."""
    from qil_editor.engines.classical.background import Background
    from qil_editor.engines.classical.colour import rgb_to_lab
    from qil_editor.engines.classical.models import build_models
    from qil_editor.engines.classical.ordering import Ordering
    from qil_editor.engines.classical.blends import shadow_colour
    from qil_editor.engines.classical.regions import Region, Segmentation

    h, w = owner.shape
    bgrgb = np.broadcast_to(np.float32(bg_col), (h, w, 3)).copy()
    regions = []
    for lbl, kind in enumerate(kinds, start=1):
        m = owner == lbl
        ys, xs = np.nonzero(m)
        rgb = shadow_colour(img[m], bgrgb[m]) if kind == "shadow" else img[m].mean(0)
        regions.append(Region(lbl, kind, (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)),
                              int(m.sum()), rgb.astype(np.float32), rgb_to_lab(rgb[None])[0],
                              sharp=0.1 if kind == "shadow" else 1.0))
    seg = Segmentation(owner, regions, owner > 0, np.ones((h, w), bool))
    touch = np.zeros((len(kinds) + 1,) * 2, np.float32)
    for (a, b), n in contact.items():
        touch[a, b] = touch[b, a] = n
    ordering = Ordering(list(range(1, len(kinds) + 1)), {pair: 1.0 for pair in above}, touch)
    bg = Background(bgrgb, rgb_to_lab(bgrgb), np.zeros((h, w), np.float32), 0.0, False, 2.0, 6.0)
    return build_models(seg, ordering, img, bg)


def _canvas(model, shape):
    out = np.zeros(shape, np.float32)
    x0, y0, x1, y1 = model.box
    out[y0:y1, x0:x1] = model.alpha * (model.support > 0)
    return out


def test_a_shadow_region_lying_partly_on_a_panel_is_measured_where_it_falls_on_the_background():
    """Segmentation gave the shadow the pixels where it falls on a panel too. There the
    panel, not the background, is what it darkens: measured against the background they
    turn the shadow's colour blue-grey and its strength wrong. Its colour and fit come from
    where it falls on the background; under the card it is the card's shape offset and
    blurred at full strength."""
    h, w = 180, 240
    bg_col, panel_col, card_col = (np.float32(c) for c in ((0.93, 0.88, 0.55), (0.2, 0.45, 0.9),
                                                            (0.95, 0.35, 0.3)))
    panel = np.zeros((h, w), np.float32)
    panel[100:170, 10:150] = 1.0
    card = np.zeros((h, w), np.float32)
    card[30:110, 70:180] = 1.0
    shadow = _drop(card, 6.0, 7.0, 3.0, 0.5)
    img = np.broadcast_to(bg_col, (h, w, 3)).copy()
    for col, a in ((panel_col, panel), (np.zeros(3, np.float32), shadow), (card_col, card)):
        img = a[..., None] * col + (1 - a[..., None]) * img
    owner = np.zeros((h, w), np.int32)
    owner[panel > 0.5] = 1
    owner[(shadow > 0.03) & (card < 0.5)] = 2      # over the background and over the panel
    owner[card > 0.5] = 3
    model = _build(img, bg_col, owner, ["shape", "shadow", "shape"], [(2, 1), (3, 2), (3, 1)],
                   {(2, 3): 200.0, (1, 2): 50.0, (1, 3): 50.0})[2]
    assert float(np.abs(model.colour).max()) < 0.1       # black, as drawn
    under = card > 0.5
    got = _canvas(model, (h, w))
    assert soft_iou(got * under, shadow * under) >= 0.9   # whole and as dark under the card


def test_two_pieces_of_one_shadow_are_not_both_completed_under_their_caster():
    """A card's shadow seen in two pieces (segmentation did not join them): each would be
    fitted as the card's whole shadow and, stacked, the shadow would be twice as dark
    under the card. The biggest piece carries it whole; the other keeps what it shows."""
    h, w = 180, 240
    bg_col, card_col = np.float32((0.93, 0.88, 0.55)), np.float32((0.2, 0.45, 0.9))
    card = np.zeros((h, w), np.float32)
    card[30:130, 50:190] = 1.0
    shadow = _drop(card, 7.0, 6.0, 3.0, 0.5)
    img = np.broadcast_to(bg_col, (h, w, 3)).copy()
    for col, a in ((np.zeros(3, np.float32), shadow), (card_col, card)):
        img = a[..., None] * col + (1 - a[..., None]) * img
    owner = np.zeros((h, w), np.int32)
    seen = (shadow > 0.03) & (card < 0.5)
    xs = np.arange(w)[None, :]
    owner[seen & (xs < 120)] = 1                   # the bottom-left piece
    owner[seen & (xs >= 124)] = 2                  # the rest, cut off by a sliver
    owner[card > 0.5] = 3
    models = _build(img, bg_col, owner, ["shadow", "shadow", "shape"], [(3, 1), (3, 2)],
                    {(1, 3): 70.0, (2, 3): 200.0})
    a1, a2 = _canvas(models[1], (h, w)), _canvas(models[2], (h, w))
    stacked = 1.0 - (1.0 - a1) * (1.0 - a2)
    inside = card > 0.5
    assert abs(float(stacked[inside].mean()) - float(shadow[inside].mean())) < 0.05


@pytest.mark.parametrize("seed", [0, 2, 4, 5])
def test_a_darkening_that_is_a_texture_is_not_fitted_as_a_shadow(seed):
    """On a photo the darkening measured beside a card is often the photo's own texture.
    A fit that leaves much of it aside (capped misses) explains a texture, not a shadow:
    no shadow, so no false shadow layer is made (overlays._drop_shadows asks this)."""
    shape = _card()
    n = noise(seed, size=(260, 200))
    near = cv2.dilate(shape.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool) & (shape == 0)
    dark = np.where(near, np.clip((n - 0.45) * 1.2, 0, 1), 0).astype(np.float32)
    assert _fit(shape, dark, dark > 0.05) is None


@pytest.mark.parametrize("dx,dy,sigma,k", [(3.0, 4.0, 2.5, 0.45), (4.5, 2.5, 2.2, 0.5), (3.5, 3.5, 2.0, 0.4)])
def test_a_shadow_seen_as_a_sliver_beside_its_card_is_found_and_completed(dx, dy, sigma, k):
    """A tight drop shadow shows only as a sliver along two sides of its card, half of it
    the card's anti-aliased rim. Judged with that rim, the sliver is no blend of the
    background towards black and stayed a stroke; judged clear of it, it is the shadow and
    is completed under the card."""
    h, w = 240, 320
    card = np.zeros((h, w), np.uint8)
    cv2.fillPoly(card, [np.array([[80, 60], [200, 45], [215, 150], [120, 165]], np.int32)], 255, cv2.LINE_AA)
    card = card.astype(np.float32) / 255.0
    shadow = _drop(card, dx, dy, sigma, k)
    image, truth = design((0.9, 0.88, 0.25), ((0.0, 0.0, 0.0), shadow, "Shadow"),
                          ((0.15, 0.95, 0.55), card, "Card"))
    got = _shadow_layer(image, truth, 1)
    assert soft_iou(got, shadow) >= 0.9



def _photo_with_shadow(blur=0.0):
    """A picture (its edge blurred by ``blur``) casting a drop shadow on a flat background,
    decomposed: (picture alpha, shadow alpha, the decomposition's alphas, match to truth)."""
    from classical_design import photo
    h, w = 240, 320
    pic = np.zeros((h, w), np.float32)
    pic[50:150, 90:210] = 1.0
    if blur:
        pic = cv2.GaussianBlur(pic, (0, 0), blur)
    shadow = _drop(pic, 8.0, 7.0, 3.5, 0.5)
    image, truth = design((0.55, 0.8, 0.6), ((0.0, 0.0, 0.0), shadow, "Shadow"),
                          (photo(5), pic, "Photo"))
    _, layers = decompose(image, len(truth))
    return pic, shadow, _alphas(layers), match_layers(layers, truth)


def test_a_photos_drop_shadow_is_a_layer_of_its_own_not_a_band_of_the_photo():
    """Beside a picture the dense part of its shadow is edge-dense at the picture's outline
    and is taken along with it; it goes back to be the shadow's (regions._shed_photo_shadows),
    so the photo's layer ends at the picture and the shadow is its whole shape, offset and
    blurred, under it."""
    pic, shadow, alphas, match = _photo_with_shadow()
    assert soft_iou(alphas[match[2]], pic) >= 0.95
    assert soft_iou(alphas[match[1]], shadow) >= 0.9


def test_a_blurred_edged_photos_shadow_is_as_strong_under_it_as_it_really_is():
    """A picture's region holds its soft rim beyond the half-alpha outline; the shadow is
    drawn from the outline without it (models._cast_shape), else it comes out offset too
    little and too weak where the picture hides it."""
    pic, shadow, alphas, match = _photo_with_shadow(blur=1.2)
    got = alphas[match[1]]
    under = pic > 0.99
    assert abs(float(got[under].mean()) - float(shadow[under].mean())) < 0.03
    assert soft_iou(got, shadow) >= 0.9


def test_the_panel_a_cards_shadow_falls_on_keeps_its_own_colour_and_the_shadow_its_part():
    """Where the card's shadow falls on the panel beneath, the pixels are the panel's colour
    darkened towards black: the panel's layer is the clean panel there (no dark band that
    moves with it) and the shadow's layer carries that part of the shadow."""
    panel = np.zeros((240, 320), np.float32)
    panel[120:220, 30:140] = 1.0
    colour = np.array([0.35, 0.55, 0.85], np.float32)
    image, truth, card, shadow = _card_design((tuple(colour), panel, "Panel"))
    doc, layers = decompose(image, len(truth))
    match = match_layers(layers, truth)
    on = (panel > 0.99) & (shadow > 0.1) & (card < 0.01)
    rgb = layers[match[1]][..., :3][on].astype(np.float32) / 255.0
    assert float(np.abs(rgb - colour).max(-1).mean()) < 0.02
    got = _alphas(layers)[match[2]]
    assert float(np.abs(got[on] - shadow[on]).mean()) < 0.05

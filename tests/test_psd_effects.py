"""What Photoshop shows beyond plain layers: text gamma, layer effects, knockout, dissolve.

Real files from tests/data/psd-cases where one shows the feature; synthetic
layers otherwise, checked against Photoshop's documented behaviour.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qil_editor.document import BlendMode, Layer, composite_layers, effects
from qil_editor.io import read_psd
from qil_editor.io.psd_read import TEXT_GAMMA

CASES = Path(__file__).parent / "data" / "psd-cases"


def _errors(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    a = ours.astype(np.float64)
    b = ref.astype(np.float64)
    pa = np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], -1)
    pb = np.concatenate([b[..., :3] * b[..., 3:] / 255.0, b[..., 3:]], -1)
    d = np.abs(pa - pb)
    return float(d.max()), float(d.mean())


def test_text_layer_blends_at_photoshops_text_gamma():
    """Photoshop's merged image of a text layer: edges mixed at gamma 1.45, matched exactly."""
    doc = read_psd(CASES / "text-layer" / "src.psd")
    text = next(ly for ly in doc.layers if ly.name == "Test text")
    assert text.blend_gamma == TEXT_GAMMA
    ref = np.asarray(Image.open(CASES / "text-layer" / "canvas.png").convert("RGBA"))
    mx, mean = _errors(composite_layers(doc.layers, doc.width, doc.height), ref)
    assert mx <= 1 and mean <= 0.01
    plain = [ly.copy(blend_gamma=1.0) for ly in doc.layers]  # the old reading: 40 levels off
    assert _errors(composite_layers(plain, doc.width, doc.height), ref)[0] > 30


def test_blend_gamma_mixes_in_gamma_encoded_linear_light():
    """Red at alpha 170 over white: G = 255 * srgb((1 - 170/255) ** 1.45) ~ 125 (plain: 85)."""
    white = Layer(np.full((1, 1, 4), 255, np.uint8))
    px = np.array([[[255, 0, 0, 170]]], np.uint8)
    out = composite_layers([white, Layer(px, blend_gamma=TEXT_GAMMA)], 1, 1)
    assert abs(int(out[0, 0, 1]) - 125) <= 1 and out[0, 0, 0] == 255 and out[0, 0, 3] == 255
    assert composite_layers([white, Layer(px)], 1, 1)[0, 0, 1] == 85
    # over transparency nothing is mixed: the layer's own colour and alpha
    alone = composite_layers([Layer(px, blend_gamma=TEXT_GAMMA)], 1, 1)
    assert alone[0, 0].tolist() == [255, 0, 0, 170]


# ----- layer effects -------------------------------------------------------------
def _case_errors(case: str) -> np.ndarray:
    doc = read_psd(CASES / case / "src.psd")
    ours = composite_layers(doc.layers, doc.width, doc.height).astype(np.float64)
    ref = np.asarray(Image.open(CASES / case / "canvas.png").convert("RGBA")).astype(np.float64)
    pre = lambda a: np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], -1)  # noqa: E731
    return np.abs(pre(ours) - pre(ref))


@pytest.mark.parametrize("name, box, bound", [
    # ag-psd's 'effects' case, one region per layer style (l, t, r, b) -> (max, mean)
    ("drop shadow (multiply, spread 2 %, global angle)", (80, 124, 190, 190), (4.0, 0.2)),
    ("inner shadow (multiply, distance 14, choke 11 %)", (0, 0, 150, 90), (6.0, 0.2)),
    ("outer glow (screen, range 50 %) + inner glow (noise 3 %)", (115, 76, 190, 118), (8.0, 0.5)),
    # the bevel is a fitted approximation (was max 139 / mean 7.3 undrawn)
    ("inner bevel (smooth, size 5, depth 100 %, altitude 30)", (0, 160, 70, 200), (24.0, 0.5)),
])
def test_shadows_and_glows_match_photoshop(name, box, bound):
    l, t, r, b = box
    d = _case_errors("effects")[t:b, l:r]
    assert d.max() <= bound[0] and d.mean() <= bound[1], (name, d.max(), d.mean())


def test_pre_cs6_effects_match_photoshop():
    """Colour overlay + drop shadow + outer glow of an older file: was max 82 / mean 2.1."""
    d = _case_errors("blend-mode")
    assert d.max() <= 6 and d.mean() <= 0.15


def test_effects_are_read_with_photoshops_parameters():
    from psd_tools import PSDImage

    from qil_editor.io.psd_read import _layer_effects, _older_effects_present

    psd = PSDImage.open(CASES / "effects" / "src.psd")
    with _older_effects_present(psd):
        found = {ly.name: _layer_effects(ly) for ly in psd.descendants()}
    shadow, = found["drop shadow"]
    assert (shadow.kind, shadow.size, shadow.spread, shadow.distance) == ("drop_shadow", 5, 2, 5)
    assert shadow.angle == 132  # the document's global angle (the effect uses global light)
    assert shadow.blend_mode == BlendMode.MULTIPLY and shadow.opacity == pytest.approx(0.75)
    inner, = found["inner shadow"]
    assert (inner.kind, inner.angle, inner.distance) == ("inner_shadow", 61, 14)
    kinds = sorted(e.kind for e in found["inner outer glow"])
    assert kinds == ["inner_glow", "outer_glow"]
    glow = next(e for e in found["inner outer glow"] if e.kind == "outer_glow")
    assert glow.range == 50 and glow.blend_mode == BlendMode.SCREEN
    assert [e.kind for e in found["other"]] == ["satin"]
    bevel, = found["bevel"]
    assert (bevel.kind, bevel.size, bevel.altitude, bevel.depth, bevel.up) == ("bevel", 5, 30, 100, True)
    assert bevel.blend_mode == BlendMode.SCREEN and bevel.shadow_mode == BlendMode.MULTIPLY
    assert found["solid fill"] == []  # a colour overlay: psd-tools draws it


def test_offset_rounds_halves_away_from_the_light():
    assert effects.offset(5, 120) == (3, 4)  # -5 cos 120 = 2.5 (2.4999... in floating point)
    assert effects.offset(45, 133) == (31, 33)
    assert effects.offset(14, 61) == (-7, 12)
    assert effects.offset(0, 77) == (0, 0)


def test_box_blur_is_two_symmetric_passes():
    impulse = np.zeros((21, 21), np.float32)
    impulse[10, 10] = 1.0
    for size in (4, 5):
        out = effects.box_blur2(impulse, size)
        assert out.sum() == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(out, out[::-1, ::-1], atol=1e-6)  # centred, even widths too
        assert np.count_nonzero(out[10] > 1e-7) == 2 * size - 1  # two passes of width `size`


def _square(pad: int = 12, side: int = 16) -> np.ndarray:
    px = np.zeros((side + 2 * pad, side + 2 * pad, 4), np.uint8)
    px[pad:pad + side, pad:pad + side] = (200, 100, 50, 255)
    return px


def test_inner_effects_stay_inside_and_outer_effects_outside():
    px = _square()
    inside = px[..., 3] == 255
    shadow = effects.Effect("inner_shadow", (0.0, 0.0, 0.0), 1.0, BlendMode.MULTIPLY,
                            size=4, distance=3, angle=90)
    out = effects.apply_effects(px, [shadow])
    assert (out[..., 3] == px[..., 3]).all()  # alpha untouched
    top, bottom = out[12, 20, :3].astype(int), out[27, 20, :3].astype(int)
    assert top.sum() < bottom.sum()  # light from above: the shadow falls inside the top edge
    assert (out[20, 20, :3] == px[20, 20, :3]).all()  # the middle is beyond its reach
    glow = effects.Effect("outer_glow", (1.0, 1.0, 0.0), 0.5, BlendMode.SCREEN, size=6)
    out = effects.apply_effects(px, [glow])
    assert (out[inside] == px[inside]).all()
    assert out[8, 20, 3] > 0 and (out[8, 20, :3] == (255, 255, 0)).all()
    assert out[0, 0, 3] == 0


def test_inner_glow_from_edge_or_centre():
    px = _square(side=20)
    edge = effects.Effect("inner_glow", (1.0, 1.0, 1.0), 1.0, size=6)
    centre = effects.Effect("inner_glow", (1.0, 1.0, 1.0), 1.0, size=6, source_center=True)
    e, c = effects.apply_effects(px, [edge]), effects.apply_effects(px, [centre])
    assert e[12, 22, 0] > e[22, 22, 0] == 200  # lighter at the edge, unchanged in the middle
    assert c[22, 22, 0] == 255 and c[12, 22, 0] < 255


def test_drop_shadow_hides_under_the_layer_unless_it_shows_through():
    px = _square()
    shadow = effects.Effect("drop_shadow", (0.0, 0.0, 0.0), 1.0, BlendMode.MULTIPLY,
                            size=2, distance=4, angle=90)
    cov = effects.coverage(shadow, px[..., 3].astype(np.float32) / 255.0)
    assert cov[20, 20] == 0.0 and cov[30, 20] > 0.5  # concealed inside, below the square
    loose = effects.coverage(replace(shadow, conceals=False), px[..., 3] / np.float32(255.0))
    assert loose[20, 20] > 0.9


def test_unknown_effect_kind_is_refused():
    with pytest.raises(ValueError, match="unknown layer effect"):
        effects.Effect("emboss", (0, 0, 0))


EXTRA = Path(__file__).parent / "data" / "psd-extra"  # more of ag-psd's real files (MIT)


def _extra_errors(case: str, **read) -> tuple[np.ndarray, object]:
    doc = read_psd(EXTRA / case / "src.psd", **read)
    ref = np.asarray(Image.open(EXTRA / case / "canvas.png").convert("RGBA"))
    from qil_editor.document import composite

    return np.asarray(_errors(composite(doc), ref)), doc


@pytest.mark.parametrize("groups", [False, True])
def test_group_drop_shadow_is_drawn_under_the_group(groups):
    """A group's layer style (drop shadow, 64 % spread, size 65): was max 126 / mean 7.0."""
    (mx, mean), doc = _extra_errors("group-drop-shadows", groups=groups)
    assert mx <= 8 and mean <= 0.1
    styled = [ly for ly in doc.layers if ly.name.endswith("Group 1 (effects)")]
    assert len(styled) == 1 and styled[0].id in doc.source.synthetic  # never written back
    assert doc.layers.index(styled[0]) == 1  # above the background, under the group's layers


@pytest.mark.parametrize("groups", [False, True])
def test_group_style_layer_names_itself_stale_when_the_group_changes(groups):
    """The "(effects)" layer is drawn from the group's layers as read: once one of them
    moves (or, grouped, a layer joins the group), saving says the style does not follow."""
    from qil_editor.document import Layer, save_losses

    doc = read_psd(EXTRA / "group-drop-shadows" / "src.psd", groups=groups)
    styled = next(ly for ly in doc.layers if ly.name.endswith("Group 1 (effects)"))
    members = doc.source.group_styles[styled.id][1]
    assert members and styled.id not in members

    def stale():
        return [s for s in save_losses(doc) if "layer style of group 'Group 1'" in s]

    assert stale() == []
    member = doc.layer(members[0])
    x0 = member.x
    doc.update_layer(member.id, x=x0 + 5)
    assert len(stale()) == 1
    doc.update_layer(member.id, x=x0)  # back where it was: the style fits again
    assert stale() == []
    outside = next(ly for ly in doc.layers if ly.id not in members and ly.id != styled.id)
    doc.update_layer(outside.id, x=outside.x + 5)  # a layer outside the group: no matter
    assert stale() == []
    if groups:
        doc.add_layer(Layer(np.full((4, 4, 4), 255, np.uint8), name="new", group=styled.group))
        assert len(stale()) == 1


@pytest.mark.parametrize("groups", [False, True])
def test_group_style_is_redrawn_from_the_groups_layers_as_they_are(groups):
    """redraw_group_styles: the style of the moved content (as drawn at read time from
    scratch: identical), no stale sentence once redrawn, the pixels as read when back."""
    from qil_editor.document import save_losses
    from qil_editor.document.group_styles import draw_group_style, redraw_group_styles

    doc = read_psd(EXTRA / "group-drop-shadows" / "src.psd", groups=groups)
    (style_id, style), = doc.source.group_styles.items()
    shadow = doc.layer(style_id)
    read = shadow.pixels
    assert [e.kind for e in style[3]] == ["drop_shadow"]
    assert np.array_equal(draw_group_style(doc, style)[0], read)  # the reader's drawing, exactly
    assert redraw_group_styles(doc) == []  # nothing changed: nothing drawn
    member = doc.layer(style[1][0])
    doc.update_layer(member.id, x=member.x + 30)
    assert redraw_group_styles(doc) == [style_id]
    assert shadow.pixels is not read and not np.array_equal(shadow.pixels[..., 3], read[..., 3])
    assert not [s for s in save_losses(doc) if "layer style" in s or "(effects)" in s]
    doc.update_layer(member.id, x=member.x - 30)
    assert redraw_group_styles(doc) == [style_id] and shadow.pixels is read


def test_outer_effects_alone_match_apply_effects_under_a_clear_layer():
    shape = np.zeros((60, 70), np.float32)
    shape[20:40, 15:50] = 1.0
    shape[25, 10:15] = 0.5
    fx = [effects.Effect("drop_shadow", (0.1, 0.2, 0.9), 0.6, size=9, spread=20, distance=6),
          effects.Effect("outer_glow", (1.0, 0.9, 0.2), 0.5, size=5),
          effects.Effect("inner_glow", (1.0, 1.0, 1.0), 0.5, size=3)]  # inner: not drawn here
    blank = np.zeros((60, 70, 4), np.uint8)
    assert np.array_equal(effects.outer_effects(fx, shape), effects.apply_effects(blank, fx[:2], shape))


def test_windows_grey_text_is_not_gamma_blended():
    (mx, mean), doc = _extra_errors("alias")
    assert mx <= 1 and mean <= 0.01
    gammas = {ly.name: ly.blend_gamma for ly in doc.layers}
    assert gammas["Windows"] == 1.0 and gammas["Windows LCD"] == TEXT_GAMMA


# ----- knockout and dissolve ------------------------------------------------------
def _merged(case: str) -> np.ndarray:
    from psd_tools import PSDImage

    return np.asarray(PSDImage.open(EXTRA / case / "src.psd").topil().convert("RGBA"))


def test_shallow_knockout_in_isolated_and_pass_through_groups():
    """psd-tools' knockout test file: four groups of multiply ellipses, knockout on/off,
    isolated/pass-through; read with groups, within 2 levels of Photoshop's merged image."""
    doc = read_psd(EXTRA / "knockout-isolated-groups" / "src.psd", groups=True)
    assert sum(ly.knockout == 1 for ly in doc.layers) == 8
    from qil_editor.document import composite

    mx, mean = _errors(composite(doc), _merged("knockout-isolated-groups"))
    assert mx <= 3 and mean <= 0.1
    no_knockout = [ly.copy(knockout=0) for ly in doc.layers]  # multiply as usual: far off
    plain = composite_layers(no_knockout, doc.width, doc.height, groups=doc._groups)
    assert _errors(plain, _merged("knockout-isolated-groups"))[0] > 50


def _knockout_stack(knockout: int, fill: float):
    red = Layer(np.full((4, 4, 4), (255, 0, 0, 255), np.uint8), name="Background")
    blue = Layer(np.full((4, 4, 4), (0, 0, 255, 255), np.uint8), x=0, y=0)
    hole = np.zeros((4, 4, 4), np.uint8)
    hole[1:3, 1:3] = (0, 255, 0, 255)
    return [red, blue, Layer(hole, knockout=knockout, fill_opacity=fill)]


def test_knockout_with_zero_fill_shows_the_background():
    out = composite_layers(_knockout_stack(2, 0.0), 4, 4)
    assert out[1, 1].tolist() == [255, 0, 0, 255]  # through the blue layer to the background
    assert out[0, 0].tolist() == [0, 0, 255, 255]  # outside the knockout's shape: unchanged
    half = composite_layers(_knockout_stack(2, 0.5), 4, 4)[1, 1]
    assert abs(int(half[0]) - 128) <= 1 and abs(int(half[1]) - 128) <= 1 and half[2] == 0
    plain = composite_layers(_knockout_stack(0, 0.0), 4, 4)
    assert plain[1, 1].tolist() == [0, 0, 255, 255]  # no knockout: fill 0 shows nothing


def test_knockout_without_a_background_makes_a_hole():
    layers = _knockout_stack(2, 0.0)[1:]  # the blue layer is not a full opaque background now
    layers[0] = layers[0].copy(pixels=np.full((4, 4, 4), (0, 0, 255, 200), np.uint8))
    out = composite_layers(layers, 4, 4)
    assert out[1, 1, 3] == 0 and out[0, 0, 3] == 200


def test_dissolve_draws_whole_pixels_as_often_as_photoshop():
    """Photoshop's random pattern is its own; the density (alpha x opacity) is what matches."""
    import cv2

    from qil_editor.document import composite

    doc = read_psd(EXTRA / "dissolve" / "src.psd")
    assert {ly.blend_mode for ly in doc.layers} >= {BlendMode.DISSOLVE}
    ours, ref = composite(doc), _merged("dissolve")
    assert abs((ours[..., 3] == 255).mean() - (ref[..., 3] == 255).mean()) < 0.02
    pre = lambda a: np.concatenate([a[..., :3] * (a[..., 3:] / 255.0), a[..., 3:]], -1)  # noqa: E731
    blur = lambda a: cv2.blur(pre(a.astype(np.float32)), (17, 17))  # noqa: E731
    assert np.abs(blur(ours) - blur(ref)).mean() < 8
    # a half-transparent dissolve layer: about half its pixels, each fully opaque
    px = np.full((64, 64, 4), (0, 0, 0, 128), np.uint8)
    out = composite_layers([Layer(px, blend_mode=BlendMode.DISSOLVE)], 64, 64)
    assert set(np.unique(out[..., 3])) <= {0, 255}
    assert abs((out[..., 3] == 255).mean() - 128 / 255) < 0.03
    again = composite_layers([Layer(px, blend_mode=BlendMode.DISSOLVE)], 64, 64, (0, 32, 64, 64))
    assert np.array_equal(again, out[32:])  # the pattern is fixed to the document's pixels


def test_cmyk_adjustment_is_converted_through_the_files_profile():
    """An Invert adjustment in a CMYK file: baked through the ICC profile like the layers
    (psd-tools' CMYK values count the ink left); was 79 levels off on average."""
    from qil_editor.document import composite

    doc = read_psd(EXTRA / "invert-cmyk" / "src.psd")
    mx, mean = _errors(composite(doc), _merged("invert-cmyk"))
    assert mx <= 2 and mean <= 0.05


def test_bevel_lights_the_side_facing_the_light():
    px = _square(side=20)
    bevel = effects.Effect("bevel", (1.0, 1.0, 1.0), 1.0, BlendMode.SCREEN, size=6, angle=90,
                           altitude=30)
    out = effects.apply_effects(px, [bevel]).astype(int)
    top, bottom, middle = out[13, 22, :3], out[30, 22, :3], out[22, 22, :3]
    assert top.sum() > middle.sum() > bottom.sum()  # light from above: lit top, shaded bottom
    assert (out[..., 3] == px[..., 3]).all()
    down = effects.apply_effects(px, [replace(bevel, up=False)]).astype(int)
    assert down[13, 22, :3].sum() < down[30, 22, :3].sum()  # direction down swaps them
    with pytest.raises(ValueError):
        effects.coverage(bevel, px[..., 3] / np.float32(255.0))


def test_text_from_photoshop_cs5_blends_plainly():
    """psd-tools' text.psd (saved by CS5): Photoshop's merged image mixes text edges plainly."""
    from qil_editor.document import composite

    doc = read_psd(EXTRA / "text-cs5" / "src.psd")
    text = next(ly for ly in doc.layers if ly.name.startswith("Line 1"))
    assert text.blend_gamma == 1.0
    mx, mean = _errors(composite(doc), _merged("text-cs5"))
    assert mx <= 1 and mean <= 0.01


# ----- blend modes measured against Photoshop ----------------------------------
@pytest.mark.parametrize("mode", ["divide", "hard-mix", "vivid-light"])
def test_blend_modes_match_photoshops_merged_image(mode):
    """psd-tools' blend-mode files: gradients over gradients (were max 65 / 97 / 96)."""
    from qil_editor.document import composite

    doc = read_psd(EXTRA / f"blend-{mode}" / "src.psd")
    mx, mean = _errors(composite(doc), _merged(f"blend-{mode}"))
    assert mx <= 3 and mean <= 0.2


def test_blend_edge_cases_follow_photoshop():
    from qil_editor.document.compositing import blend_function

    def b(mode, cb, cs):
        return float(blend_function(mode)(np.float32([cb]), np.float32([cs]))[0])

    assert b(BlendMode.VIVID_LIGHT, 1.0, 0.0) == 0.0  # the source's black burns even white
    assert b(BlendMode.VIVID_LIGHT, 0.0, 1.0) == 1.0
    assert b(BlendMode.DIVIDE, 0.0, 0.0) == 0.0 and b(BlendMode.DIVIDE, 0.5, 0.0) == 1.0
    assert b(BlendMode.HARD_MIX, 0.25, 0.75) == 0.0 and b(BlendMode.HARD_MIX, 0.75, 0.25) == 1.0


def test_clipped_shape_with_two_strokes_is_drawn():
    """The issue's "clipped shape layer with two strokes comes out empty" (psd-tools'
    double-stroke-effects.psd): drawn unclipped by psd-tools, clipped by us; was 181 off."""
    from qil_editor.document import composite

    path = EXTRA / "double-stroke-clipped" / "src.psd"
    doc = read_psd(path)
    shape = next(ly for ly in doc.layers if ly.name == "Rectangle 1")
    assert shape.clipping and shape.width > 0
    mx, mean = _errors(composite(doc), _merged("double-stroke-clipped"))
    assert mx <= 2 and mean <= 0.05
    record = doc.source.origins[shape.id].record
    assert record.clipping == 1  # the record is left as read


def test_a_mask_repeating_a_shapes_transparency_is_not_applied_twice():
    """psd-tools' group.psb: the shape layer's pixel mask is its alpha channel again
    (#885 there); applying it squared the edges (max 64 off, the issue's "PSB twins")."""
    from qil_editor.document import composite

    path = EXTRA / "shape-mask-psb" / "src.psb"
    doc = read_psd(path)
    shape = next(ly for ly in doc.layers if ly.name.endswith("Shape 1"))
    assert shape.mask is None and doc.source.origins[shape.id].record.mask_data is not None
    from psd_tools import PSDImage

    merged = np.asarray(PSDImage.open(path).topil().convert("RGBA"))
    mx, mean = _errors(composite(doc), merged)
    assert mx <= 1 and mean <= 0.01


def test_vector_mask_density_lets_the_layer_show_outside_the_mask():
    """psd-tools' mask-density-vectormask.psd: vector masks at 25/50/75 % density; the
    layer was cut to the mask's box (was 191 off)."""
    from psd_tools import PSDImage

    from qil_editor.document import composite

    path = EXTRA / "vector-mask-density" / "src.psd"
    merged = np.asarray(PSDImage.open(path).topil().convert("RGBA"))
    mx, mean = _errors(composite(read_psd(path)), merged)
    assert mx <= 2 and mean <= 0.05


def test_32_bit_linear_values_are_shown_with_the_srgb_curve():
    """psd-tools' 32bit.psd (Linear RGB profile): Photoshop's merged image encodes linear
    light with sRGB's curve (a plain gamma 2.2 was 10 levels off)."""
    from psd_tools import PSDImage

    from qil_editor.document import composite

    path = EXTRA / "linear-32bit" / "src.psd"
    merged = np.asarray(PSDImage.open(path).topil().convert("RGBA"))
    mx, mean = _errors(composite(read_psd(path)), merged)
    assert mx <= 6 and mean <= 0.1


@pytest.mark.parametrize("case, before", [("adjustment-backdrop", 54), ("clip-adjustment", 64)])
def test_baked_adjustments_replace_what_is_below(case, before):
    """Curves over a semi-transparent layer, stacked and clipped (psd-tools'
    adjustment_backdrop_test.psd), and a Hue/Saturation clipped to faint text: the
    baked snapshot covered the picture it already holds (alpha doubled at soft edges)."""
    from qil_editor.document import composite
    from qil_editor.document.compositing import REPLACE

    doc = read_psd(EXTRA / case / "src.psd")
    baked = [ly for ly in doc.layers if ly.name.endswith("(adjustment, baked)")]
    assert baked and all(ly.knockout == REPLACE for ly in baked)
    mx, mean = _errors(composite(doc), _merged(case))
    assert mx <= 6 and mean <= 0.2, (mx, mean, before)


def test_replace_layer_takes_the_place_of_what_is_below():
    from qil_editor.document.compositing import REPLACE

    faint = Layer(np.full((2, 2, 4), (255, 0, 0, 100), np.uint8))
    snapshot = Layer(np.full((2, 2, 4), (0, 0, 255, 100), np.uint8), knockout=REPLACE)
    out = composite_layers([faint, snapshot], 2, 2)
    assert out[0, 0].tolist() == [0, 0, 255, 100]  # not 100 over 100
    half = composite_layers([faint, snapshot.copy(opacity=0.5)], 2, 2)[0, 0]
    assert half[3] == 100 and abs(int(half[0]) - 128) <= 1 and abs(int(half[2]) - 128) <= 1


def test_canvas_draws_clipped_layers_clipped(qtbot):
    """The canvas's layer items cannot clip: a clipped layer goes through the core compositor
    (the clipped double stroke showed its whole rectangle over the background)."""
    pytest.importorskip("PySide6")
    from qil_editor.document import composite
    from qil_editor.ui.canvas import CanvasView
    from qil_editor.ui.session import DocumentSession
    from qil_editor.ui.tasks import TaskRunner

    doc = read_psd(EXTRA / "double-stroke-clipped" / "src.psd")
    assert doc.layers[-1].clipping
    tasks = TaskRunner()
    view = CanvasView(DocumentSession(doc), tasks)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    try:
        assert view._flat_upto == len(doc.layers) - 1
        qtbot.waitUntil(lambda: view._flat.shown_pixels is not None and not view.tasks.busy)
        np.testing.assert_array_equal(view._flat.shown_pixels, composite(doc))
    finally:
        tasks.wait()


# ----- clipping to a group ----------------------------------------------------------
@pytest.mark.parametrize("case", ["clip-to-group", "clip-to-group-exclusion",
                                  "clip-pass-through-modes", "group-clipping"])
def test_layer_clipped_to_a_group_read_with_groups(case):
    """psd-tools' clipping-mask5/4, passthrough_clipping_mask_blendmode, group-clipping:
    a layer clipped to a (pass-through) group blends onto the group's own picture
    (the backdrop taken back out) and takes the group's coverage. clip-to-group was
    3.1 mean / 64 max with the group's alpha baked into the clipped layer."""
    from qil_editor.document import composite

    path = EXTRA / case / "src.psd"
    doc = read_psd(path, groups=True)
    canvas = EXTRA / case / "canvas.png"
    ref = (np.asarray(Image.open(canvas).convert("RGBA")) if canvas.exists()
           else _merged(case))
    mx, mean = _errors(composite(doc), ref)
    assert mx <= 2 and mean <= 0.1
    clipped = [ly for ly in doc.layers if ly.clipping]
    assert clipped and not any(f.kind == "clip_to_group" for f in doc.source.features)
    assert all(not doc.source.origins[ly.id].derived for ly in clipped)  # its own pixels


def test_clip_to_group_saved_and_read_again(tmp_path):
    """Grouped, nothing is baked: the clipped layer is written as read and shows the same."""
    from qil_editor.document import composite
    from qil_editor.io import save_psd

    doc = read_psd(EXTRA / "clip-to-group" / "src.psd", groups=True)
    out = tmp_path / "out.psd"
    save_psd(doc, out)
    again = read_psd(out, groups=True)
    assert [ly.clipping for ly in again.layers] == [ly.clipping for ly in doc.layers]
    np.testing.assert_array_equal(composite(again), composite(doc))


def test_clip_to_pass_through_group_synthetic():
    """Opaque backdrop, a pass-through group with a half-covered pixel, a layer clipped
    to the group: colour = clip over the group's own colour, mixed by the group's alpha
    (baking the alpha into the clip mixed it with the backdrop twice)."""
    from qil_editor.document import Document, Group, composite

    back = np.zeros((1, 1, 4), np.uint8)
    back[...] = (0, 0, 255, 255)
    group = Group("g")
    inner = np.zeros((1, 1, 4), np.uint8)
    inner[...] = (255, 0, 0, 128)
    clip = np.zeros((1, 1, 4), np.uint8)
    clip[...] = (0, 255, 0, 128)
    doc = Document(1, 1, [Layer(back, name="b"), Layer(inner, name="i", group=group.id),
                          Layer(clip, name="c", clipping=True)], groups=[group])
    got = composite(doc)[0, 0].astype(float)
    g, a = 128 / 255, 128 / 255
    own = a * np.array([0, 255, 0]) + (1 - a) * np.array([255, 0, 0])  # clip over the group
    want = g * own + (1 - g) * np.array([0, 0, 255])
    assert np.abs(got[:3] - want).max() <= 1.5


def test_export_merges_a_group_that_layers_are_clipped_to(tmp_path):
    """A format without groups gets such a group as one layer, so the clipped layers still
    clip to the group's picture (folded, they clipped to its top layer alone)."""
    from qil_editor.document import composite
    from qil_editor.io.ora import read_ora, write_ora

    doc = read_psd(EXTRA / "clip-to-group" / "src.psd", groups=True)
    warnings: list[str] = []
    write_ora(doc, tmp_path / "c.ora", warnings.append)
    assert any("clipped to it" in w for w in warnings)
    back = read_ora(tmp_path / "c.ora")
    a, b = composite(back).astype(int), composite(doc).astype(int)
    assert np.abs(a - b).max() <= 3


def test_adjustment_in_faded_pass_through_group_read_with_groups():
    """psd-tools' passthrough_opacity: an adjustment inside a 50 % pass-through group. Its
    snapshot left the group's opacity in and the group faded it again (31 mean / 64 max)."""
    from qil_editor.document import composite

    case = "adjustment-in-faded-group"
    doc = read_psd(EXTRA / case / "src.psd", groups=True)
    assert any(ly.name.endswith("(adjustment, baked)") for ly in doc.layers)
    mx, mean = _errors(composite(doc), _merged(case))
    assert mx <= 2 and mean <= 0.1
    flat = read_psd(EXTRA / case / "src.psd")  # the flat reading was right and stays so
    assert _errors(composite(flat), _merged(case))[0] <= 2


def test_mask_rendered_from_a_vector_mask_takes_its_density():
    """psd-tools' passthrough_vector_mask: a group's stored mask is its vector mask drawn
    ("user mask from render"), at the vector mask's 50 % density; read as a 100 % pixel mask
    the adjustment inside stopped at its edge (grouped: 9.8 mean / 122 max)."""
    from qil_editor.document import composite

    case = "vector-mask-group-density"
    doc = read_psd(EXTRA / case / "src.psd", groups=True)
    (group,) = doc.groups.values()
    assert group.mask is not None and group.mask.density == pytest.approx(128 / 255)
    mx, mean = _errors(composite(doc), _merged(case))
    assert mx <= 2 and mean <= 0.3


def test_adjustment_inside_isolated_groups_read_with_groups():
    """psd-tools' adjustment_nested_composition_5: curves inside Normal groups inside a Screen
    group. The snapshot is the innermost isolated group's own picture so far (a snapshot of
    the whole document, replacing that group's buffer, was 30 mean / 64 max)."""
    from qil_editor.document import composite

    case = "adjustment-in-isolated-group"
    doc = read_psd(EXTRA / case / "src.psd", groups=True)
    assert sum(ly.name.endswith("(adjustment, baked)") for ly in doc.layers) >= 2
    mx, mean = _errors(composite(doc), _merged(case))
    assert mx <= 2 and mean <= 0.2

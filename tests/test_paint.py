"""Brush strokes and mask operations of the Qt-free core (qil_editor/document/paint.py, layer_ops)."""

from __future__ import annotations

import numpy as np
import pytest

from qil_editor.document import Document, History, Layer, LayerMask, MoveLayer, composite
from qil_editor.document.layer_ops import (ApplyLayerMask, MoveLayers, SetLayerMask, flip_layer,
                                           transform_layer)
from qil_editor.document.paint import (Stroke, apply_mask, dab_centres, dab_profile, flip_mask, mask_coverage,
                                       masked_pixels, paintable_mask, reveal_all_mask, transform_mask,
                                       trimmed_mask)


def solid(h, w, color=(200, 50, 20), alpha=255):
    px = np.zeros((h, w, 4), np.uint8)
    px[..., :3] = color
    px[..., 3] = alpha
    return px


def test_dab_is_round_hard_or_soft():
    hard, left, top = dab_profile(10.0, 10.0, 10, 1.0)
    assert (left, top) == (5, 5) and hard.shape == (10, 10)
    assert hard[5, 5] == 1.0 and hard[0, 0] == 0.0  # centre full, corner outside the circle
    soft, _, _ = dab_profile(10.0, 10.0, 10, 0.0)
    assert soft[5, 5] > 0.9 and 0.0 < soft[5, 1] < hard[5, 1] + 1e-6  # fades toward the rim
    assert np.all(soft <= hard + 1e-6)


def test_dab_spacing_is_even_across_events():
    centres, carried = dab_centres((0, 0), (10, 0), 4.0, 0.0)
    assert [round(x) for x, _ in centres] == [4, 8] and carried == pytest.approx(2.0)
    more, carried = dab_centres((10, 0), (13, 0), 4.0, carried)
    assert [round(x) for x, _ in more] == [12] and carried == pytest.approx(1.0)


def test_one_stroke_never_builds_up_past_its_opacity():
    """Back and forth over the same spot at 50 %: 50 %, not 75 % (Photoshop's stroke)."""
    base = np.full((40, 80), 255, np.uint8)
    stroke = Stroke(base, (0, 0), "hide", size=10, hardness=1.0, opacity=0.5)
    for x in (10, 70, 10, 70, 40):
        stroke.to(x, 20)
    assert stroke.result[20, 40] == 128 and stroke.result[20, 20] == 128
    assert stroke.result[2, 40] == 255  # outside the brush: untouched
    assert base[20, 40] == 255  # the base is never written
    out = stroke.finished()
    assert not out.flags.writeable


def test_stroke_reports_only_the_dirty_box():
    stroke = Stroke(np.zeros((100, 100), np.uint8), (0, 0), "reveal", size=6)
    box = stroke.to(50, 50)
    assert box == (47, 47, 53, 53)
    box = stroke.to(60, 50)
    assert box[0] >= 47 and box[2] == 62 and box[1] == 47 and box[3] == 53  # last dab at x=59 (spacing 1.5)
    assert stroke.result[50, 55] == 255 and stroke.result[10, 10] == 0


def test_erase_and_paint_on_rgba_and_plane_origin():
    px = solid(20, 20, alpha=200)
    erase = Stroke(px, (100, 50), "erase", size=4, opacity=1.0)
    erase.to(110, 60)  # document point -> plane (10, 10)
    assert erase.result[10, 10, 3] == 0 and tuple(erase.result[10, 10, :3]) == (200, 50, 20)
    assert erase.result[0, 0, 3] == 200
    paint = Stroke(solid(10, 10, alpha=0), (0, 0), "paint", size=4, color=(255, 255, 255), opacity=0.5)
    paint.to(5, 5)
    assert tuple(paint.result[5, 5]) == (255, 255, 255, 128)


def test_bad_strokes_are_refused():
    with pytest.raises(ValueError, match="brush mode"):
        Stroke(np.zeros((4, 4), np.uint8), (0, 0), "smudge", 3)
    with pytest.raises(ValueError, match="size"):
        Stroke(np.zeros((4, 4), np.uint8), (0, 0), "hide", 0)
    with pytest.raises(ValueError, match="RGBA"):
        Stroke(np.zeros((4, 4), np.uint8), (0, 0), "paint", 3)


def test_paintable_mask_grows_and_trim_shrinks_back():
    mask = LayerMask(np.full((4, 4), 7, np.uint8), x=10, y=10, default=255)
    plane, x, y = paintable_mask(mask, (0, 0, 30, 20))
    assert (x, y, plane.shape) == (0, 0, (20, 30))
    assert plane[11, 11] == 7 and plane[0, 0] == 255
    back = trimmed_mask(LayerMask(plane, x, y, default=255))
    assert back.bbox == mask.bbox and np.array_equal(back.pixels, mask.pixels)
    empty = trimmed_mask(LayerMask(np.full((3, 3), 255, np.uint8), default=255))
    assert empty.pixels.size == 0 and empty.default == 255
    plane, x, y = paintable_mask(reveal_all_mask(), (0, 0, 5, 6))
    assert plane.shape == (6, 5) and plane.min() == 255


def test_masked_pixels_and_apply():
    mask = LayerMask(np.array([[0, 255], [128, 255]], np.uint8), x=5, y=5, default=255)
    layer = Layer(solid(2, 2), x=5, y=5, mask=mask)
    shown = masked_pixels(layer)
    assert list(shown[..., 3].ravel()) == [0, 255, 128, 255]
    baked = apply_mask(layer)
    assert not baked.flags.writeable and np.array_equal(baked, shown)
    assert masked_pixels(Layer(solid(2, 2), mask=reveal_all_mask())) is not None
    plain = Layer(solid(2, 2), mask=reveal_all_mask())
    assert masked_pixels(plain) is plain.pixels  # hides nothing: no copy


def test_mask_coverage_matches_the_mask_with_density_and_feather():
    rng = np.random.default_rng(1)
    plane = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    for feather in (0.0, 2.0):
        like = LayerMask(plane, x=3, y=4, default=0, density=0.6, feather=feather)
        box = (10, 12, 30, 25)
        full = like.coverage(box)
        part = mask_coverage(plane, 3, 4, like, box)
        assert np.abs(full - part).max() < 2e-3, feather


def test_mask_commands_undo_and_apply():
    layer = Layer(solid(10, 10), name="A")
    doc = Document(10, 10, [layer])
    history = History(doc)
    hide = LayerMask(np.zeros((10, 10), np.uint8), default=255)
    history.push(SetLayerMask(layer.id, hide, "Add layer mask"))
    assert composite(doc)[5, 5, 3] == 0
    history.push(ApplyLayerMask(doc, layer.id))
    assert layer.mask is None and layer.pixels[5, 5, 3] == 0
    history.undo()
    assert layer.mask is hide and layer.pixels[5, 5, 3] == 255
    history.undo()
    assert layer.mask is None
    with pytest.raises(ValueError, match="no layer mask"):
        ApplyLayerMask(doc, layer.id)


def test_moves_carry_the_mask():
    mask = LayerMask(np.zeros((2, 2), np.uint8), x=3, y=4, default=255)
    a, b = Layer(solid(5, 5), mask=mask), Layer(solid(5, 5))
    doc = Document(20, 20, [a, b])
    history = History(doc)
    history.push(MoveLayer(a.id, 2, 1))
    assert (a.mask.x, a.mask.y) == (5, 5)
    history.push(MoveLayers({a.id: (1, 1), b.id: (1, 1)}))
    assert (a.mask.x, a.mask.y) == (6, 6)
    history.undo()
    history.undo()
    assert (a.mask.x, a.mask.y) == (3, 4)


def test_flip_mirrors_the_mask_with_the_content():
    px = np.zeros((4, 6, 4), np.uint8)
    px[1:3, 1:5] = (10, 20, 30, 255)  # content (11..15, 21..23) at offset (10, 20)
    plane = np.zeros((2, 4), np.uint8)
    plane[:, 0] = 255  # reveals only the left column of the content
    layer = Layer(px, x=10, y=20, mask=LayerMask(plane, x=11, y=21, default=0))
    before = composite(Document(40, 40, [layer]))
    pixels, x, y, mask = flip_layer(layer, horizontal=True)
    after = composite(Document(40, 40, [layer.copy(pixels=pixels, x=x, y=y, mask=mask)]))
    assert np.array_equal(after[..., 3].sum(axis=1), before[..., 3].sum(axis=1))  # same rows, same amount
    # the visible column moved from x=11 to x=14 (mirrored about the content's centre 13)
    assert before[21, 11, 3] == 255 and after[21, 14, 3] == 255 and after[21, 11, 3] == 0
    vertical = flip_mask(LayerMask(np.array([[1], [2]], np.uint8), x=0, y=3), 10, horizontal=False)
    assert vertical.y == 5 and list(vertical.pixels[:, 0]) == [2, 1]


def test_transform_moves_and_scales_the_mask_with_the_layer():
    px = solid(20, 20)
    plane = np.zeros((20, 20), np.uint8)
    plane[:, 10:] = 255  # right half shown
    layer = Layer(px, x=10, y=10, mask=LayerMask(plane, x=10, y=10, default=0))
    # 2x about the layer's origin, then to (50, 40): layer-local -> document
    matrix = [[2, 0, 50], [0, 2, 40]]
    pixels, x, y, mask = transform_layer(layer.pixels, layer.mask, layer.x, layer.y, matrix)
    assert (x, y, pixels.shape[:2]) == (50, 40, (40, 40))
    out = composite(Document(120, 120, [Layer(pixels, x=x, y=y, mask=mask)]))
    assert out[60, 55, 3] == 0 and out[60, 85, 3] == 255  # left half hidden, right half shown
    assert transform_mask(reveal_all_mask(), matrix, 0, 0).pixels.size == 0


def test_psd_round_trip_of_a_painted_mask(tmp_path):
    from qil_editor.io import open_document, save_psd

    layer = Layer(solid(30, 40), name="Masked", x=5, y=6)
    base, x, y = paintable_mask(reveal_all_mask(), (0, 0, 60, 50))
    stroke = Stroke(base, (x, y), "hide", size=12, hardness=0.5, opacity=0.8)
    for px in range(10, 40, 3):
        stroke.to(px, 20)
    mask = trimmed_mask(LayerMask(stroke.finished(), x, y, default=255))
    doc = Document(60, 50, [Layer(solid(50, 60, (0, 0, 255))), layer.copy(mask=mask)])
    for path in (tmp_path / "m.psd",):
        save_psd(doc, path)
        back = open_document(path)
        got = back.layers[1].mask
        assert got is not None and got.bbox == mask.bbox and got.default == 255
        assert np.array_equal(got.pixels, mask.pixels)
        assert np.array_equal(composite(back), composite(doc))


def test_ora_has_no_masks_so_the_mask_is_baked_and_the_save_says_so(tmp_path):
    from qil_editor.io import open_document
    from qil_editor.io.export import export_document

    plane = np.zeros((20, 30), np.uint8)
    plane[:, 15:] = 255
    layer = Layer(solid(20, 30), name="Half", x=4, y=2, mask=LayerMask(plane, x=4, y=2, default=0))
    doc = Document(40, 30, [layer])
    result = export_document(doc, tmp_path / "half.ora")
    assert any("mask" in w and "Half" in w for w in result.warnings), result.warnings
    back = open_document(tmp_path / "half.ora")
    assert back.layers[0].mask is None
    assert np.array_equal(composite(back), composite(doc))


def test_painting_a_photoshop_mask_and_saving_over_the_file_keeps_it(psd_cases, tmp_path):
    """The lossless writer (a PSD saved back over its records) writes the new mask, a removed one
    goes, and a Reveal All mask stays an empty rectangle that shows everything."""
    from dataclasses import replace

    from qil_editor.io import open_document, save_psd

    doc = open_document(psd_cases / "layer-mask" / "src.psd")
    layer = doc.layers[0]
    assert doc.source is not None and doc.source.lossless and layer.mask is not None
    plane, x, y = paintable_mask(layer.mask, (0, 0, doc.width, doc.height))
    stroke = Stroke(plane, (x, y), "reveal", 8)
    stroke.to(5, 5)
    stroke.to(60, 40)
    doc.update_layer(layer.id, mask=trimmed_mask(replace(layer.mask, pixels=stroke.finished(), x=x, y=y)))
    save_psd(doc, tmp_path / "painted.psd")
    back = open_document(tmp_path / "painted.psd")
    got = back.layers[0].mask
    assert got.bbox == layer.mask.bbox and got.default == layer.mask.default
    assert np.array_equal(got.pixels, layer.mask.pixels)
    assert np.array_equal(composite(back), composite(doc))
    doc.update_layer(layer.id, mask=None)
    save_psd(doc, tmp_path / "deleted.psd")
    assert open_document(tmp_path / "deleted.psd").layers[0].mask is None
    doc.update_layer(layer.id, mask=reveal_all_mask())
    save_psd(doc, tmp_path / "reveal.psd")
    mask = open_document(tmp_path / "reveal.psd").layers[0].mask
    assert mask.pixels.size == 0 and mask.default == 255


def test_a_disabled_mask_survives_save_and_reopen_and_still_draws_nothing(tmp_path):
    from dataclasses import replace

    from qil_editor.io import open_document, save_psd

    plane = np.zeros((20, 20), np.uint8)
    plane[:, 10:] = 255
    mask = LayerMask(plane, 5, 6, default=0)
    doc = Document(60, 50, [Layer(solid(50, 60, (0, 0, 255))),
                            Layer(solid(30, 40), name="Masked", x=5, y=6, mask=replace(mask, disabled=True))])
    path = tmp_path / "off.psd"
    save_psd(doc, path)
    back = open_document(path)
    got = back.layers[1].mask
    assert got is not None and got.disabled, "the disabled mask was dropped on reopen"
    assert np.array_equal(got.pixels, plane) and got.bbox == mask.bbox
    assert np.array_equal(composite(back), composite(doc))  # disabled: the layer shows whole
    enabled = back.layers[1].copy(mask=replace(got, disabled=False))
    assert not np.array_equal(composite(Document(60, 50, [back.layers[0], enabled])), composite(back))

"""CMYK files are blended in CMYK, as Photoshop does, while the layers stay RGB to edit.

Real files: ag-psd's cmyk case and psd-tools' invert_cmyk (tests/data), against
the file's own merged image converted through its ICC profile. Synthetic layers
check the four-ink arithmetic (two passes: C/M/Y and K) against a direct
formula with the plain (profile-less) conversion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qil_editor.document import BlendMode, Document, Layer, composite, composite_layers
from qil_editor.document.cmyk import CmykSpace
from qil_editor.io import read_psd

DATA = Path(__file__).parent / "data"
FILES = [DATA / "psd-cases" / "cmyk" / "src.psd", DATA / "psd-extra" / "invert-cmyk" / "src.psd"]


def _merged(path: Path) -> np.ndarray:
    from psd_tools import PSDImage

    from qil_editor.io.pixels import pil_to_rgba

    return pil_to_rgba(PSDImage.open(path).topil(apply_icc=True))


def _errors(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    pa = np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], -1)
    pb = np.concatenate([b[..., :3] * b[..., 3:] / 255.0, b[..., 3:]], -1)
    d = np.abs(pa - pb)
    return float(d.max()), float(d.mean())


@pytest.mark.parametrize("groups", [False, True])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_cmyk_file_matches_photoshops_merged_image(path, groups):
    doc = read_psd(path, groups=groups)
    assert doc.source.working_space is not None
    mx, mean = _errors(composite(doc), _merged(path))
    assert mx <= 1 and mean <= 0.01


def test_blending_converted_rgb_layers_is_what_went_wrong():
    """The same layers blended in RGB (the old reading) miss Photoshop's picture by 55 levels."""
    path = FILES[0]
    doc = read_psd(path)
    rgb = composite_layers(doc.layers, doc.width, doc.height)
    assert _errors(rgb, _merged(path))[0] > 8


def test_moved_layer_keeps_its_stored_colour_and_edited_layer_is_converted():
    doc = read_psd(FILES[0])
    space = doc.source.working_space
    top = doc.layers[-1]
    before = composite(doc)
    doc.update_layer(top.id, x=top.x + 7, opacity=0.8)
    moved = doc.layer(top.id)
    assert space.stored(moved)  # an offset, opacity or mode change keeps the file's CMYK
    shifted = composite(doc)
    assert not np.array_equal(shifted, before)
    # a pixel edit: the pixels left as read keep their ink; the changed ones go into
    # CMYK through the profile before blending
    as_read = space.planes(moved)
    pixels = moved.pixels.copy()
    doc.set_pixels(top.id, pixels)
    assert not space.stored(doc.layer(top.id))
    np.testing.assert_array_equal(composite(doc), shifted)  # nothing changed: exactly the same
    pixels = pixels.copy()
    pixels[:10, :, :3] = (200, 40, 90)
    doc.set_pixels(top.id, pixels)
    edited = doc.layer(top.id)
    converted = space.from_rgb(pixels[..., :3])
    planes = space.planes(edited)
    np.testing.assert_array_equal(planes[:10], converted[:10])
    np.testing.assert_array_equal(planes[10:], as_read[10:])
    again = composite(doc)
    rows = slice(edited.y, edited.y + 10)
    assert np.array_equal(np.delete(again, np.s_[rows], axis=0), np.delete(shifted, np.s_[rows], axis=0))
    assert not np.array_equal(again[rows], shifted[rows])
    # converting the same pixels twice is cached on the pixel array
    assert space._passes(edited)[0] is space._passes(edited)[0]


def _left(c, m, y, k):
    """Ink amounts in percent -> stored bytes (255 = no ink)."""
    return np.array([round(255 * (1 - v / 100)) for v in (c, m, y, k)], np.uint8)


def _layer(space, ink, alpha, *, mode=BlendMode.NORMAL, opacity=1.0, name="l"):
    px = np.zeros((4, 4, 4), np.uint8)
    px[..., 3] = alpha
    layer = Layer(px, name=name, opacity=opacity, blend_mode=mode)
    space.keep(layer.id, layer.pixels, np.broadcast_to(ink, (4, 4, 4)).copy())
    return layer


def _plain_rgb(left: np.ndarray) -> np.ndarray:
    c = left.astype(np.float64) / 255.0
    return c[..., :3] * c[..., 3:4] * 255.0


@pytest.mark.parametrize("mode", [BlendMode.NORMAL, BlendMode.MULTIPLY, BlendMode.SCREEN,
                                  BlendMode.OVERLAY, BlendMode.DARKEN])
def test_four_inks_blend_per_channel(mode):
    """Separable modes blend each ink's complement; the picture is converted after."""
    from qil_editor.document.compositing import blend_function

    space = CmykSpace(None)
    below, above = _left(10, 60, 30, 20), _left(70, 5, 40, 50)
    layers = [_layer(space, below, 255), _layer(space, above, 255, mode=mode, opacity=0.5)]
    out = composite_layers(layers, 4, 4, space=space)
    cb, cs = below / 255.0, above / 255.0
    fn = blend_function(mode)
    mixed = cs if fn is None else fn(cb[None, None], cs[None, None])[0, 0]
    expected = _plain_rgb(np.round((0.5 * mixed + 0.5 * cb) * 255.0))
    assert np.abs(out[0, 0, :3] - expected).max() <= 1.5
    assert out[0, 0, 3] == 255
    # converting each layer to RGB first and blending those gives another colour
    if mode != BlendMode.NORMAL:
        rgb_layers = [ly.copy(pixels=np.dstack([np.broadcast_to(_plain_rgb(ink).round(), (4, 4, 3)),
                                                ly.pixels[..., 3]]).astype(np.uint8))
                      for ly, ink in zip(layers, (below, above))]
        rgb = composite_layers(rgb_layers, 4, 4)
        assert np.abs(rgb[0, 0, :3].astype(float) - expected).max() > 2


def test_soft_edge_mixes_inks_not_rgb():
    """Half-covered pixels of a layer over another mix their inks (ag-psd's cmyk case)."""
    space = CmykSpace(None)
    below, above = _left(0, 100, 100, 0), _left(100, 0, 0, 60)
    layers = [_layer(space, below, 255), _layer(space, above, 128)]
    out = composite_layers(layers, 4, 4, space=space)
    a = 128 / 255
    expected = _plain_rgb(np.round((a * above / 255 + (1 - a) * below / 255) * 255))
    assert np.abs(out[0, 0, :3] - expected).max() <= 1.5


@pytest.mark.parametrize("mode, k_from", [(BlendMode.HUE, "below"), (BlendMode.COLOR, "below"),
                                          (BlendMode.LUMINOSITY, "above")])
def test_component_modes_carry_k_as_psd_tools(mode, k_from):
    space = CmykSpace(None)
    below, above = _left(20, 70, 10, 30), _left(60, 10, 80, 5)
    layers = [_layer(space, below, 255), _layer(space, above, 255, mode=mode)]
    """Hue/colour take K from the backdrop, luminosity from the source (psd-tools #781)."""
    from qil_editor.document.compositing import blend_function

    out = composite_layers(layers, 4, 4, space=space)
    k = (below if k_from == "below" else above)[3] / 255.0

    cmy = blend_function(mode)(below[None, None, :3] / 255.0, above[None, None, :3] / 255.0)[0, 0]
    expected = np.round(cmy * 255.0) / 255.0 * round(k * 255) / 255.0 * 255.0
    assert np.abs(out[0, 0, :3] - expected).max() <= 1.5


def test_plain_conversion_round_trip_and_bad_planes():
    """Without a profile the plain formula goes both ways; planes must match the layer."""
    space = CmykSpace(None)
    rgb = np.array([[[200, 30, 90]]], np.uint8)
    back = space.to_rgb(space.from_rgb(rgb))
    assert np.abs(back.astype(int) - rgb).max() <= 1
    with pytest.raises(ValueError):
        space.keep("x", np.zeros((2, 2, 4), np.uint8), np.zeros((3, 2, 4), np.uint8))


def test_canvas_shows_the_cmyk_blend(qtbot):
    """The editor's canvas draws a CMYK file through the core compositor in CMYK."""
    pytest.importorskip("PySide6")
    from qil_editor.ui.canvas import CanvasView
    from qil_editor.ui.session import DocumentSession
    from qil_editor.ui.tasks import TaskRunner

    doc = read_psd(FILES[0])
    tasks = TaskRunner()
    view = CanvasView(DocumentSession(doc), tasks)
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    qtbot.waitExposed(view)
    try:
        assert view._flat_upto == len(doc.layers) - 1  # every layer through the core
        assert not any(view._items[ly.id].isVisible() for ly in doc.layers)
        qtbot.waitUntil(lambda: view._flat.shown_pixels is not None and not view.tasks.busy)
        got = view._flat.shown_pixels.astype(int)
        assert _errors(got, _merged(FILES[0]))[0] <= 1
    finally:
        tasks.wait()


def test_export_to_rgb_format_states_the_cmyk_difference(tmp_path):
    """OpenRaster holds RGB layers that other programs blend as RGB: the export says how far
    that picture is from the CMYK blend, in the exporters' 'approximate (up to N levels' form."""
    import re

    from qil_editor.io.ora import read_ora, write_ora

    doc = read_psd(FILES[0])
    warnings: list[str] = []
    write_ora(doc, tmp_path / "c.ora", warnings.append)
    stated = [int(m.group(1)) for w in warnings
              for m in [re.search(r"CMYK.*approximate \(up to (\d+) levels", w)] if m]
    assert stated and stated[0] > 8
    back = read_ora(tmp_path / "c.ora")
    diff = np.abs(composite(back).astype(int) - composite(doc).astype(int)).max()
    assert diff <= stated[0]


def test_saving_says_the_layers_will_blend_in_rgb():
    from qil_editor.document import save_losses

    doc = read_psd(FILES[0])
    assert any("CMYK colour mode becomes RGB" in s and "blend in RGB" in s for s in save_losses(doc))


def test_memory_estimate_counts_the_stored_ink_of_a_cmyk_file():
    """The budget check before decoding must know a CMYK file's layers cost 12 bytes a pixel
    (RGBA + the two ink pictures), not 4, or a hostile CMYK file gets past it."""
    from dataclasses import replace

    from psd_tools import PSDImage

    from qil_editor.io import psd_guard
    from qil_editor.io.psd_read import parse_psd_header

    path = FILES[0]
    header = parse_psd_header(path)
    psd = PSDImage.open(path)
    as_cmyk, _ = psd_guard.estimate_peak(psd, header, path, None)
    as_rgb, _ = psd_guard.estimate_peak(psd, replace(header, color_mode=3), path, None)
    layers_px = sum((l.bbox[2] - l.bbox[0]) * (l.bbox[3] - l.bbox[1])
                    for l in psd.descendants() if not l.is_group())
    assert as_cmyk - as_rgb >= 8 * (layers_px + header.width * header.height)

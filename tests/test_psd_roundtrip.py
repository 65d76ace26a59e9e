"""Saving a document opened from a PSD keeps what the user did not touch.

Open -> edit -> save, on every real PSD in tests/data the writer can keep
(8/16-bit RGB): every untouched layer's record (fields, tagged blocks) and
channel data are identical to the source; the edited layer changes only
where the user changed it; groups stay groups.
"""

from pathlib import Path

import numpy as np
import pytest

from clients import krita_tree, need
from qil_editor.document import (DuplicateLayer, History, MoveLayer, ReplacePixels,
                                 SetLayerProperties)
from qil_editor.io import read_psd, save_psd

ROOT = Path(__file__).resolve().parent / "data" / "psd-cases"
CASES = sorted(p.name for p in ROOT.iterdir() if p.is_dir())


def source(case):
    return next((ROOT / case).glob("src.ps*"))


def records(path):
    from psd_tools import PSDImage

    info = PSDImage.open(path)._record._get_layer_info()
    if info is None or not info.layer_records:
        return []
    return [(rec, [c.data for c in chans])
            for rec, chans in zip(info.layer_records, info.channel_image_data)]


def lossless_cases():
    out = []
    for case in CASES:
        doc = read_psd(source(case))
        if doc.source.lossless and doc.source.origins:
            out.append(case)
    return out


LOSSLESS = lossless_cases()


def test_most_cases_are_written_losslessly():
    assert len(LOSSLESS) >= 12, LOSSLESS


@pytest.mark.parametrize("case", LOSSLESS)
def test_untouched_save_keeps_every_record_and_the_merged_image(case, tmp_path):
    from psd_tools import PSDImage

    doc = read_psd(source(case))
    assert doc.save_losses() == []
    save_psd(doc, tmp_path / "out.psd")
    assert records(tmp_path / "out.psd") == records(source(case))
    a, b = PSDImage.open(source(case))._record, PSDImage.open(tmp_path / "out.psd")._record
    assert a.image_data == b.image_data and a.header == b.header
    assert (tmp_path / "out.psd").read_bytes() == source(case).read_bytes()  # byte for byte


@pytest.mark.parametrize("case", LOSSLESS)
def test_moving_one_layer_leaves_every_other_record_identical(case, tmp_path):
    doc = read_psd(source(case))
    k = len(doc.layers) // 2
    moved = doc.layers[k]
    moved_record = doc.source.origins[moved.id].record
    History(doc).push(MoveLayer(moved.id, 3, -2))
    save_psd(doc, tmp_path / "out.psd")
    before, after = records(source(case)), records(tmp_path / "out.psd")
    assert len(before) == len(after)
    changed = [i for i, (x, y) in enumerate(zip(before, after)) if x != y]
    assert len(changed) == 1
    (rec_a, data_a), (rec_b, data_b) = before[changed[0]], after[changed[0]]
    assert rec_a.name == moved_record.name
    assert (rec_b.left - rec_a.left, rec_b.top - rec_a.top) == (3, -2)
    assert (rec_b.right - rec_a.right, rec_b.bottom - rec_a.bottom) == (3, -2)
    assert data_b == data_a  # channel data as read
    assert (rec_b.name, rec_b.opacity, rec_b.blend_mode, rec_b.clipping) == (
        rec_a.name, rec_a.opacity, rec_a.blend_mode, rec_a.clipping)
    if rec_a.mask_data is not None:
        assert (rec_b.mask_data.left - rec_a.mask_data.left,
                rec_b.mask_data.top - rec_a.mask_data.top) == (3, -2)
    # and it reads back as the document we saved
    back = read_psd(tmp_path / "out.psd")
    assert [ly.bbox for ly in back.layers] == [ly.bbox for ly in doc.layers]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(back.layers, doc.layers))


def test_moving_text_moves_its_transform_and_keeps_it_live(tmp_path):
    from psd_tools import PSDImage
    from psd_tools.constants import Tag

    doc = read_psd(source("text-layer"))
    text = next(ly for ly in doc.layers if ly.name == "Test text")
    History(doc).push(MoveLayer(text.id, 5, 7))
    assert doc.save_losses() == []
    save_psd(doc, tmp_path / "out.psd")
    get = lambda p: next(ly for ly in PSDImage.open(p).descendants() if ly.name == "Test text")
    a, b = get(source("text-layer")), get(tmp_path / "out.psd")
    assert b.kind == "type" and b.text == a.text
    ta = a._record.tagged_blocks.get_data(Tag.TYPE_TOOL_OBJECT_SETTING).transform
    tb = b._record.tagged_blocks.get_data(Tag.TYPE_TOOL_OBJECT_SETTING).transform
    assert (tb[4] - ta[4], tb[5] - ta[5]) == (5, 7) and tb[:4] == ta[:4]


def test_psd_tools_composite_changes_only_where_the_moved_layer_is(tmp_path):
    from psd_tools import PSDImage

    doc = read_psd(source("layers"))
    layer = doc.layers[-1]
    old_box = layer.bbox
    History(doc).push(MoveLayer(layer.id, 4, 3))
    save_psd(doc, tmp_path / "out.psd")
    a = np.asarray(PSDImage.open(source("layers")).composite(force=True).convert("RGBA")).astype(int)
    b = np.asarray(PSDImage.open(tmp_path / "out.psd").composite(force=True).convert("RGBA")).astype(int)
    outside = np.ones(a.shape[:2], bool)
    for l, t, r, bt in (old_box, layer.bbox):
        outside[max(t, 0):max(bt, 0), max(l, 0):max(r, 0)] = False
    assert np.abs(a - b)[outside].max(initial=0) == 0
    assert np.abs(a - b).max() > 0


def test_editing_pixels_of_a_text_layer_says_so_and_writes_pixels(tmp_path):
    from psd_tools import PSDImage

    doc = read_psd(source("text-layer"))
    text = next(ly for ly in doc.layers if ly.name == "Test text")
    others = [ly for ly in doc.layers if ly is not text]
    px = text.pixels.copy()
    px[..., :3] = 255 - px[..., :3]
    History(doc).push(ReplacePixels(text.id, px))
    assert doc.save_losses() == ["live text layer 'Test text' becomes pixels"]
    save_psd(doc, tmp_path / "out.psd")
    psd = PSDImage.open(tmp_path / "out.psd")
    kinds = {ly.name: ly.kind for ly in psd.descendants()}
    assert kinds["Test text"] == "pixel"
    back = {ly.name: ly for ly in read_psd(tmp_path / "out.psd").layers}
    assert np.array_equal(back["Test text"].pixels, px)
    for ly in others:  # untouched records, byte for byte
        assert back[ly.name].bbox == ly.bbox and np.array_equal(back[ly.name].pixels, ly.pixels)


def test_editing_a_plain_layer_keeps_its_name_mask_and_blocks(tmp_path):
    doc = read_psd(source("layer-mask"))
    layer = doc.layers[0]
    rec = doc.source.origins[layer.id].record
    px = layer.pixels.copy()
    px[..., 0] = 7
    hist = History(doc)
    hist.push(ReplacePixels(layer.id, px))
    hist.push(SetLayerProperties(layer.id, name="Renamed ✨", opacity=0.5))
    save_psd(doc, tmp_path / "out.psd")
    ((out_rec, _),) = [r for r in records(tmp_path / "out.psd")]
    assert out_rec.mask_data is not None and out_rec.mask_data.left == rec.mask_data.left
    back = read_psd(tmp_path / "out.psd").layers[0]
    assert back.name == "Renamed ✨" and back.opacity == pytest.approx(0.5, abs=1 / 255)
    assert np.array_equal(back.pixels, px)
    assert np.array_equal(back.mask.pixels, layer.mask.pixels)


def test_layers_in_groups_keep_their_own_values_and_new_layers_join_the_group(tmp_path):
    from psd_tools import PSDImage

    doc = read_psd(source("groups"))
    inside = next(ly for ly in doc.layers if ly.name.startswith("Group 1/"))
    hist = History(doc)
    hist.push(SetLayerProperties(inside.id, name="Group 1/Renamed"))
    hist.push(DuplicateLayer(inside.id))
    save_psd(doc, tmp_path / "out.psd")
    psd = PSDImage.open(tmp_path / "out.psd")
    group = next(ly for ly in psd if ly.is_group())
    assert group.name == "Group 1"
    assert {"Renamed", "Renamed copy"} <= {ly.name for ly in group}  # stored without the path
    back = read_psd(tmp_path / "out.psd")
    assert [ly.name for ly in back.layers] == [ly.name for ly in doc.layers]
    assert [round(ly.opacity, 3) for ly in back.layers] == [round(ly.opacity, 3) for ly in doc.layers]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["groups", "nested", "text-layer"])
def test_krita_reads_a_moved_psd_with_its_groups(case, tmp_path):
    """Open -> move -> save: Krita builds the same groups and layers as from the original
    (and for a plain grouped file, the tree psd-tools reads)."""
    from psd_tools import PSDImage

    need("krita", "xvfb-run")
    doc = read_psd(source(case))
    History(doc).push(MoveLayer(doc.layers[-1].id, 2, 1))
    out = tmp_path / "moved.psd"
    save_psd(doc, out)

    def psd_tree(group):
        return [(ly.name, psd_tree(ly) if ly.is_group() else []) for ly in reversed(list(group))]

    ours = krita_tree(out, tmp_path)
    assert ours == krita_tree(source(case), tmp_path)
    assert psd_tree(PSDImage.open(out)) == psd_tree(PSDImage.open(source(case)))
    if case == "groups":
        assert ours == psd_tree(PSDImage.open(out))

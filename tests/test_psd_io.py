"""PSD writing, round trips, atomic saving and PNG/ZIP export."""

import errno
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from pictures import solid
from qil_editor.document import BlendMode, Document, Layer, composite
from qil_editor.errors import OutputFileError, UsageError
from qil_editor.io import (atomic_write, export_flat_png, export_layers_png, export_layers_zip,
                           layer_file_names, read_psd, save_document, save_psd)
from qil_editor.io import atomic as atomic_mod
from qil_editor.io import psd_write


def random_layer(rng, name, max_side=40, **kw):
    h, w = (int(v) for v in rng.integers(1, max_side, 2))
    px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    edge = rng.integers(0, 4, (h, w))
    px[..., 3] = np.where(edge == 0, 0, np.where(edge == 1, 255, px[..., 3]))  # 0 / 255 / semi
    return Layer(px, name=name, **kw)


def generated_document(seed=0) -> Document:
    rng = np.random.default_rng(seed)
    w, h = (int(v) for v in rng.integers(8, 90, 2))
    names = ["Background", "Ünïcødé ✨🎨 layer", "😀" * 3, "x" * 300, "Ebene/Gruppe: \"quoted\"", "日本語"]
    layers = []
    for i, mode in enumerate(BlendMode):
        layers.append(random_layer(
            rng, names[i % len(names)] + f" {i}", x=int(rng.integers(-60, w + 30)),
            y=int(rng.integers(-60, h + 30)), opacity=int(rng.integers(0, 256)) / 255,
            visible=bool(rng.integers(0, 4)), blend_mode=mode, locked=bool(rng.integers(0, 2))))
    layers.append(Layer(np.zeros((5, 7, 4), np.uint8), name="fully transparent", x=-3, y=2))
    layers.append(Layer(np.zeros((0, 0, 4), np.uint8), name="empty 0x0", x=4, y=6))
    layers.append(Layer(np.full((3, 3, 4), 255, np.uint8), name="far away", x=10_000, y=-10_000))
    return Document(w, h, layers)


def assert_same_layers(a: Document, b: Document):
    assert (b.width, b.height) == (a.width, a.height)
    assert len(b.layers) == len(a.layers)
    for la, lb in zip(a.layers, b.layers):
        assert lb.properties() == la.properties(), la.name
        assert lb.pixels.shape == la.pixels.shape and np.array_equal(lb.pixels, la.pixels), la.name


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_generated_documents(tmp_path, seed):
    doc = generated_document(seed)
    save_psd(doc, tmp_path / "doc.psd")
    back = read_psd(tmp_path / "doc.psd")
    assert_same_layers(doc, back)
    assert back.path == str(tmp_path / "doc.psd")
    save_psd(back, tmp_path / "again.psd")  # and the second generation is byte-identical
    assert (tmp_path / "again.psd").read_bytes() == (tmp_path / "doc.psd").read_bytes()


def test_arbitrary_opacity_rounds_to_the_nearest_level(tmp_path):
    doc = Document(4, 4, [Layer(np.full((4, 4, 4), 200, np.uint8), opacity=0.3337)])
    save_psd(doc, tmp_path / "o.psd")
    assert read_psd(tmp_path / "o.psd").layers[0].opacity == pytest.approx(0.3337, abs=0.5 / 255)


def test_file_is_what_photoshop_writes(tmp_path):
    from psd_tools import PSDImage
    from psd_tools.constants import ColorMode, Compression

    doc = generated_document(3)
    path = tmp_path / "doc.psd"
    save_psd(doc, path)
    psd = PSDImage.open(path)
    assert psd.color_mode == ColorMode.RGB and psd.depth == 8 and psd.channels == 4 and psd.version == 1
    records = psd._record.layer_and_mask_information.layer_info.layer_records
    channels = psd._record.layer_and_mask_information.layer_info.channel_image_data
    assert psd._record.layer_and_mask_information.layer_info.layer_count == -len(doc.layers)
    for layer, record, data in zip(doc.layers, records, channels):
        assert [c.id for c in record.channel_info] == [-1, 0, 1, 2]
        if layer.width:
            assert all(c.compression == Compression.RLE for c in data)
        assert record.tagged_blocks.get_data(b"luni") == layer.name
    assert [ly.name for ly in psd] == [ly.name for ly in doc.layers]
    # The merged image shows the picture (stored over white; psd-tools undoes that).
    merged = np.asarray(psd.topil().convert("RGBA")).astype(int)
    ours = composite(doc).astype(int)
    assert np.abs(merged[..., 3] - ours[..., 3]).max() == 0
    shown = ours[..., 3] > 16
    assert np.abs(merged - ours)[shown].max() <= 16 * 255 // 255 + 1  # over-white rounding at low alpha
    opaque = ours[..., 3] == 255
    assert opaque.sum() == 0 or np.abs(merged - ours)[opaque].max() == 0
    assert psd.thumbnail() is not None and max(psd.thumbnail().size) <= 160


def test_psb_for_wide_canvases(tmp_path):
    from psd_tools import PSDImage

    # psd-tools reads layers up to 30000 px a side, even in PSB files.
    px = np.zeros((2, 30000, 4), np.uint8)
    px[:, ::7] = (10, 20, 30, 255)
    doc = Document(31000, 2, [Layer(px, name="wide", x=700)])
    save_psd(doc, tmp_path / "wide.psb")
    assert PSDImage.open(tmp_path / "wide.psb").version == 2
    assert_same_layers(doc, read_psd(tmp_path / "wide.psb"))


# ----- atomic saving -----------------------------------------------------------------
class FullDisk(io.BufferedWriter):
    """A file that takes ``room`` bytes, then fails like a full disk."""

    def __init__(self, raw, room):
        super().__init__(raw)
        self.room = room

    def write(self, data):
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def simulate_full_disk(monkeypatch, room):
    real = atomic_mod._open_temp

    def open_temp(target):
        fh, tmp = real(target)
        raw = fh.detach()
        return FullDisk(raw, room), tmp

    monkeypatch.setattr(atomic_mod, "_open_temp", open_temp)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("room", [0, 100, 5000])
def test_disk_full_keeps_the_old_file(tmp_path, monkeypatch, room):
    doc = generated_document(1)
    target = tmp_path / "keep.psd"
    target.write_bytes(b"old contents")
    simulate_full_disk(monkeypatch, room)
    with pytest.raises(OutputFileError) as info:
        save_psd(doc, target)
    assert "disk is full" in str(info.value) and "keep.psd" in str(info.value)
    assert target.read_bytes() == b"old contents"
    assert leftovers(tmp_path) == []


def test_disk_full_leaves_no_partial_new_file(tmp_path, monkeypatch):
    simulate_full_disk(monkeypatch, 1000)
    for save, name in ((save_psd, "new.psd"), (export_layers_zip, "new.zip"), (export_flat_png, "new.png")):
        with pytest.raises(OutputFileError):
            save(generated_document(2), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder(tmp_path, monkeypatch):
    # Tests run as root, where chmod does not stop writes: simulate what a user sees.
    def refuse(target):
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr(atomic_mod, "_open_temp", refuse)
    with pytest.raises(OutputFileError) as info:
        save_psd(generated_document(0), tmp_path / "x.psd")
    assert "no permission" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failure_in_the_middle_of_writing(tmp_path, monkeypatch):
    target = tmp_path / "doc.psd"
    save_psd(generated_document(0), target)
    before = target.read_bytes()
    calls = {"n": 0}
    real = psd_write._rle_stream  # every channel, layers' and merged, is encoded by it

    def failing(plane, write):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("boom")
        return real(plane, write)

    monkeypatch.setattr(psd_write, "_rle_stream", failing)
    with pytest.raises(RuntimeError):
        save_psd(generated_document(4), target)
    assert target.read_bytes() == before and leftovers(tmp_path) == []


def test_bad_targets(tmp_path):
    doc = generated_document(0)
    (tmp_path / "folder.psd").mkdir()
    with pytest.raises(OutputFileError, match="folder"):
        save_psd(doc, tmp_path / "folder.psd")
    with pytest.raises(OutputFileError, match="does not exist"):
        save_psd(doc, tmp_path / "missing" / "x.psd")
    with pytest.raises(UsageError):
        save_document(doc, tmp_path / "x.bmp")


def test_atomic_write_replaces_in_one_step(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as fh:
        fh.write(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the end
    assert target.read_bytes() == b"new" and leftovers(tmp_path) == []


# ----- export ------------------------------------------------------------------------
def export_doc():
    a = Layer(np.full((4, 4, 4), (255, 0, 0, 255), np.uint8), name="Back/ground")
    b = Layer(np.full((2, 3, 4), (0, 0, 255, 200), np.uint8), name="Sky: *blue*?", x=-1, y=2, opacity=128 / 255)
    c = Layer(np.zeros((0, 0, 4), np.uint8), name="   ")
    return Document(4, 4, [a, b, c])


def test_layer_file_names_are_safe_and_numbered_bottom_up():
    names = layer_file_names(export_doc())
    assert names == ["00_Back_ground.png", "01_Sky_ _blue_.png", "02_Layer.png"]


def test_export_layers_png_folder_and_zip(tmp_path):
    doc = export_doc()
    written = export_layers_png(doc, tmp_path / "out")
    assert [p.name for p in written] == layer_file_names(doc)
    sky = np.asarray(Image.open(written[1]))
    assert sky.shape == (4, 4, 4)
    assert tuple(sky[2, 0]) == (0, 0, 255, 100) and sky[2, 2, 3] == 0 and sky[1, 0, 3] == 0
    assert np.asarray(Image.open(written[2]))[..., 3].max() == 0
    export_layers_zip(doc, tmp_path / "layers.zip")
    with zipfile.ZipFile(tmp_path / "layers.zip") as zf:
        assert zf.namelist() == layer_file_names(doc)
        assert zf.read(layer_file_names(doc)[1]) == written[1].read_bytes()


def test_save_document_dispatches_on_extension(tmp_path):
    doc = export_doc()
    assert save_document(doc, tmp_path / "a.psd") == "psd"
    assert_same_layers(doc, read_psd(tmp_path / "a.psd"))
    assert save_document(doc, tmp_path / "flat.png") == "png"
    assert np.array_equal(np.asarray(Image.open(tmp_path / "flat.png")), composite(doc))
    assert save_document(doc, tmp_path / "l.zip") == "zip"
    assert save_document(doc, tmp_path / "folder") == "folder"
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == layer_file_names(doc)


# ----- reading what other programs write: groups, clipping, masks, adjustments --------------
def test_groups_clipping_and_masks_flatten_to_the_same_picture(tmp_path):
    from psd_tools import PSDImage
    from psd_tools.constants import BlendMode as PsdBlend

    psd = PSDImage.new("RGBA", (40, 30), color=(0, 0, 0, 0))
    psd.create_pixel_layer_from_array(solid(30, 40, (240, 240, 240)), name="bg")
    a = psd.create_pixel_layer_from_array(solid(10, 10, (255, 0, 0)), name="a", top=2, left=2)
    b = psd.create_pixel_layer_from_array(solid(10, 10, (0, 0, 255)), name="b", top=2, left=20)
    psd.create_group([a, b], name="G", opacity=128)
    c = psd.create_pixel_layer_from_array(solid(8, 8, (0, 200, 0)), name="c", top=15, left=5)
    psd.create_group([c], name="Hidden").visible = False
    base = np.pad(solid(6, 6, (250, 250, 0)), ((2, 2), (2, 2), (0, 0)))
    psd.create_pixel_layer_from_array(base, name="base", top=16, left=20)
    clip = psd.create_pixel_layer_from_array(solid(10, 14, (0, 0, 0), 200), name="clip", top=14, left=18)
    clip.clipping = True
    masked = psd.create_pixel_layer_from_array(solid(10, 10, (0, 255, 255)), name="masked", top=18, left=30)
    mask = np.zeros((10, 10), np.uint8)
    mask[:, :5] = 255
    masked.create_mask(Image.fromarray(mask), top=18, left=30)
    mul = psd.create_pixel_layer_from_array(solid(10, 10, (128, 128, 128)), name="mul", top=2, left=2)
    psd.create_group([mul], name="Mul", blend_mode=PsdBlend.MULTIPLY)
    psd.save(tmp_path / "g.psd")

    doc = read_psd(tmp_path / "g.psd")
    by_name = {layer.name: layer for layer in doc.layers}
    assert list(by_name) == ["bg", "G/a", "G/b", "Hidden/c", "base", "clip", "masked", "Mul/mul"]
    assert by_name["G/a"].opacity == pytest.approx(128 / 255)
    assert not by_name["Hidden/c"].visible
    assert by_name["Mul/mul"].blend_mode == BlendMode.MULTIPLY
    # clipping and masks stay live properties the compositor draws
    assert by_name["clip"].clipping and by_name["clip"].bbox == (18, 14, 32, 24)
    assert not any(by_name[n].clipping for n in by_name if n != "clip")
    m = by_name["masked"].mask
    assert m is not None and m.bbox == (30, 18, 40, 28) and m.default == 0
    assert m.pixels[:, :5].min() == 255 and m.pixels[:, 5:].max() == 0
    assert by_name["masked"].pixels[..., 3].min() == 255  # pixels kept as stored
    reference = np.asarray(PSDImage.open(tmp_path / "g.psd").composite().convert("RGBA")).astype(int)
    assert np.abs(composite(doc).astype(int) - reference).max() <= 1


def test_adjustment_layer_is_baked(tmp_path, monkeypatch):
    import struct

    real = psd_write._layer_record

    def with_invert(layer, version, layer_id, **kw):  # the layer named "Invert" becomes an Invert adjustment
        rec, offsets = real(layer, version, layer_id, **kw)
        if layer.name != "Invert":
            return rec, offsets
        i = rec.index(b"8BIM" + layer.blend_mode.psd_key) + 12
        (n,) = struct.unpack(">I", rec[i:i + 4])
        extra = rec[i + 4:i + 4 + n] + psd_write._tagged_block(b"nvrt", b"")
        return rec[:i] + struct.pack(">I", len(extra)) + extra, offsets

    monkeypatch.setattr(psd_write, "_layer_record", with_invert)
    doc = Document(4, 4, [Layer(solid(4, 4, (200, 100, 0)), name="Base"),
                          Layer(np.zeros((0, 0, 4), np.uint8), name="Invert", opacity=128 / 255)])
    save_psd(doc, tmp_path / "adj.psd")
    back = read_psd(tmp_path / "adj.psd")
    assert [layer.name for layer in back.layers] == ["Base", "Invert (adjustment, baked)"]
    assert tuple(composite(back)[1, 1]) == (127, 128, 128, 255)  # half-strength invert


def test_clipped_layer_in_a_faded_group_takes_group_opacity_once(tmp_path):
    from psd_tools import PSDImage

    psd = PSDImage.new("RGBA", (10, 10), color=(0, 0, 0, 0))
    base = psd.create_pixel_layer_from_array(solid(6, 6, (255, 0, 0)), name="base", top=2, left=2,
                                             opacity=200)
    clip = psd.create_pixel_layer_from_array(solid(10, 10, (0, 0, 255)), name="clip")
    clip.clipping = True
    psd.create_group([base, clip], name="G", opacity=128)
    psd.save(tmp_path / "c.psd")
    doc = read_psd(tmp_path / "c.psd")
    layers = {layer.name: layer for layer in doc.layers}
    assert layers["G/base"].opacity == pytest.approx(128 / 255 * 200 / 255)
    assert layers["G/clip"].opacity == 1.0  # group and base opacity reach it through the base
    assert layers["G/clip"].clipping
    flat = composite(doc).astype(int)
    assert flat[0, 0, 3] == 0  # the clip layer covers the canvas, but only shows inside its base
    assert np.abs(flat[5, 5] - (0, 0, 255, round(255 * 128 / 255 * 200 / 255))).max() <= 1


def test_an_empty_document_reads_back_empty(tmp_path):
    """Issue #16 bug 7: an empty document saved as PSD came back as one 'Background' layer."""
    from psd_tools import PSDImage

    from qil_editor.document import Document

    save_psd(Document(40, 30, []), tmp_path / "empty.psd")
    back = read_psd(tmp_path / "empty.psd")
    assert (back.width, back.height, len(back.layers)) == (40, 30, 0)
    assert len(list(PSDImage.open(tmp_path / "empty.psd"))) == 0

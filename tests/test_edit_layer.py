"""Re-prompting a layer: the edit engine, qil edit-layer, re-decomposition of one layer.

The slow tests run the tiny random Qwen-Image-Edit pipeline built offline
(qil make-tiny-model --kind edit) through the same loader as the real
weights. Its edits are noise; what is checked is that exactly the chosen
layer changes, how its alpha is kept or rebuilt, that its properties
survive and that one undo restores it. The pipeline always encodes its
reference image at about 1024x1024, which takes ~12 s per call with the
tiny VAE on a 2-core CPU, so these tests shrink that constant
(``VAE_IMAGE_SIZE``) to 128x128: same code path, small arrays.
"""

from __future__ import annotations

import inspect
import json
import shutil

import numpy as np
import pytest

from qil_editor.cli import main
from qil_editor.document import BlendMode, Document, History, Layer
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.edit import (EditOptions, QwenLayerEditor, check_edit_model_folder, find_edit_model,
                                     redecompose_layer)
from qil_editor.engines.edit import region as region_ops
from qil_editor.engines.jobs import CancelToken
from qil_editor.engines.qwen import SearchPlaces
from qil_editor.errors import CancelledError, ModelError, UsageError
from qil_editor.io import open_document, save_psd

NOWHERE = SearchPlaces(env={}, project_dirs=(), use_hf_cache=False)
FAST = dict(steps=2, seed=5, resolution=128, device="cpu")


@pytest.fixture(scope="module")
def tiny_edit_dir(tmp_path_factory):
    """Built through ``qil make-tiny-model DIR --kind edit``, as a user would."""
    path = tmp_path_factory.mktemp("models") / "Qwen-Image-Edit-tiny"
    assert main(["make-tiny-model", str(path), "--kind", "edit"]) == 0
    return path


@pytest.fixture(scope="module")
def small_reference():
    """Encode the pipeline's reference image at 128x128 instead of 1024x1024 (see module doc)."""
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as edit_plus

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(edit_plus, "VAE_IMAGE_SIZE", 128 * 128)
        yield


@pytest.fixture(scope="module")
def editor(small_reference):
    """One editor for the module, so the tiny model loads once."""
    return QwenLayerEditor(NOWHERE)


def make_doc() -> Document:
    bg = np.zeros((120, 160, 4), np.uint8)
    bg[...] = (245, 235, 210, 255)
    yy, xx = np.mgrid[0:64, 0:80]
    bottle = np.zeros((64, 80, 4), np.uint8)
    inside = ((xx - 40) / 28.0) ** 2 + ((yy - 32) / 22.0) ** 2 <= 1
    bottle[inside] = (200, 40, 30, 255)
    bottle[..., 3] = np.where(inside, 255, 0)
    top = np.zeros((30, 40, 4), np.uint8)
    top[4:26, 4:36] = (30, 60, 220, 180)
    return Document(160, 120, [
        Layer(bg, name="Background"),
        Layer(bottle, name="Bottle", x=30, y=24, opacity=0.8, blend_mode=BlendMode.MULTIPLY),
        Layer(top, name="Label", x=110, y=70, visible=True, locked=False),
    ])


def assert_same_layer(a: Layer, b: Layer) -> None:
    assert a.name == b.name and (a.x, a.y) == (b.x, b.y) and a.blend_mode == b.blend_mode
    assert a.visible == b.visible and a.locked == b.locked and abs(a.opacity - b.opacity) < 1 / 255
    assert np.array_equal(a.pixels, b.pixels)


# ----- model folders (no torch) ------------------------------------------------------

def test_no_weights_is_a_model_error_that_says_what_to_download():
    editor = QwenLayerEditor(NOWHERE)
    avail = editor.availability(EditOptions(prompt="x"))
    assert not avail.ok
    assert "Qwen-Image-Edit-2509" in avail.reason and "QIL_EDIT_MODEL_DIR" in avail.reason
    with pytest.raises(ModelError) as err:
        find_edit_model(None, NOWHERE)
    assert err.value.exit_code == 4 and "hf download" in err.value.hint


def test_env_var_and_project_folder_are_searched(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ModelError, match="does not exist"):
        find_edit_model(None, SearchPlaces(env={"QIL_EDIT_MODEL_DIR": str(missing)}, project_dirs=(),
                                           use_hf_cache=False))
    with pytest.raises(ModelError, match=str(missing)):
        find_edit_model(None, SearchPlaces(env={}, project_dirs=(missing,), use_hf_cache=False))


@pytest.mark.parametrize("cls,words", [("QwenImageLayeredPipeline", "Qwen-Image-Layered"),
                                       ("QwenImageEditPipeline", "2508"),
                                       ("StableDiffusionPipeline", "StableDiffusionPipeline")])
def test_a_different_model_is_named_in_the_error(tmp_path, cls, words):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": cls}))
    with pytest.raises(ModelError) as err:
        check_edit_model_folder(tmp_path)
    assert words in str(err.value)


def test_edit_pipeline_has_no_strength_setting():
    """The dialog hides strength because the pipeline has none; notice if diffusers adds it."""
    from diffusers import QwenImageEditPlusPipeline

    from qil_editor.engines.edit.run import HAS_STRENGTH

    assert ("strength" in inspect.signature(QwenImageEditPlusPipeline.__call__).parameters) == HAS_STRENGTH


def test_options_are_checked():
    with pytest.raises(UsageError, match="prompt"):
        EditOptions(prompt="  ")
    with pytest.raises(UsageError):
        EditOptions(prompt="x", shape="round")
    with pytest.raises(UsageError):
        EditOptions(prompt="x", steps=0)
    with pytest.raises(UsageError):
        EditOptions(prompt="x", memory="lots")


# ----- placement (no model) ------------------------------------------------------------

def test_region_holds_the_content_with_a_margin_and_may_leave_the_layer():
    pixels = np.zeros((50, 60, 4), np.uint8)
    pixels[0:10, 40:60, 3] = 255
    region = region_ops.edit_region(pixels[..., 3], margin=0.25, min_margin=4)
    assert (region.x0, region.y0, region.x1, region.y1) == (35, -5, 65, 15)
    crop = region_ops.crop(pixels, region)
    assert crop.shape == (20, 30, 4) and crop[..., 3].sum() == pixels[..., 3].sum()
    with pytest.raises(UsageError, match="empty"):
        region_ops.edit_region(np.zeros((5, 5), np.uint8))


def test_new_shape_grows_the_layer_only_where_new_content_reaches():
    pixels = np.zeros((40, 40, 4), np.uint8)
    pixels[2:30, 2:30] = (255, 0, 0, 255)
    prepared = region_ops.prepare(pixels, "new", margin=0.5)
    region = prepared.region
    assert (region.x0, region.y0, region.x1, region.y1) == (-12, -12, 44, 44)
    result = np.zeros((region.height, region.width, 4), np.uint8)
    result[0:5, 0:5] = (0, 0, 255, 255)  # new content in the margin, up-left of the layer
    out, dx, dy = region_ops.place(pixels, prepared, result, "new")
    assert (dx, dy) == (-12, -12) and out.shape == (52, 52, 4)
    assert out[0:5, 0:5, 3].min() == 255 and int(out[..., 3].sum()) == 25 * 255
    inside = np.zeros_like(result)
    inside[20:30, 20:30] = (0, 0, 255, 255)
    out, dx, dy = region_ops.place(pixels, prepared, inside, "new")
    assert (dx, dy) == (0, 0) and out.shape == pixels.shape
    assert out[8:18, 8:18, 3].min() == 255 and int(out[..., 3].sum()) == 100 * 255


def test_keep_shape_placement_changes_colours_only():
    pixels = np.zeros((40, 40, 4), np.uint8)
    pixels[2:30, 2:30] = (255, 0, 0, 200)
    prepared = region_ops.prepare(pixels, "keep", margin=0.5)
    result = np.full((prepared.region.height, prepared.region.width, 4), 77, np.uint8)
    out, dx, dy = region_ops.place(pixels, prepared, result, "keep")
    assert (dx, dy) == (0, 0) and np.array_equal(out[..., 3], pixels[..., 3])
    assert (out[..., :3] == 77).all()


# ----- the tiny model -----------------------------------------------------------------------

@pytest.mark.slow
def test_tiny_edit_model_folder_passes_the_check(tiny_edit_dir):
    assert json.loads((tiny_edit_dir / "model_index.json").read_text())["_class_name"] == \
        "QwenImageEditPlusPipeline"
    folder = check_edit_model_folder(tiny_edit_dir)
    assert set(folder.params) == {"transformer", "text_encoder", "vae"}
    assert all(n > 0 for n in folder.params.values())


@pytest.mark.slow
def test_keep_shape_edit_keeps_alpha_and_properties_and_undoes(editor, tiny_edit_dir):
    doc = make_doc()
    before = [layer.copy() for layer in doc.layers]
    bottle = doc.layers[1]
    steps = []
    edit = editor.edit_layer(bottle, EditOptions(prompt="make the bottle blue glass", shape="keep",
                                                 model_dir=str(tiny_edit_dir), **FAST), steps.append)
    assert [p.step for p in steps if p.message == "Editing the layer"][-2:] == [1, 2]
    assert_same_layer(doc.layers[1], before[1])  # nothing changes before the command runs
    assert np.array_equal(edit.pixels[..., 3], bottle.pixels[..., 3])
    assert not np.array_equal(edit.pixels[..., :3], bottle.pixels[..., :3])
    history = History(doc)
    history.push(edit.command())
    assert len(history) == 1
    edited = doc.layers[1]
    assert edited.id == bottle.id and edited.name == "Bottle" and (edited.x, edited.y) == (30, 24)
    assert edited.opacity == pytest.approx(0.8) and edited.blend_mode == BlendMode.MULTIPLY
    assert_same_layer(doc.layers[0], before[0])
    assert_same_layer(doc.layers[2], before[2])
    history.undo()
    for layer, old in zip(doc.layers, before):
        assert_same_layer(layer, old)
    # same seed, same result
    again = editor.edit_layer(bottle, EditOptions(prompt="make the bottle blue glass", shape="keep",
                                                  model_dir=str(tiny_edit_dir), **FAST))
    assert np.array_equal(again.pixels, edit.pixels)
    assert editor.load_count == 1


@pytest.mark.slow
def test_cancel_lands_within_a_step_and_changes_nothing(editor, tiny_edit_dir, monkeypatch):
    """Defect 7: the old test checked neither "within one step" nor "document unchanged"."""
    from diffusers import AutoencoderKLQwenImage, QwenImageTransformer2DModel

    from qil_editor.engines.jobs import JobState, edit_job

    doc = make_doc()
    before = [layer.copy() for layer in doc.layers]
    history = History(doc)
    token = CancelToken()
    calls = {"forward": 0, "decode": 0}
    at_cancel = {}
    forward, decode = QwenImageTransformer2DModel.forward, AutoencoderKLQwenImage.decode

    def counting_forward(self, *args, **kwargs):
        calls["forward"] += 1
        return forward(self, *args, **kwargs)

    def counting_decode(self, *args, **kwargs):
        calls["decode"] += 1
        return decode(self, *args, **kwargs)

    monkeypatch.setattr(QwenImageTransformer2DModel, "forward", counting_forward)
    monkeypatch.setattr(AutoencoderKLQwenImage, "decode", counting_decode)
    steps = []

    def progress(p):
        steps.append(p.step)
        if p.step == 1 and not token.cancelled:
            token.cancel()
            at_cancel.update(calls)

    options = EditOptions(prompt="x", model_dir=str(tiny_edit_dir), **dict(FAST, steps=6))
    job = edit_job(editor, doc.layers[1], options, progress, token)
    with pytest.raises(CancelledError):
        job.run()
    assert job.state == JobState.CANCELLED and job.result is None
    assert at_cancel and calls == at_cancel, "no transformer call or decode after the cancel"
    assert max(steps) == 1
    assert len(history) == 0 and len(doc) == len(before)
    for layer, old in zip(doc.layers, before):
        assert_same_layer(layer, old)
    # the pipeline is left ready: the next edit runs normally
    monkeypatch.undo()
    done = editor.edit_layer(doc.layers[1], EditOptions(prompt="x", model_dir=str(tiny_edit_dir), **FAST))
    assert done.pixels.shape[2] == 4


# ----- the CLI ----------------------------------------------------------------------------------

@pytest.fixture
def psd(tmp_path):
    doc = make_doc()
    path = tmp_path / "in.psd"
    save_psd(doc, path)
    return path


def run_cli(*args) -> int:
    return main(["edit-layer", *map(str, args), "--steps", "2", "--seed", "3", "--resolution", "128",
                 "--device", "cpu", "-q"])


@pytest.mark.slow
@pytest.mark.parametrize("keep", [True, False])
def test_cli_edits_exactly_the_chosen_layer(psd, tmp_path, tiny_edit_dir, small_reference, keep, capsys):
    out = tmp_path / "out.psd"
    layer_ref = "Bottle" if keep else "1"
    extra = ["--keep-shape"] if keep else []
    assert run_cli(psd, "--layer", layer_ref, "--prompt", "turn it into a cat", "-o", out,
                   "--model", tiny_edit_dir, *extra) == 0
    assert "seed 3" in capsys.readouterr().out
    src, res = open_document(psd), open_document(out)
    assert [ly.name for ly in res.layers] == ["Background", "Bottle", "Label"]
    assert_same_layer(res.layers[0], src.layers[0])
    assert_same_layer(res.layers[2], src.layers[2])
    old, new = src.layers[1], res.layers[1]
    assert (new.name, new.blend_mode, new.visible) == (old.name, old.blend_mode, old.visible)
    assert new.opacity == pytest.approx(old.opacity, abs=1 / 255)
    if keep:
        assert (new.x, new.y) == (old.x, old.y)
        assert np.array_equal(new.pixels[..., 3], old.pixels[..., 3])
        assert not np.array_equal(new.pixels[..., :3], old.pixels[..., :3])
    else:
        # a valid new alpha: something visible, inside the margin around the old content
        assert new.pixels.dtype == np.uint8 and new.pixels[..., 3].any()
        pad = 8  # the content box is 57 x 45 px at (12, 10) in the layer: margin max(8, 12.5% of 57)
        ys, xs = np.nonzero(new.pixels[..., 3])
        assert xs.min() + new.x >= old.x + 12 - pad and xs.max() + new.x < old.x + 69 + pad
        assert ys.min() + new.y >= old.y + 10 - pad and ys.max() + new.y < old.y + 55 + pad
        # the layer only grows: its old area keeps its place on the canvas
        assert new.x <= old.x and new.y <= old.y
        assert not np.array_equal(new.pixels, old.pixels)


@pytest.mark.parametrize("setup", ["missing", "env", "truncated", "not-json", "layered"])
def test_cli_without_usable_weights_exits_4_and_writes_nothing(psd, tmp_path, setup, monkeypatch, capsys,
                                                                request):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("QIL_EDIT_MODEL_DIR", raising=False)
    model = tmp_path / "model"
    args = ["--model", model]
    if setup == "missing":
        pass
    elif setup == "env":
        monkeypatch.setenv("QIL_EDIT_MODEL_DIR", str(model))
        args = []
    elif setup == "layered":
        model.mkdir()
        (model / "model_index.json").write_text(json.dumps({"_class_name": "QwenImageLayeredPipeline"}))
    else:
        shutil.copytree(request.getfixturevalue("tiny_edit_dir"), model)
        if setup == "truncated":
            weights = next((model / "transformer").glob("*.safetensors"))
            weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        else:
            (model / "model_index.json").write_text("{ not json")
    before = psd.read_bytes()
    out = tmp_path / "out.psd"
    assert run_cli(psd, "--layer", "Bottle", "--prompt", "blue", "-o", out, *args) == 4
    err = capsys.readouterr().err
    assert "qil: error:" in err and "Traceback" not in err
    assert ("Qwen-Image-Edit" in err or "edit model" in err) and str(model) in err
    assert not out.exists() and psd.read_bytes() == before


@pytest.mark.slow
def test_weights_that_fail_to_load_are_a_model_error(tiny_edit_dir, tmp_path, small_reference):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_edit_dir, broken)
    config = json.loads((broken / "transformer" / "config.json").read_text())
    config["attention_head_dim"] = 8  # header sizes still match their files; the shapes do not
    (broken / "transformer" / "config.json").write_text(json.dumps(config))
    editor = QwenLayerEditor(NOWHERE)
    with pytest.raises(ModelError, match="Could not load Qwen-Image-Edit"):
        editor.edit_layer(make_doc().layers[1], EditOptions(prompt="x", model_dir=str(broken), **FAST))


@pytest.mark.parametrize("where", ["here", "server"])
def test_cli_export_warnings_are_qil_warning_lines(psd, tmp_path, monkeypatch, capsys, where):
    """What the output format cannot hold (Bottle's Multiply in a .pptx) is said as
    ``qil: warning:`` lines, as convert and decompose say it, with or without --server."""
    import warnings
    from types import SimpleNamespace

    import qil_editor.engines.edit as edit_pkg
    import qil_editor.engines.remote as remote_mod
    from qil_editor.cli import edit_layer as cli_edit
    from qil_editor.document import SetLayerProperties
    from qil_editor.io.export import ExportWarning

    def edit_of(layer):
        return SimpleNamespace(seed=3, seconds=0.0, command=lambda: SetLayerProperties(layer.id, opacity=0.5))

    class Editor:  # the model and the server are not what this is about
        def __init__(self, *args, **kwargs):
            pass

        def locate(self, options):
            pass

        def edit_layer(self, layer, options, progress, cancel):
            return edit_of(layer)

    monkeypatch.setattr(edit_pkg, "QwenLayerEditor", Editor)
    monkeypatch.setattr(remote_mod, "RemoteLayerEditor", Editor)
    monkeypatch.setattr(cli_edit, "edit_job", lambda editor, layer, options, progress:
                        SimpleNamespace(run=lambda: edit_of(layer)))
    out = tmp_path / "out.pptx"
    server = ["--server", "http://127.0.0.1:9"] if where == "server" else []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExportWarning)
        assert run_cli(psd, "--layer", "Bottle", "--prompt", "x", "-o", out, *server) == 0
    said = capsys.readouterr()
    assert "qil: warning:" in said.err and "Bottle" in said.err and out.exists()
    on = " on http://127.0.0.1:9" if where == "server" else ""
    assert f"edited layer 1 ('Bottle'){on}, seed 3, 0.0 s; wrote {out} (" in said.out


def test_cli_usage_errors_exit_2(psd, tmp_path, capsys):
    out = tmp_path / "out.psd"
    assert run_cli(psd, "--layer", "Nope", "--prompt", "x", "-o", out, "--model", tmp_path) == 2
    assert "no layer named 'Nope'" in capsys.readouterr().err
    assert run_cli(psd, "--layer", "7", "--prompt", "x", "-o", out, "--model", tmp_path) == 2
    assert run_cli(psd, "--layer", "0", "--prompt", " ", "-o", out, "--model", tmp_path) == 2
    assert not out.exists()


# ----- re-decompose one layer ----------------------------------------------------------------

class HalvesDecomposer:
    """A fake engine: left and right halves of the image as two canvas-size layers."""

    name, label = "halves", "Halves"

    def __init__(self):
        self.calls = []

    def availability(self, options=None):
        from qil_editor.engines.base import Availability

        return Availability(True)

    def decompose(self, image, options, progress=None, cancel=None):
        self.calls.append((image.shape, options))
        h, w = image.shape[:2]
        left, right = np.zeros_like(image), np.zeros_like(image)
        left[:, : w // 2], right[:, w // 2:] = image[:, : w // 2], image[:, w // 2:]
        right[0, 0] = (1, 2, 3, 255)  # outside the layer's coverage: must be cut away
        return Document(w, h, [Layer(left, name="Background"), Layer(right, name="Layer 1")])


def test_redecompose_replaces_the_layer_by_placed_sub_layers_in_one_step():
    doc = make_doc()
    bottle = doc.layers[1]
    engine = HalvesDecomposer()
    split = redecompose_layer(bottle, engine, DecomposeOptions(layers=2, prompt="bottle and label"))
    (shape, options), = engine.calls
    assert shape == (45, 57, 4) and options.prompt == "bottle and label"  # the content's box only
    before = [ly.copy() for ly in doc.layers]
    history = History(doc)
    history.push(split.command())
    assert [ly.name for ly in doc.layers] == ["Background", "Bottle 1", "Bottle 2", "Label"]
    for part in doc.layers[1:3]:
        assert (part.x, part.y) == (30 + 12, 24 + 10)
        assert part.opacity == pytest.approx(0.8) and part.blend_mode == BlendMode.MULTIPLY
        assert not part.pixels[0, 0].any()
    # the parts put together are the layer
    merged = doc.layers[1].pixels.astype(int) + doc.layers[2].pixels.astype(int)
    assert np.array_equal(merged.astype(np.uint8), bottle.pixels[10:55, 12:69])
    history.undo()
    for layer, old in zip(doc.layers, before):
        assert_same_layer(layer, old)
    assert doc.layers[1].id == bottle.id


def test_redecompose_of_an_empty_layer_is_refused():
    empty = Layer(np.zeros((4, 4, 4), np.uint8), name="Empty")
    with pytest.raises(UsageError, match="empty"):
        redecompose_layer(empty, HalvesDecomposer(), DecomposeOptions(layers=2))


@pytest.mark.slow
def test_redecompose_with_the_tiny_layered_model(tiny_model_dir):
    from qil_editor.engines.qwen import QwenDecomposer

    doc = make_doc()
    bottle = doc.layers[1]
    split = redecompose_layer(bottle, QwenDecomposer(NOWHERE),
                              DecomposeOptions(layers=2, steps=1, resolution=640, seed=1, prompt="a red bottle",
                                               model_dir=str(tiny_model_dir), device="cpu"))
    assert len(split.new_layers) == 2
    coverage = bottle.pixels[10:55, 12:69, 3] > 0
    for part in split.new_layers:
        assert part.pixels.shape == (45, 57, 4) and (part.x, part.y) == (42, 34)
        assert not part.pixels[~coverage].any()
    History(doc).push(split.command())
    assert len(doc) == 4


class DiskDecomposer:
    """A fake Qwen-Image-Layered: background plus a disk as the top layer."""

    name, label = "disk", "Disk"

    def __init__(self):
        self.seen = []

    def availability(self, options=None):
        from qil_editor.engines.base import Availability

        return Availability(True)

    def decompose(self, image, options, progress=None, cancel=None):
        self.seen.append((image.shape, options.layers, options.prompt))
        h, w = image.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        top = np.zeros_like(image)
        top[..., :3] = image[..., :3]
        top[..., 3] = np.where(np.hypot(xx - w / 2, yy - h / 2) < min(h, w) / 4, 255, 0)
        bottom = image.copy()
        return Document(w, h, [Layer(bottom, name="Background"), Layer(top, name="Layer 1")])


@pytest.mark.slow
def test_layered_alpha_method_takes_the_top_layers_alpha(tiny_edit_dir, small_reference):
    fake = DiskDecomposer()
    editor = QwenLayerEditor(NOWHERE, layered=fake)
    bottle = make_doc().layers[1]
    edit = editor.edit_layer(bottle, EditOptions(prompt="a cat", shape="new", alpha_method="layered",
                                                 model_dir=str(tiny_edit_dir), **FAST))
    (shape, layers, prompt), = fake.seen
    assert shape == (45 + 16, 57 + 16, 4) and layers == 2 and prompt == "a cat"  # the region, margin 8
    ys, xs = np.nonzero(edit.pixels[..., 3])
    # the disk, radius ~15 px, centred on the region = the old content's centre
    cx, cy = xs.mean() + edit.x - bottle.x, ys.mean() + edit.y - bottle.y
    assert abs(cx - (12 + 69) / 2) < 1.5 and abs(cy - (10 + 55) / 2) < 1.5
    assert set(np.unique(edit.pixels[..., 3])) == {0, 255}
    with pytest.raises(ModelError, match="Qwen-Image-Layered"):
        QwenLayerEditor(NOWHERE).edit_layer(bottle, EditOptions(prompt="x", alpha_method="layered",
                                                                model_dir=str(tiny_edit_dir), **FAST))

"""Finding and checking model folders: the tiny model passes the same checks as the real one."""

import json
import shutil
import struct

import pytest

from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.qwen import QwenDecomposer, SearchPlaces, check_model_folder, find_model
from qil_editor.engines.qwen.locate import ENV_VAR, HUB_ID
from qil_editor.errors import ModelError


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    dst = tmp_path / "Qwen-Image-Layered"
    shutil.copytree(tiny_model_dir, dst)
    return dst


def test_tiny_model_has_the_real_layout(tiny_model_dir):
    index = json.loads((tiny_model_dir / "model_index.json").read_text())
    assert index["_class_name"] == "QwenImageLayeredPipeline"
    assert index["transformer"] == ["diffusers", "QwenImageTransformer2DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLQwenImage"]
    assert index["text_encoder"] == ["transformers", "Qwen2_5_VLForConditionalGeneration"]
    assert index["processor"] == ["transformers", "Qwen2VLProcessor"]
    assert not list(tiny_model_dir.rglob("*.bin"))
    folder = check_model_folder(tiny_model_dir)
    assert set(folder.params) == {"transformer", "text_encoder", "vae"}
    assert all(n > 1000 for n in folder.params.values())


def _expect(path, *words):
    with pytest.raises(ModelError) as info:
        check_model_folder(path)
    text = str(info.value)
    for word in words:
        assert word in text, text
    assert info.value.hint, "every model problem says what to do"
    return text


def test_missing_folder(tmp_path):
    _expect(tmp_path / "nope", "does not exist", "model/README.md")


def test_folder_without_model_index(tmp_path):
    _expect(tmp_path, "no model_index.json")


def test_folder_without_weights(model_copy):
    for f in (model_copy / "transformer").glob("*.safetensors"):
        f.unlink()
    _expect(model_copy, "no weights in transformer/")


def test_pickle_weights_are_refused(model_copy):
    for f in (model_copy / "vae").glob("*.safetensors"):
        f.rename(f.with_suffix(".bin"))
    _expect(model_copy, "pickle", "safetensors")


def test_truncated_safetensors(model_copy):
    f = next((model_copy / "text_encoder").glob("*.safetensors"))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    _expect(model_copy, "incomplete weights file", "text_encoder", "Download the model again")


def test_garbage_safetensors_header(model_copy):
    f = next((model_copy / "transformer").glob("*.safetensors"))
    f.write_bytes(struct.pack("<Q", 40) + b"{not json at all, just noise!!!!!!!!!!!" + b"\0" * 100)
    _expect(model_copy, "damaged weights file", "transformer")


def test_git_lfs_pointer(model_copy):
    f = next((model_copy / "vae").glob("*.safetensors"))
    f.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
    _expect(model_copy, "Git LFS pointer")


def test_missing_shard_of_sharded_weights(model_copy):
    (model_copy / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "diffusion_pytorch_model-00002-of-00002.safetensors"}}))
    _expect(model_copy, "missing 1 weights file", "00002-of-00002")


def test_wrong_model_type(model_copy):
    index = json.loads((model_copy / "model_index.json").read_text())
    index["_class_name"] = "QwenImageEditPlusPipeline"
    (model_copy / "model_index.json").write_text(json.dumps(index))
    _expect(model_copy, "Qwen-Image-Edit", "not Qwen-Image-Layered")


def test_wrong_component_class(model_copy):
    index = json.loads((model_copy / "model_index.json").read_text())
    index["transformer"] = ["diffusers", "FluxTransformer2DModel"]
    (model_copy / "model_index.json").write_text(json.dumps(index))
    _expect(model_copy, "'transformer'", "FluxTransformer2DModel")


def test_transformer_without_layer_axis(model_copy):
    cfg_file = model_copy / "transformer" / "config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["use_layer3d_rope"] = False
    cfg_file.write_text(json.dumps(cfg))
    _expect(model_copy, "not the Layered model")


def test_damaged_model_index(model_copy):
    (model_copy / "model_index.json").write_text("{ oops")
    _expect(model_copy, "damaged model_index.json")


# ----- where the engine looks -------------------------------------------------

def test_named_folder_wins_and_never_falls_back(model_copy, tmp_path):
    places = SearchPlaces(env={ENV_VAR: str(model_copy)}, project_dirs=(), use_hf_cache=False)
    assert find_model(model_copy, places).path == model_copy.resolve()
    with pytest.raises(ModelError, match="does not exist"):
        find_model(tmp_path / "elsewhere", places)


def test_env_variable_then_project_folder(model_copy, tmp_path):
    places = SearchPlaces(env={ENV_VAR: str(model_copy)}, project_dirs=(tmp_path / "none",),
                          use_hf_cache=False)
    assert find_model(None, places).source == ENV_VAR
    places = SearchPlaces(env={}, project_dirs=(tmp_path / "none", model_copy), use_hf_cache=False)
    found = find_model(None, places)
    assert found.path == model_copy.resolve() and "model/" in found.source


def test_nothing_found_lists_where_it_looked(tmp_path):
    places = SearchPlaces(env={}, project_dirs=(tmp_path / "a",), hf_cache_dir=str(tmp_path / "hf"))
    with pytest.raises(ModelError) as info:
        find_model(None, places)
    assert str(tmp_path / "a") in str(info.value) and "Hugging Face cache" in str(info.value)
    assert "QIL_MODEL_DIR" in info.value.hint


def test_broken_project_folder_is_reported_not_ignored(model_copy, tmp_path):
    (model_copy / "model_index.json").unlink()
    places = SearchPlaces(env={}, project_dirs=(model_copy,), use_hf_cache=False)
    with pytest.raises(ModelError, match="no model_index.json"):
        find_model(None, places)


def test_found_in_local_hugging_face_cache(tiny_model_dir, tmp_path):
    cache = tmp_path / "hub"
    repo = cache / ("models--" + HUB_ID.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    places = SearchPlaces(env={}, project_dirs=(), hf_cache_dir=str(cache))
    found = find_model(None, places)
    assert found.path == (repo / "snapshots" / commit).resolve()
    assert found.source == "the Hugging Face cache"


def test_availability_is_cheap_and_explains(tmp_path, model_copy):
    engine = QwenDecomposer(SearchPlaces(env={}, project_dirs=(), use_hf_cache=False))
    avail = engine.availability(DecomposeOptions(model_dir=str(tmp_path / "missing")))
    assert not avail.ok and "does not exist" in avail.reason
    assert engine.availability(DecomposeOptions(model_dir=str(model_copy))).ok
    assert engine.loaded is None and engine.load_count == 0

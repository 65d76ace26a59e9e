"""The qwen engine end to end on the tiny random model: the same code that runs the real weights.

Each run uses 1-3 steps and 2 layers; the pipeline only accepts the 640 and
1024 buckets, so 640 it is (a smaller test-only bucket would need a patched
pipeline, i.e. not the real code path).
"""

import threading

import numpy as np
import pytest

from qil_editor.engines.base import DecomposeOptions, EngineRegistry
from qil_editor.engines.diffusion import device as dev
from qil_editor.engines.jobs import CancelToken, DecomposeRequest, JobKind, JobState, decompose_job, run_decompose
from qil_editor.engines.qwen import AUTO_LAYERS, QwenDecomposer, SearchPlaces
from qil_editor.errors import CancelledError, ModelError, OutOfMemoryError

pytestmark = pytest.mark.slow

NO_SEARCH = SearchPlaces(env={}, project_dirs=(), use_hf_cache=False)


@pytest.fixture(scope="module")
def engine():
    eng = QwenDecomposer(NO_SEARCH)
    yield eng
    eng.unload()


@pytest.fixture(scope="module")
def opts(tiny_model_dir):
    return DecomposeOptions(layers=2, steps=1, seed=7, prompt="a poster", model_dir=str(tiny_model_dir),
                            device="cpu")


def _noise(h, w, c, seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, 256, shape, dtype=np.uint8)


REF_IMAGE = _noise(48, 64, 3, seed=3)


@pytest.fixture
def loaded(engine, opts):
    """The module's engine with its pipeline loaded (tests that patch the pipeline need it)."""
    engine._ensure_loaded(opts, 2)
    return engine


@pytest.fixture(scope="module")
def reference(engine, opts):
    """One clean run that later runs are compared with (seed 11, one step)."""
    return engine.decompose(REF_IMAGE, opts.with_changes(seed=11))


def _same(a, b):
    return all(np.array_equal(x.pixels, y.pixels) for x, y in zip(a.layers, b.layers))


@pytest.mark.parametrize("h, w, channels", [(37, 91, 1), (200, 51, 3), (123, 77, 4)])
def test_layers_have_the_inputs_size_for_any_shape_and_mode(engine, opts, h, w, channels):
    image = _noise(h, w, channels)
    if channels == 4:
        image[:20, :20, 3] = 0  # a transparent corner
    doc = engine.decompose(image, opts)
    assert (doc.width, doc.height) == (w, h)
    assert len(doc) == 2
    assert [layer.name for layer in doc.layers] == ["Background", "Layer 1"]
    for layer in doc.layers:
        assert layer.pixels.shape == (h, w, 4) and layer.pixels.dtype == np.uint8
        assert (layer.x, layer.y) == (0, 0)
    assert engine.load_count == 1, "the pipeline is loaded once and reused"
    assert engine.last_run.bucket[0] % 32 == 0 and engine.last_run.mode == "full"


def test_seed_makes_runs_repeatable(engine, opts, reference):
    assert _same(engine.decompose(REF_IMAGE, opts.with_changes(seed=11)), reference)
    assert not _same(engine.decompose(REF_IMAGE, opts.with_changes(seed=12)), reference)
    assert engine.load_count == 1


def test_progress_reaches_every_step_in_order_with_eta(engine, opts):
    seen = []
    engine.decompose(_noise(40, 40, 3), opts.with_changes(steps=3), progress=seen.append)
    steps = [p.step for p in seen if p.message == "Separating layers" and p.step > 0]
    assert steps == [1, 2, 3]
    assert all(p.total == 3 for p in seen)
    assert [p.step for p in seen] == sorted(p.step for p in seen), "never goes backwards"
    assert seen[0].message == "Loading the model" and seen[-1].step == 3
    assert all(p.eta_s is not None for p in seen if p.step > 0)


def test_cancel_stops_within_one_step_and_leaves_nothing(engine, opts, reference):
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p.step)
        if p.step == 1:
            token.cancel()

    last_before = engine.last_run
    with pytest.raises(CancelledError):
        engine.decompose(REF_IMAGE, opts.with_changes(steps=4, seed=11), progress, token)
    assert max(seen) == 1, "no step ran after the one where cancel was pressed"
    assert engine.last_run is last_before
    assert engine.loaded.pipe._interrupt is False
    # the pipeline is intact: the next run finishes and matches a clean run
    assert _same(engine.decompose(REF_IMAGE, opts.with_changes(seed=11)), reference)
    assert engine.load_count == 1


def test_cancel_before_start_loads_nothing(tiny_model_dir, opts):
    eng = QwenDecomposer(NO_SEARCH)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        eng.decompose(_noise(10, 10, 3), opts, cancel=token)
    assert eng.load_count == 0 and eng.loaded is None


def test_out_of_memory_in_a_step_becomes_a_clear_error(engine, loaded, opts, monkeypatch):
    import torch

    def progress(p):
        if p.step == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    # pretend the loaded pipeline sits on a 24 GB GPU in full mode: the hint names the next mode
    pipeline = engine.loaded
    gpu = dev.DeviceInfo("cuda", 0, "Simulated 24 GB GPU", 24 * dev.GB, 20 * dev.GB, True, 0, 0, (8, 9))
    monkeypatch.setattr(pipeline, "info", gpu)
    monkeypatch.setattr(dev, "installed_packages", lambda: frozenset())
    with pytest.raises(OutOfMemoryError) as info:
        engine.decompose(_noise(30, 30, 3), opts.with_changes(steps=2), progress)
    assert "ran out of memory" in info.value.message
    assert "--memory model-offload" in info.value.hint
    assert info.value.exit_code == 4


def test_out_of_memory_runtime_error_from_the_model(engine, loaded, opts, monkeypatch):
    transformer = engine.loaded.pipe.transformer

    def boom(*args, **kwargs):
        raise RuntimeError("MPS backend out of memory (MPS allocated: 17.00 GB)")

    monkeypatch.setattr(transformer, "forward", boom)
    with pytest.raises(OutOfMemoryError) as info:
        engine.decompose(_noise(30, 30, 3), opts)
    assert info.value.hint  # CPU here: "Close other programs..."


def test_out_of_memory_while_loading(opts, monkeypatch):
    import torch

    def place(pipe, info, mode):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB")

    monkeypatch.setattr("qil_editor.engines.diffusion.loader.place_pipeline", place)
    eng = QwenDecomposer(NO_SEARCH)
    with pytest.raises(OutOfMemoryError) as info:
        eng.decompose(_noise(20, 20, 3), opts)
    assert "while loading Qwen-Image-Layered" in info.value.message and info.value.hint
    assert eng.loaded is None and eng.load_count == 0


def test_other_model_failures_are_model_errors(engine, loaded, opts, monkeypatch):
    monkeypatch.setattr(engine.loaded.pipe.transformer, "forward",
                        lambda *a, **k: (_ for _ in ()).throw(ValueError("shapes do not match")))
    with pytest.raises(ModelError, match="shapes do not match"):
        engine.decompose(_noise(30, 30, 3), opts)


def test_missing_quantization_package_is_reported_before_loading(engine, opts, monkeypatch):
    gpu = dev.DeviceInfo("cuda", 0, "Simulated GPU", 24 * dev.GB, 20 * dev.GB, True, 0, 0, (8, 9))
    monkeypatch.setattr(engine.manager, "probe", lambda requested: gpu)
    monkeypatch.setattr(dev, "installed_packages", lambda: frozenset())
    count = engine.load_count
    with pytest.raises(ModelError, match="pip install bitsandbytes"):
        engine.decompose(_noise(30, 30, 3), opts.with_changes(memory="nf4"))
    assert engine.load_count == count


def test_auto_layers_and_auto_caption(engine, opts):
    doc = engine.decompose(_noise(50, 70, 3), opts.with_changes(layers=None, prompt=""))
    assert len(doc) == AUTO_LAYERS == 4
    assert [layer.name for layer in doc.layers] == ["Background", "Layer 1", "Layer 2", "Layer 3"]
    assert engine.last_run.prompt and engine.last_run.prompt != "a poster"  # the model's own caption


def test_lora_is_applied_and_removed_without_reloading(engine, opts, reference, tiny_model_dir, tmp_path):
    from qil_editor.engines.tiny_models import make_tiny_lora

    lora = make_tiny_lora(tiny_model_dir, tmp_path / "tiny-lightning-4steps.safetensors")
    ref_opts = opts.with_changes(seed=11)
    count = engine.load_count
    with_lora = engine.decompose(REF_IMAGE, ref_opts.with_changes(lora_path=str(lora)))
    assert engine.loaded.lora == str(lora.resolve())
    assert not _same(with_lora, reference)
    without = engine.decompose(REF_IMAGE, ref_opts)
    assert engine.loaded.lora is None and engine.load_count == count
    assert _same(without, reference)
    with pytest.raises(ModelError, match="safetensors"):
        engine.decompose(REF_IMAGE, ref_opts.with_changes(lora_path=str(tmp_path / "x.ckpt")))


def test_job_in_a_worker_thread_with_states(engine, opts):
    registry = EngineRegistry()
    registry.register("qwen", lambda: engine)
    job = decompose_job(registry, DecomposeRequest("auto", opts), _noise(33, 44, 3))
    errors = []

    def work():
        try:
            job.run()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    assert engine.availability(opts).ok  # the UI thread may ask meanwhile
    thread.join(120)
    assert not errors and job.state == JobState.DONE and job.kind == JobKind.DECOMPOSE
    assert job.engine_label == engine.label  # "auto" learned which engine ran
    assert (job.result.width, job.result.height) == (44, 33)
    assert job.last_progress is not None and job.last_progress.step == 1

    bad = decompose_job(registry, DecomposeRequest("qwen", opts.with_changes(model_dir="/nonexistent/qil")),
                        _noise(8, 8, 3))
    with pytest.raises(ModelError):
        bad.run()
    assert bad.state == JobState.FAILED and isinstance(bad.error, ModelError)

    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        run_decompose(registry, "qwen", _noise(8, 8, 3), opts, cancel=token)


def test_other_settings_load_a_new_pipeline_and_unload_frees(tiny_model_dir, opts, tmp_path):
    import shutil

    other = tmp_path / "other-copy"
    shutil.copytree(tiny_model_dir, other)
    eng = QwenDecomposer(NO_SEARCH)
    first = eng._ensure_loaded(opts, 2)
    assert eng._ensure_loaded(opts, 2) is first and eng.load_count == 1
    second = eng._ensure_loaded(opts.with_changes(model_dir=str(other)), 2)
    assert eng.load_count == 2 and second is not first and first.pipe is None
    assert second.key.folder == str(other.resolve())
    eng.unload()
    assert eng.loaded is None and second.pipe is None


def test_detail_restoration_can_be_turned_off(engine, opts, reference):
    from qil_editor.document import composite

    raw = engine.decompose(REF_IMAGE, opts.with_changes(seed=11, extra={"restore_detail": False}))
    for name, doc in (("restored", reference), ("raw", raw)):
        err = np.abs(composite(doc)[..., :3].astype(int) - REF_IMAGE)
        if name == "restored":  # the layers' composite has the input's colours exactly
            assert err.max() <= 2
        else:  # the random model's own layers do not
            assert err.mean() > 20
    for a, b in zip(reference.layers, raw.layers):
        assert np.array_equal(a.pixels[..., 3], b.pixels[..., 3])


def test_cancel_while_the_model_describes_the_image(engine, loaded, opts, monkeypatch):
    token = CancelToken()
    seen = []
    new_tokens = []
    text_encoder = engine.loaded.pipe.text_encoder
    generate = text_encoder.generate

    def counting_generate(**kwargs):
        out = generate(**kwargs)
        new_tokens.append(out.shape[1] - kwargs["input_ids"].shape[1])
        return out

    monkeypatch.setattr(text_encoder, "generate", counting_generate)

    def progress(p):
        seen.append(p.message)
        if p.message == "Describing the image":
            token.cancel()

    with pytest.raises(CancelledError):
        engine.decompose(REF_IMAGE, opts.with_changes(prompt=""), progress, token)
    assert "Separating layers" not in seen
    assert new_tokens and new_tokens[0] <= 2, "captioning stops at the next token, not after 512"


def test_quantized_modes_load_the_transformer_with_a_quantization_config(tiny_model_dir, monkeypatch):
    """The nf4/int8/fp8 plumbing: the transformer is quantized at load, onto the device (the
    quantizer itself is stubbed here: bitsandbytes/torchao need CUDA for these modes)."""
    from qil_editor.engines.diffusion import loader
    from qil_editor.engines.qwen import check_model_folder
    from qil_editor.engines.qwen.loader import load_pipeline

    calls = {}

    def fake_config(mode, dtype):
        calls["quant"] = (mode, dtype)
        return None  # diffusers then loads the transformer unquantized

    monkeypatch.setattr(loader, "quantization_config", fake_config)
    monkeypatch.setattr(loader, "straight_to_device", lambda info: calls.setdefault("device_map", None))
    monkeypatch.setattr(loader, "place_pipeline", lambda pipe, info, mode: calls.setdefault("placed", mode))
    gpu = dev.DeviceInfo("cuda", 0, "Simulated GPU", 24 * dev.GB, 20 * dev.GB, True, 0, 0, (8, 9))
    plan = dev.choose_memory_mode(gpu, requested="nf4", installed=frozenset({"bitsandbytes"}), dtype="fp32")
    result = load_pipeline(check_model_folder(tiny_model_dir), gpu, plan)
    assert calls["quant"][0] == "nf4" and calls["placed"] == "nf4" and "device_map" in calls
    assert result.key.mode == "nf4" and result.pipe.transformer is not None
    assert loader.straight_to_device.__name__ == "<lambda>"
    monkeypatch.undo()
    assert loader.straight_to_device(gpu) == "cuda"  # the real rule: weights go straight to the GPU


def test_not_enough_ram_is_refused_before_reading_weights(tiny_model_dir, monkeypatch):
    """Defect 5: free RAM was never checked."""
    from qil_editor.engines.diffusion import loader
    from qil_editor.engines.qwen import check_model_folder
    from qil_editor.engines.qwen.loader import load_pipeline

    read = []
    monkeypatch.setattr("diffusers.QwenImageLayeredPipeline.from_pretrained",
                        classmethod(lambda cls, *a, **k: read.append(a)))
    tiny_ram = dev.DeviceInfo("cpu", None, "CPU", 1000, 1000, True, 1000, 1000)
    folder = check_model_folder(tiny_model_dir)
    plan = dev.choose_memory_mode(tiny_ram, folder.params, installed=frozenset())
    with pytest.raises(OutOfMemoryError, match="system memory"):
        load_pipeline(folder, tiny_ram, plan)
    assert not read
    assert loader.ram_problem("full", folder.params, "fp32", dev.probe_device("cpu")) is None


def test_non_finite_values_are_a_clear_error_not_transparent_layers(engine, loaded, opts, monkeypatch):
    """Defect 3: NaN (fp16 overflow) became fully transparent layers without an error."""
    transformer = engine.loaded.pipe.transformer
    forward = transformer.forward
    steps = []

    def overflowing(*args, **kwargs):
        out = forward(*args, **kwargs)
        return (out[0] * float("nan"),) + tuple(out[1:])

    monkeypatch.setattr(transformer, "forward", overflowing)
    with pytest.raises(ModelError) as info:
        engine.decompose(_noise(30, 30, 3), opts.with_changes(steps=3), steps.append)
    assert "NaN" in info.value.message and "step 1" in info.value.message
    assert "Separating layers" not in [p.message for p in steps if p.step >= 1]  # stopped at once


def test_vae_decodes_one_layer_at_a_time_when_the_plan_says_so(engine, loaded, opts, monkeypatch):
    """Defect 2: slicing/tiling were never enabled, so every layer decoded in one batch."""
    from dataclasses import replace

    vae = engine.loaded.pipe.vae
    batches = []
    decode = vae._decode
    monkeypatch.setattr(vae, "_decode", lambda z, *a, **k: batches.append(z.shape[0]) or decode(z, *a, **k))
    # a device with room for one frame's decode but not two (640 px: 3.27 vs 6.35 GiB in fp32),
    # costed as the real VAE's (the tiny VAE's own cost is 1/24 of that)
    plan = replace(engine.loaded.plan, budget_bytes=int(4 * dev.GB), weights_bytes=0, vae_scale=1.0)
    monkeypatch.setattr(engine.loaded, "plan", plan)
    engine.decompose(REF_IMAGE, opts)
    assert batches == [1, 1] and vae.use_slicing and not vae.use_tiling
    assert engine.last_run.vae_strategy == "slicing"
    batches.clear()
    monkeypatch.setattr(engine.loaded, "plan", replace(plan, budget_bytes=None))  # CPU: no device budget
    engine.decompose(REF_IMAGE, opts)
    assert batches == [2] and not vae.use_slicing

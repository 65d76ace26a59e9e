"""Auto-captioning under group offload holds the text encoder whole, then streams again (defect 6).

Group offload streams every layer of the text encoder to the device on use;
for caption generation that is one full pass of the 15.5 GiB encoder per
generated token. The tiny model on the CPU exercises the same hooks
(onload and offload device are both the CPU here).
"""

from dataclasses import replace

import pytest

from qil_editor.engines.diffusion import device as dev
from qil_editor.engines.diffusion.loader import LoadedPipeline, LoadKey
from qil_editor.engines.diffusion.run import resident_text_encoder

pytestmark = pytest.mark.slow


def test_planner_holds_the_encoder_only_when_it_fits():
    def plan(free_gb):
        gpu = dev.DeviceInfo("cuda", 0, "GPU", int(free_gb * dev.GB), int(free_gb * dev.GB), True,
                             256 * dev.GB, 200 * dev.GB, (8, 9))
        return dev.choose_memory_mode(gpu, installed=frozenset(), requested="group-offload")

    assert plan(24).caption_resident          # 15.4 GiB encoder + streamed blocks fit in 24 GB
    assert not plan(12).caption_resident      # no room: keep streaming
    assert dev.choose_memory_mode(dev.DeviceInfo("cpu"), installed=frozenset()).caption_resident


def test_caption_runs_with_the_encoder_resident_and_offload_comes_back(tiny_model_dir):
    import torch
    from diffusers import QwenImageLayeredPipeline
    from diffusers.hooks.group_offloading import _get_top_level_group_offload_hook
    from PIL import Image

    from qil_editor.engines.qwen.pipeline_run import caption_image

    pipe = QwenImageLayeredPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    pipe.enable_group_offload(onload_device=torch.device("cpu"), offload_device=torch.device("cpu"),
                              offload_type="leaf_level")
    encoder = pipe.text_encoder
    assert _get_top_level_group_offload_hook(encoder) is not None
    info = dev.DeviceInfo("cpu", None, "CPU", 0, 0, True)
    plan = dev.MemoryPlan("group-offload", "fp32", 0, "test", budget_bytes=64 * dev.GB, caption_resident=True)
    loaded = LoadedPipeline(pipe, LoadKey("tiny", "cpu", "fp32", "group-offload"), info, plan, None, 0.0)
    image = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    seen = []
    original = encoder.generate

    def watching_generate(**kwargs):
        seen.append(_get_top_level_group_offload_hook(encoder))
        return original(**kwargs)

    encoder.generate = watching_generate
    with resident_text_encoder(loaded) as resident:
        assert resident
        text = caption_image(pipe, image, max_new_tokens=4)
    assert seen == [None], "generation ran without the streaming hooks"
    assert isinstance(text, str)
    assert _get_top_level_group_offload_hook(encoder) is not None, "offload is back afterwards"
    # not resident when the plan has no room: the hooks stay on
    with resident_text_encoder(replace(loaded, plan=replace(plan, caption_resident=False))) as resident:
        assert not resident and _get_top_level_group_offload_hook(encoder) is not None


def test_model_offload_moves_the_encoder_to_the_device_before_generating(tiny_model_dir):
    """Model offload moves a model when its own forward runs; transformers 5 encodes the image
    (``get_image_features``) before that, on weights still in RAM, which failed on an H200 with
    "Input type (CUDABFloat16Type) and weight type (CPUBFloat16Type)". On the CPU both devices
    are the same, so this checks the order: the hook's onload runs before generation starts,
    and the caption still comes out."""
    from accelerate import cpu_offload_with_hook
    from accelerate.hooks import CpuOffload
    from diffusers import QwenImageLayeredPipeline
    from PIL import Image

    from qil_editor.engines.qwen.pipeline_run import caption_image

    pipe = QwenImageLayeredPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    _, vae_hook = cpu_offload_with_hook(pipe.vae, execution_device="cpu")
    cpu_offload_with_hook(pipe.text_encoder, execution_device="cpu", prev_module_hook=vae_hook)
    encoder = pipe.text_encoder
    events = []
    hook = encoder._hf_hook
    assert isinstance(hook, CpuOffload)
    original_pre, original_generate = hook.pre_forward, encoder.generate
    hook.pre_forward = lambda module, *a, **k: (events.append("encoder onload"), original_pre(module, *a, **k))[1]
    encoder.generate = lambda **k: (events.append("generate"), original_generate(**k))[1]
    info = dev.DeviceInfo("cpu", None, "CPU", 0, 0, True)
    plan = dev.MemoryPlan("model-offload", "fp32", 0, "test", budget_bytes=64 * dev.GB)
    loaded = LoadedPipeline(pipe, LoadKey("tiny", "cpu", "fp32", "model-offload"), info, plan, None, 0.0)
    with resident_text_encoder(loaded) as resident:
        assert not resident  # nothing to undo afterwards: the next model's hook offloads it
        text = caption_image(pipe, Image.new("RGBA", (64, 64), (200, 30, 30, 255)), max_new_tokens=4)
    assert isinstance(text, str)
    assert events[:2] == ["encoder onload", "generate"]


def test_group_offload_streams_only_with_room_for_a_pinned_copy(monkeypatch):
    """Streams pin a copy of every weight (up front, or per transfer into torch's pinned cache):
    twice the weights in RAM; the 58 GB model on a 125 GB host was killed both ways. Without
    room group offload runs without streams, which pins nothing."""
    import torch

    from qil_editor.engines.diffusion.loader import PIN_MARGIN_BYTES, place_pipeline, room_to_pin

    class Pipe:
        def __init__(self):
            self.components = {"transformer": torch.nn.Linear(256, 256), "name": "not a module"}
            self.calls = []

        def enable_group_offload(self, **kwargs):
            self.calls.append(kwargs)

    pipe = Pipe()
    weights = (256 * 256 + 256) * 4
    assert room_to_pin(pipe, available=weights + PIN_MARGIN_BYTES)
    assert not room_to_pin(pipe, available=weights + PIN_MARGIN_BYTES - 1)
    assert not room_to_pin(pipe, available=0)  # unknown free RAM: no pinning

    gpu = dev.DeviceInfo("cuda", 0, "GPU", 24 * dev.GB, 24 * dev.GB, True, 64 * dev.GB, 60 * dev.GB, (8, 9))
    monkeypatch.setattr(dev, "probe_ram", lambda: (64 * dev.GB, 60 * dev.GB))
    place_pipeline(pipe, gpu, "group-offload")
    assert pipe.calls[-1]["use_stream"]
    monkeypatch.setattr(dev, "probe_ram", lambda: (64 * dev.GB, weights))
    place_pipeline(pipe, gpu, "group-offload")
    assert not pipe.calls[-1]["use_stream"]
    place_pipeline(pipe, dev.DeviceInfo("cpu", None, "CPU", 0, 0, True), "group-offload")
    assert not pipe.calls[-1]["use_stream"]


def _weights(modules) -> dict:
    return {id(t): t.data_ptr() for m in modules for t in (*m.parameters(), *m.buffers())}


def _stand_in_device_copies(modules) -> None:
    """On the CPU a device copy is stood in for by a clone: what onloading leaves behind."""
    for m in modules:
        for t in (*m.parameters(), *m.buffers()):
            t.data = t.data.clone()


def test_group_offload_hands_each_layer_its_weights_in_ram_back(tiny_model_dir):
    """Without CUDA streams diffusers offloads a layer by copying it back from the device into
    fresh RAM after every use; on an H200 host RAM grew past 125 GB that way and the process was
    killed. The loader makes offloading put back the tensors the layer had in RAM."""
    import torch
    from diffusers import QwenImageLayeredPipeline
    from diffusers.hooks import group_offloading as go

    from qil_editor.engines.diffusion.loader import place_pipeline

    pipe = QwenImageLayeredPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    place_pipeline(pipe, dev.DeviceInfo("cpu", None, "CPU", 0, 0, True), "group-offload")
    modules = [c for c in pipe.components.values() if isinstance(c, torch.nn.Module)]
    before = _weights(modules)
    groups = {id(h.group): h.group for m in modules for sub in m.modules()
              if (h := getattr(sub, "_diffusers_hook", None) and sub._diffusers_hook.get_hook(go._GROUP_OFFLOADING))}
    assert groups
    for group in groups.values():
        _stand_in_device_copies(group.modules)
        group.offload_()
    assert _weights(modules) == before
    # a run stopped mid-layer leaves that layer on the device; arming again after it (as every
    # run does) must keep the RAM tensors already kept, not take the device copy for them
    from qil_editor.engines.diffusion.loader import keep_offloaded_weights

    group = next(iter(groups.values()))
    _stand_in_device_copies(group.modules)
    assert keep_offloaded_weights(pipe, "group-offload") == 0
    group.offload_()
    assert _weights(modules) == before


def test_model_offload_hands_each_model_its_weights_in_ram_back_after_every_run(tiny_model_dir):
    """Model offload moved the 40 GB transformer back from the GPU (23 s on an H200) before
    every VAE decode. Offloading now puts back the tensors the model had in RAM, also after a
    run, when the pipeline has re-armed its offload hooks with new ones."""
    import torch
    from diffusers import QwenImageLayeredPipeline
    from PIL import Image

    from qil_editor.engines.diffusion.loader import place_pipeline
    from qil_editor.engines.qwen.pipeline_run import RunSettings, run_layered

    pipe = QwenImageLayeredPipeline.from_pretrained(str(tiny_model_dir), local_files_only=True)
    info = dev.DeviceInfo("cpu", None, "CPU", 0, 0, True)
    place_pipeline(pipe, info, "model-offload")
    plan = dev.MemoryPlan("model-offload", "fp32", 0, "test", budget_bytes=64 * dev.GB)
    loaded = LoadedPipeline(pipe, LoadKey("tiny", "cpu", "fp32", "model-offload"), info, plan, None, 0.0)

    def check_hand_back():
        hooks = pipe._all_hooks
        assert len(hooks) >= 3  # text encoder, transformer, VAE
        for hook in hooks:
            before = _weights([hook.model])
            _stand_in_device_copies([hook.model])
            hook.offload()
            assert _weights([hook.model]) == before

    check_hand_back()
    layers, _ = run_layered(loaded, Image.new("RGBA", (64, 64), (200, 30, 30, 255)),
                            RunSettings(layers=2, resolution=640, steps=1, prompt="x", seed=1), None)
    assert len(layers) == 2
    check_hand_back()  # the hooks the run left are new ones, and hand back too
    assert all(isinstance(c, torch.nn.Module) for c in (pipe.transformer, pipe.vae))

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

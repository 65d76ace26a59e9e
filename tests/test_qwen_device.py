"""Device, dtype and memory-mode planning with simulated machines (no GPU needed).

The VAE figures are the measurements quoted in issue #12 (real-size RGBA VAE,
126.9 M parameters, random weights, CPU fp32); the planner must reproduce them.
"""

import subprocess
import sys

import pytest

from qil_editor.engines.diffusion import device as dev
from qil_editor.engines.diffusion.device import GB, DeviceInfo, choose_dtype, choose_memory_mode
from qil_editor.errors import ModelError

REAL = dev.DEFAULT_PARAMS
NONE = frozenset()
ALL = frozenset({"bitsandbytes", "torchao"})


def gpu(free_gb, total_gb=None, bf16=True, cc=(9, 0)):
    total = int((total_gb or free_gb) * GB)
    return DeviceInfo("cuda", 0, "Simulated GPU", total, int(free_gb * GB), bf16, 128 * GB, 100 * GB, cc)


CPU_64 = DeviceInfo("cpu", None, "CPU", 64 * GB, 60 * GB, True, 64 * GB, 60 * GB)


@pytest.mark.parametrize("free_gb, installed, expected", [
    (80, NONE, "full"),
    (48, NONE, "model-offload"),
    (32, ALL, "int8"),
    (24, ALL, "int8"),                               # with the VAE decoding in tiles
    (20, ALL, "nf4"),
    (22, frozenset({"torchao"}), "group-offload"),   # int8 needs ~21 GB + work: too tight, no bitsandbytes
    (24, NONE, "group-offload"),
    (12, ALL, "group-offload"),
    (4, ALL, "group-offload"),                       # with the VAE decoding in tiles
    (2.5, ALL, "sequential-offload"),
    (1, NONE, "sequential-offload"),                 # nothing fits: the least hungry mode
])
def test_auto_mode_follows_free_gpu_memory(free_gb, installed, expected):
    plan = choose_memory_mode(gpu(free_gb), REAL, resolution=640, layers=4, installed=installed)
    assert plan.mode == expected
    assert plan.dtype == "bf16"
    if expected != "sequential-offload" or free_gb >= 4:
        assert plan.need_bytes <= free_gb * GB


def test_more_layers_and_1024_need_more_memory():
    small = dev.mode_need_bytes("full", REAL, "bf16", 640, 2)
    big = dev.mode_need_bytes("full", REAL, "bf16", 1024, 10)
    assert big > small
    assert choose_memory_mode(gpu(70), REAL, resolution=640, layers=4, installed=NONE).mode == "full"
    # 10 layers at 1024 in full on 70 GB: only with the VAE decoding one layer at a time
    plan = choose_memory_mode(gpu(70), REAL, resolution=1024, layers=10, installed=NONE)
    assert plan.mode == "full" and plan.vae_strategy(1024, 10) == "slicing"
    assert choose_memory_mode(gpu(62), REAL, resolution=1024, layers=10, installed=NONE).mode == "model-offload"


def test_vae_decode_cost_reproduces_the_measurements():
    """Defect 2: the planner allowed 3 GiB (640) / 16 GiB (1024) for any layer count."""
    for (res, frames), gib in dev.VAE_DECODE_MEASURED_GIB.items():
        assert dev.vae_decode_bytes(res, frames, "fp32", "batch") / GB == pytest.approx(gib, abs=0.02)
    # the pipeline decodes every layer in one batch: 1024 px x 10 layers is ~75 GiB in fp32
    assert dev.vae_decode_bytes(1024, 10, "fp32", "batch") > 70 * GB
    assert dev.vae_decode_bytes(1024, 10, "fp32", "slicing") == dev.vae_decode_bytes(1024, 1, "fp32", "batch")
    assert dev.vae_decode_bytes(1024, 10, "bf16", "tiling") < 1 * GB


def test_vae_strategy_follows_the_memory_left_after_the_weights():
    assert dev.choose_vae_strategy(640, 4, "bf16", 40 * GB) == "batch"
    assert dev.choose_vae_strategy(1024, 8, "bf16", 10 * GB) == "slicing"
    assert dev.choose_vae_strategy(1024, 8, "bf16", 2 * GB) == "tiling"
    assert dev.choose_vae_strategy(1024, 8, "bf16", None) == "batch"  # CPU: RAM, no device budget
    # on 80 GB in full, 1024 px x 8 layers must not decode in one batch (it would run out of
    # memory after all 50 steps): the plan's prediction includes the decode it will use
    plan = choose_memory_mode(gpu(80), REAL, resolution=1024, layers=8, installed=NONE)
    assert plan.mode == "full" and plan.vae_strategy(1024, 8) == "slicing"
    assert plan.need_bytes <= plan.budget_bytes


def test_our_own_resident_pipeline_does_not_shrink_the_plan():
    """Defect 1: run 2 saw ~22 GB free (our own 58 GB counted as used) and reloaded smaller."""
    first = choose_memory_mode(gpu(80), REAL, installed=ALL)
    assert first.mode == "full"
    resident = DeviceInfo("cuda", 0, "Simulated GPU", 80 * GB, 22 * GB, True, 128 * GB, 100 * GB, (9, 0),
                          own_bytes=58 * GB)
    assert resident.plannable_bytes == 80 * GB
    assert choose_memory_mode(resident, REAL, installed=ALL).mode == "full"
    # other processes' memory still counts
    shared = DeviceInfo("cuda", 0, "Simulated GPU", 80 * GB, 22 * GB, True, 128 * GB, 100 * GB, (9, 0),
                        own_bytes=0)
    assert choose_memory_mode(shared, REAL, installed=ALL).mode != "full"


def test_after_out_of_memory_auto_stays_below_the_failed_mode():
    plan = choose_memory_mode(gpu(80), REAL, installed=NONE, below="full")
    assert plan.mode == "model-offload"
    assert choose_memory_mode(gpu(80), REAL, installed=NONE, below="sequential-offload").mode \
        == "sequential-offload"


def test_ram_is_checked_before_loading():
    """Defect 5: every mode loaded ~58 GB into RAM, unchecked."""
    small_ram = DeviceInfo("cuda", 0, "GPU", 80 * GB, 80 * GB, True, 32 * GB, 24 * GB, (9, 0))
    assert dev.ram_problem("full", REAL, "bf16", small_ram) is None       # straight to the GPU
    problem = dev.ram_problem("model-offload", REAL, "bf16", small_ram)   # all weights parked in RAM
    assert problem and "free system memory" in problem
    assert dev.ram_need_bytes("nf4", REAL, "bf16", small_ram) < dev.ram_need_bytes("model-offload", REAL, "bf16",
                                                                                  small_ram)
    assert dev.ram_problem("full", REAL, "bf16", CPU_64) is None          # 54 GiB of bf16 in 60 GiB free
    cpu_48 = DeviceInfo("cpu", None, "CPU", 48 * GB, 40 * GB, True, 48 * GB, 40 * GB)
    assert "needs about" in dev.ram_problem("full", REAL, "bf16", cpu_48)


def test_tiny_model_always_runs_full_on_a_small_gpu():
    tiny = {"transformer": 90_000, "text_encoder": 115_000, "vae": 170_000}
    assert choose_memory_mode(gpu(6), tiny, installed=NONE).mode == "full"


def test_cpu_runs_full_and_refuses_offload_modes():
    plan = choose_memory_mode(CPU_64, REAL, installed=ALL)
    assert plan.mode == "full"
    with pytest.raises(ModelError, match="CPU only"):
        choose_memory_mode(CPU_64, REAL, installed=ALL, requested="model-offload")


@pytest.mark.parametrize("mode, package", [("nf4", "bitsandbytes"), ("int8", "torchao"), ("fp8", "torchao")])
def test_quantized_mode_without_its_package_says_what_to_install(mode, package):
    with pytest.raises(ModelError) as info:
        choose_memory_mode(gpu(80), REAL, installed=NONE, requested=mode)
    assert f"pip install {package}" in str(info.value)
    assert choose_memory_mode(gpu(80), REAL, installed=ALL, requested=mode).mode == mode


def test_quantized_modes_need_cuda_and_fp8_needs_ada_or_newer():
    mps = DeviceInfo("mps", None, "Apple GPU", 32 * GB, 30 * GB, True, 32 * GB, 30 * GB)
    assert "NVIDIA" in dev.mode_problem("nf4", mps, ALL)
    assert "8.9" in dev.mode_problem("fp8", gpu(24, cc=(8, 6)), ALL)
    assert dev.mode_problem("int8", gpu(24, cc=(8, 6)), ALL) is None


def test_installed_packages_reports_what_this_machine_has():
    found = dev.installed_packages()
    import importlib.util
    for name in ("bitsandbytes", "torchao"):
        assert (name in found) == (importlib.util.find_spec(name) is not None)


def test_requested_mode_is_used_even_if_estimate_is_too_big():
    plan = choose_memory_mode(gpu(16), REAL, installed=NONE, requested="full")
    assert plan.mode == "full" and plan.reason == "chosen by you"


def test_unknown_mode_is_a_model_error():
    with pytest.raises(ModelError, match="Unknown memory mode"):
        choose_memory_mode(gpu(16), REAL, installed=NONE, requested="turbo")


def test_next_mode_and_hint_skip_modes_that_cannot_run():
    g = gpu(24)
    assert dev.next_mode("full", g, NONE) == "model-offload"
    assert dev.next_mode("model-offload", g, NONE) == "group-offload"
    assert dev.next_mode("model-offload", g, ALL) == "int8"
    assert dev.next_mode("sequential-offload", g, ALL) is None
    assert "--memory model-offload" in dev.out_of_memory_hint("full", g, NONE)
    assert "next run" in dev.out_of_memory_hint("full", g, NONE)
    assert "least memory-hungry" in dev.out_of_memory_hint("sequential-offload", g, NONE)
    assert "Close other programs" in dev.out_of_memory_hint("full", CPU_64, NONE)


def test_dtype_choice():
    assert choose_dtype(gpu(80, bf16=True)) == "bf16"
    assert choose_dtype(CPU_64, REAL) == "bf16"                   # 28 B params: fp32 would need ~115 GB
    assert choose_dtype(CPU_64, {"transformer": 10_000}) == "fp32"  # tiny models: exact and fast
    assert choose_dtype(CPU_64, REAL, requested="fp32") == "fp32"
    with pytest.raises(Exception, match="Unknown precision"):
        choose_dtype(CPU_64, REAL, requested="int3")


def test_never_fp16_for_qwen_image():
    """Defect 3: GPUs without bf16 (V100, T4) got fp16, where Qwen-Image overflows to NaN."""
    v100 = gpu(32, bf16=False, cc=(7, 0))
    assert choose_dtype(v100) == "fp32"
    plan = choose_memory_mode(v100, REAL, installed=NONE)
    assert plan.dtype == "fp32" and plan.mode == "group-offload"   # fp32 weights stream from RAM
    with pytest.raises(Exception, match="overflows in fp16"):
        choose_dtype(v100, REAL, requested="fp16")
    with pytest.raises(Exception, match="overflows in fp16"):
        choose_memory_mode(v100, REAL, dtype="fp16", installed=NONE)


def test_nf4_keeps_the_first_image_modulation_in_full_precision():
    """Defect 5: the diffusers team's nf4 checkpoint of Qwen-Image skips this layer."""
    import torch

    from qil_editor.engines.diffusion.loader import quantization_config

    config = quantization_config("nf4", torch.bfloat16)
    assert "transformer_blocks.0.img_mod" in config.llm_int8_skip_modules
    assert config.bnb_4bit_quant_type == "nf4" and config.load_in_4bit


def test_probe_cpu_and_unavailable_cuda():
    info = dev.probe_device("cpu")
    assert info.kind == "cpu" and info.ram_total_bytes > 0 and info.torch_device == "cpu"
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="NVIDIA GPU"):
            dev.probe_device("cuda")
    with pytest.raises(Exception, match="Unknown device"):
        dev.probe_device("tpu")


def test_engine_package_imports_without_torch():
    code = ("import sys, qil_editor.engines.qwen, qil_editor.cli.decompose; "
            "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr

"""Device, dtype and memory-mode planning with simulated machines (no GPU needed)."""

import subprocess
import sys

import pytest

from qil_editor.engines.qwen import device as dev
from qil_editor.engines.qwen.device import GB, DeviceInfo, choose_dtype, choose_memory_mode
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
    (24, ALL, "nf4"),
    (24, frozenset({"torchao"}), "group-offload"),   # int8 needs ~24 GB: too tight, no bitsandbytes
    (24, NONE, "group-offload"),
    (12, ALL, "group-offload"),
    (4, ALL, "sequential-offload"),
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
    # 64 GB fits 4 layers at 640 in full, not 10 layers at 1024
    assert choose_memory_mode(gpu(70), REAL, resolution=640, layers=4, installed=NONE).mode == "full"
    assert choose_memory_mode(gpu(70), REAL, resolution=1024, layers=10, installed=NONE).mode == "model-offload"


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
    assert "least memory-hungry" in dev.out_of_memory_hint("sequential-offload", g, NONE)
    assert "Close other programs" in dev.out_of_memory_hint("full", CPU_64, NONE)


def test_dtype_choice():
    assert choose_dtype(gpu(80, bf16=True)) == "bf16"
    assert choose_dtype(gpu(16, bf16=False)) == "fp16"          # e.g. V100/T4: fp32 would not fit
    assert choose_dtype(CPU_64, REAL) == "bf16"                   # 28 B params: fp32 would need ~115 GB
    assert choose_dtype(CPU_64, {"transformer": 10_000}) == "fp32"  # tiny models: exact and fast
    assert choose_dtype(CPU_64, REAL, requested="fp32") == "fp32"
    with pytest.raises(Exception, match="Unknown precision"):
        choose_dtype(CPU_64, REAL, requested="int3")


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

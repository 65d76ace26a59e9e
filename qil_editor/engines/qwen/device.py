"""Device, dtype and memory-mode choice for the real model.

The planning functions are pure (they take a :class:`DeviceInfo`), so the
choice logic is tested with simulated GPUs; only :func:`probe_device` asks
torch. Figures are for Qwen-Image-Layered in bf16: transformer about 20 B
parameters (about 40 GB), Qwen2.5-VL text encoder about 8 B (about 16 GB),
VAE about 0.13 B. When a folder's safetensors headers give the real counts
those are used instead, so the tiny test model plans as what it is.

Modes, from most to least GPU memory:

=====================  ===============================================  ==============
mode                   what happens                                     GPU need (bf16)
=====================  ===============================================  ==============
full                   everything on the GPU                            ~60 GB
model-offload          one whole model on the GPU at a time             ~44 GB
int8 / fp8             transformer quantized by torchao, model offload  ~24 GB
nf4                    transformer 4-bit via bitsandbytes, model offload ~20 GB
group-offload          layers streamed to the GPU as they run           ~5 GB
sequential-offload     every sub-module moved on use (slowest)          ~4 GB
=====================  ===============================================  ==============
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ...errors import ModelError, UsageError

GB = 1024 ** 3

MODES = ("full", "model-offload", "int8", "fp8", "nf4", "group-offload", "sequential-offload")
MEMORY_CHOICES = ("auto",) + MODES
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}

#: Package each quantized mode needs, and what it is called on PyPI.
QUANT_PACKAGES = {"nf4": "bitsandbytes", "int8": "torchao", "fp8": "torchao"}
#: Bytes per parameter of the quantized transformer (nf4 keeps scales and some layers in bf16).
QUANT_BYTES = {"nf4": 0.6, "int8": 1.05, "fp8": 1.05}

#: Parameter counts used when a folder's headers are not at hand (the real model).
DEFAULT_PARAMS = {"transformer": 20_400_000_000, "text_encoder": 8_300_000_000, "vae": 130_000_000}

#: Working memory on top of the weights (activations, VAE decode) at 4 layers, by resolution.
ACTIVATION_GB = {640: 3.0, 1024: 8.0}
#: Fraction of free memory the plan may use (allocator fragmentation, other processes).
HEADROOM = 0.9


@dataclass(frozen=True)
class DeviceInfo:
    """What one device offers. Byte counts are for the device's own memory (RAM for cpu/mps)."""

    kind: str  # "cuda", "mps" or "cpu"
    index: int | None = None
    name: str = ""
    total_bytes: int = 0
    free_bytes: int = 0
    bf16: bool = False
    ram_total_bytes: int = 0
    ram_available_bytes: int = 0
    compute_capability: tuple[int, int] | None = None

    @property
    def torch_device(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    @property
    def is_accelerator(self) -> bool:
        return self.kind in ("cuda", "mps")


def installed_packages() -> frozenset[str]:
    """Optional quantization packages present (found without importing them)."""
    return frozenset(name for name in set(QUANT_PACKAGES.values())
                     if importlib.util.find_spec(name) is not None)


# ----- dtype --------------------------------------------------------------

def choose_dtype(info: DeviceInfo, params: dict[str, int] | None = None,
                 requested: str | None = None) -> str:
    """'bf16', 'fp16' or 'fp32'.

    GPUs: bf16 where the hardware has it (the weights ship in bf16, and
    Qwen-Image overflows in fp16), else fp16 because fp32 would double the
    ~56 GB. CPU: fp32 when the fp32 weights take at most half the RAM (exact
    and the fastest CPU kernels; the tiny test model), otherwise bf16, which
    halves memory (the real model needs ~112 GB in fp32, ~56 GB in bf16).
    """
    if requested:
        if requested not in DTYPES:
            raise UsageError(f"Unknown precision {requested!r}.", f"Choose one of: {', '.join(DTYPES)}.")
        return requested
    if info.kind == "cuda":
        return "bf16" if info.bf16 else "fp16"
    if info.kind == "mps":
        return "bf16" if info.bf16 else "fp16"
    total_params = sum((params or DEFAULT_PARAMS).values())
    if info.ram_total_bytes and total_params * 4 <= info.ram_total_bytes * 0.5:
        return "fp32"
    return "bf16"


def bytes_per_param(dtype: str) -> int:
    return 4 if dtype == "fp32" else 2


# ----- memory needs ---------------------------------------------------------

def activation_bytes(resolution: int, layers: int) -> int:
    base = ACTIVATION_GB.get(int(resolution), ACTIVATION_GB[1024])
    return int(base * GB * (int(layers) + 2) / 6)


def mode_need_bytes(mode: str, params: dict[str, int], dtype: str, resolution: int = 640,
                    layers: int = 4) -> int:
    """Rough peak device memory of ``mode`` (weights resident at the worst moment + work memory)."""
    bpp = bytes_per_param(dtype)
    t = params.get("transformer", 0) * bpp
    e = params.get("text_encoder", 0) * bpp
    v = params.get("vae", 0) * bpp
    work = activation_bytes(resolution, layers)
    if mode == "full":
        return t + e + v + work
    if mode == "model-offload":
        return max(t, e, v) + work
    if mode in QUANT_BYTES:
        tq = int(params.get("transformer", 0) * QUANT_BYTES[mode])
        return max(tq, e, v) + work
    if mode == "group-offload":  # two streamed transformer blocks of ~60, plus the VAE
        return int(2 * t / 60) + v + work
    if mode == "sequential-offload":
        return int(t / 60) + v + work
    raise UsageError(f"Unknown memory mode {mode!r}.", f"Choose one of: {', '.join(MEMORY_CHOICES)}.")


def offload_ram_bytes(params: dict[str, int], dtype: str) -> int:
    return sum(params.values()) * bytes_per_param(dtype)


# ----- which modes a device can run -------------------------------------------

def mode_problem(mode: str, info: DeviceInfo, installed: frozenset[str]) -> str | None:
    """Why ``mode`` cannot run here (a sentence with what to do), or None."""
    if mode not in MODES:
        return f"Unknown memory mode {mode!r}; choose one of: {', '.join(MEMORY_CHOICES)}."
    if mode in QUANT_PACKAGES:
        package = QUANT_PACKAGES[mode]
        if info.kind != "cuda":
            return f"The {mode} mode needs an NVIDIA GPU (CUDA); this run uses {info.kind}."
        if package not in installed:
            return (f"The {mode} mode needs the Python package '{package}', which is not installed. "
                    f"Install it with: pip install {package}")
        if mode == "fp8" and info.compute_capability is not None and info.compute_capability < (8, 9):
            return "The fp8 mode needs an Ada or Hopper GPU (compute capability 8.9+); try int8 or nf4."
    elif mode != "full" and not info.is_accelerator:
        return (f"The {mode} memory mode moves weights between the CPU and a GPU, and this run "
                f"uses the CPU only. Use --memory full (or auto) on the CPU.")
    return None


def usable_modes(info: DeviceInfo, installed: frozenset[str]) -> list[str]:
    return [m for m in MODES if mode_problem(m, info, installed) is None]


@dataclass(frozen=True)
class MemoryPlan:
    mode: str
    dtype: str
    need_bytes: int
    reason: str


def choose_memory_mode(info: DeviceInfo, params: dict[str, int] | None = None, *,
                       dtype: str | None = None, resolution: int = 640, layers: int = 4,
                       installed: frozenset[str] | None = None, requested: str = "auto") -> MemoryPlan:
    """Pick the fastest mode whose estimated peak fits the device's free memory.

    A requested mode is checked (package present, device able) and used even
    if it looks too big: the user may know better, and an OOM is reported
    with the next mode to try.
    """
    params = params or DEFAULT_PARAMS
    installed = installed_packages() if installed is None else installed
    dtype = dtype or choose_dtype(info, params)
    if requested and requested != "auto":
        problem = mode_problem(requested, info, installed)
        if problem:
            raise ModelError(problem)
        need = mode_need_bytes(requested, params, dtype, resolution, layers)
        return MemoryPlan(requested, dtype, need, "chosen by you")
    if not info.is_accelerator:
        need = mode_need_bytes("full", params, dtype, resolution, layers)
        return MemoryPlan("full", dtype, need, "CPU: the weights stay in RAM")
    budget = info.free_bytes * HEADROOM
    candidates = usable_modes(info, installed)
    for mode in candidates:
        need = mode_need_bytes(mode, params, dtype, resolution, layers)
        if need <= budget:
            return MemoryPlan(mode, dtype, need,
                              f"needs about {need / GB:.1f} GB of {info.free_bytes / GB:.1f} GB free")
    mode = candidates[-1]
    need = mode_need_bytes(mode, params, dtype, resolution, layers)
    return MemoryPlan(mode, dtype, need, f"only {info.free_bytes / GB:.1f} GB free: the least memory-hungry mode")


def next_mode(mode: str, info: DeviceInfo, installed: frozenset[str] | None = None) -> str | None:
    """The next mode down that uses less memory and can run here, for out-of-memory hints."""
    installed = installed_packages() if installed is None else installed
    if mode not in MODES:
        return None
    for candidate in MODES[MODES.index(mode) + 1:]:
        if mode_problem(candidate, info, installed) is None:
            return candidate
    return None


def out_of_memory_hint(mode: str, info: DeviceInfo, installed: frozenset[str] | None = None) -> str:
    lower = next_mode(mode, info, installed)
    tips = "fewer layers, resolution 640, or the classical engine"
    if lower:
        return f"Try --memory {lower} (uses less memory), or {tips}."
    if info.kind == "cpu":
        return f"Close other programs to free RAM, or use {tips}."
    return f"This was already the least memory-hungry mode here. Try {tips}."


# ----- probing the real device (imports torch) ------------------------------------

def _ram() -> tuple[int, int]:
    try:
        import psutil

        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    except Exception:  # pragma: no cover - psutil comes with accelerate
        return 0, 0


def probe_device(requested: str = "auto") -> DeviceInfo:
    """Resolve 'auto'/'cuda'/'cuda:1'/'mps'/'cpu' to a DeviceInfo, or raise ModelError."""
    import torch

    requested = (requested or "auto").strip().lower()
    kind, _, index_text = requested.partition(":")
    if kind not in DEVICE_CHOICES:
        raise UsageError(f"Unknown device {requested!r}.", "Use auto, cuda, cuda:N, mps or cpu.")
    index = None
    if index_text:
        if not index_text.isdigit() or kind != "cuda":
            raise UsageError(f"Unknown device {requested!r}.", "Use auto, cuda, cuda:N, mps or cpu.")
        index = int(index_text)
    has_mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    ram_total, ram_avail = _ram()
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ModelError("No usable NVIDIA GPU was found (CUDA is not available to PyTorch).",
                             "Use --device auto or --device cpu, or install a CUDA build of PyTorch.")
        index = 0 if index is None else index
        if index >= torch.cuda.device_count():
            raise ModelError(f"There is no GPU cuda:{index} (this machine has "
                             f"{torch.cuda.device_count()}).", "Use --device cuda or cuda:0.")
        free, total = torch.cuda.mem_get_info(index)
        props = torch.cuda.get_device_properties(index)
        try:
            bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # older torch
            bf16 = torch.cuda.is_bf16_supported()
        return DeviceInfo("cuda", index, props.name, int(total), int(free), bool(bf16),
                          ram_total, ram_avail, (props.major, props.minor))
    if kind == "mps":
        if not has_mps:
            raise ModelError("Apple's Metal (mps) device is not available.", "Use --device cpu.")
        total = int(torch.mps.recommended_max_memory()) if hasattr(torch.mps, "recommended_max_memory") \
            else ram_total
        used = int(torch.mps.current_allocated_memory()) if hasattr(torch.mps, "current_allocated_memory") else 0
        try:
            torch.zeros(1, dtype=torch.bfloat16, device="mps")
            bf16 = True
        except Exception:
            bf16 = False
        return DeviceInfo("mps", None, "Apple GPU", total, max(0, total - used), bf16, ram_total, ram_avail)
    return DeviceInfo("cpu", None, "CPU", ram_total, ram_avail, True, ram_total, ram_avail)

"""Device, dtype and memory plan for a Qwen-Image diffusion pipeline (decompose and edit alike).

The planning functions are pure (they take a :class:`DeviceInfo`), so the
choice logic is tested with simulated GPUs; only :func:`probe_device` asks
torch. Defaults are the real Qwen-Image-Layered / Qwen-Image-Edit sizes
(transformer about 20.4 B parameters, Qwen2.5-VL-7B text encoder about
8.3 B, VAE about 0.13 B); when a folder's safetensors headers give the real
counts those are used, so the tiny test model plans as what it is.

Modes, from most to least GPU memory:

=====================  ===============================================  ==============
mode                   what happens                                     GPU need (bf16)
=====================  ===============================================  ==============
full                   everything on the GPU                            ~58 GB + work
model-offload          one whole model on the GPU at a time             ~41 GB + work
int8 / fp8             transformer quantized by torchao, model offload  ~21 GB + work
nf4                    transformer 4-bit via bitsandbytes, model offload ~17 GB + work
group-offload          layers streamed to the GPU as they run           ~2 GB + work
sequential-offload     every sub-module moved on use (slowest)          ~1 GB + work
=====================  ===============================================  ==============

The plan is made once per load, from the device's total memory minus what
*other* processes use (:attr:`DeviceInfo.plannable_bytes`): memory our own
resident pipelines hold is ours to reuse, so a second run on an 80 GB card
does not see "22 GB free" and reload everything in a smaller mode.
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
#: Qwen-Image's activations overflow the fp16 range (NaN, then fully transparent layers),
#: so fp16 is never chosen and refused when asked for.
REFUSED_DTYPES = {"fp16": "Qwen-Image overflows in fp16 (its activations exceed the fp16 range), "
                          "which gives empty, fully transparent layers."}

#: Package each quantized mode needs, and what it is called on PyPI.
QUANT_PACKAGES = {"nf4": "bitsandbytes", "int8": "torchao", "fp8": "torchao"}
#: Bytes per parameter of the quantized transformer (nf4 keeps scales and some layers in bf16).
QUANT_BYTES = {"nf4": 0.6, "int8": 1.05, "fp8": 1.05}
#: Layers the nf4 mode keeps in full precision: the first block's image modulation, as in the
#: diffusers team's own nf4 checkpoint of Qwen-Image (its quantization_config skip list);
#: quantizing it degrades the whole image.
NF4_SKIP_MODULES = ("transformer_blocks.0.img_mod",)

#: Parameter counts used when a folder's headers are not at hand (the real model; the
#: published configurations in bench/configs give 20.43 B / 8.29 B / 0.127 B).
DEFAULT_PARAMS = {"transformer": 20_430_000_000, "text_encoder": 8_290_000_000, "vae": 126_900_000}
#: Transformer blocks of the real model (group offload streams about two at a time).
TRANSFORMER_BLOCKS = 60

# ----- measured working memory ------------------------------------------------------------------
#: Peak memory of one VAE decode of the real-size RGBA VAE (126.9 M parameters, random
#: weights, CPU, fp32), measured for issue #12 ("Model engines on real GPUs"): 3.27 GiB at
#: 640 px / 1 frame, 6.35 GiB at 640 px / 2 frames, 8.24 GiB at 1024 px / 1 frame. The
#: pipeline decodes all layers as one batch, so without slicing the peak grows per layer.
VAE_DECODE_MEASURED_GIB = {(640, 1): 3.27, (640, 2): 6.35, (1024, 1): 8.24}
#: dtype of those measurements; decode activations scale with the element size.
VAE_MEASURED_BYTES_PER_ELEMENT = 4
#: Tile size the VAE uses when tiling is on (diffusers' default tile_sample_min 256 px, plus overlap).
VAE_TILE_PX = 320
#: Transformer working memory per sequence token, bf16. Measured on the CPU in fp32 with one
#: real-width block (``python bench/gpu_check.py --measure-activations``, issue #12): peak RSS
#: grew 262 MiB at 1,088 tokens, 456 MiB at 2,112 and 540 MiB at 3,136, at most 252 KiB per
#: token, i.e. 126 KiB in bf16. Not yet measured on a GPU (flash attention needs less):
#: the CUDA run of bench/gpu_check.py reports predicted against measured peaks.
DENOISE_BYTES_PER_TOKEN = 128 * 1024
#: Fraction of the plannable memory the plan may use (allocator fragmentation, CUDA context).
HEADROOM = 0.9
#: RAM a straight-to-device load needs at most (one safetensors shard at a time).
LOAD_STAGING_BYTES = 5 * GB


@dataclass(frozen=True)
class DeviceInfo:
    """What one device offers. Byte counts are for the device's own memory (RAM for cpu/mps).

    ``own_bytes``: device memory this process already holds (its resident pipelines);
    planning counts it as available, because it is ours to reuse.
    """

    kind: str  # "cuda", "mps" or "cpu"
    index: int | None = None
    name: str = ""
    total_bytes: int = 0
    free_bytes: int = 0
    bf16: bool = False
    ram_total_bytes: int = 0
    ram_available_bytes: int = 0
    compute_capability: tuple[int, int] | None = None
    own_bytes: int = 0

    @property
    def torch_device(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    @property
    def is_accelerator(self) -> bool:
        return self.kind in ("cuda", "mps")

    @property
    def plannable_bytes(self) -> int:
        """Total memory minus what other processes use (= free + what we hold ourselves)."""
        if not self.total_bytes:
            return self.free_bytes + self.own_bytes
        return min(self.total_bytes, self.free_bytes + self.own_bytes)


def installed_packages() -> frozenset[str]:
    """Optional quantization packages present (found without importing them)."""
    return frozenset(name for name in set(QUANT_PACKAGES.values())
                     if importlib.util.find_spec(name) is not None)


# ----- dtype --------------------------------------------------------------

def check_dtype(requested: str) -> str:
    if requested not in DTYPES:
        raise UsageError(f"Unknown precision {requested!r}.", "Choose bf16 or fp32.")
    if requested in REFUSED_DTYPES:
        raise UsageError(f"The {requested} precision is not supported: {REFUSED_DTYPES[requested]}",
                         "Use bf16 (or fp32 on GPUs without bf16).")
    return requested


def choose_dtype(info: DeviceInfo, params: dict[str, int] | None = None,
                 requested: str | None = None) -> str:
    """'bf16' or 'fp32', never 'fp16'.

    GPUs: bf16 where the hardware has it (the weights ship in bf16). GPUs
    without bf16 (V100, T4, Turing) run fp32: Qwen-Image overflows in fp16,
    and the planner then picks an offload mode for the doubled size. CPU:
    fp32 when the fp32 weights take at most half the RAM (exact, the fastest
    CPU kernels; the tiny test model), otherwise bf16, which halves memory.
    """
    if requested:
        return check_dtype(requested)
    if info.is_accelerator:
        return "bf16" if info.bf16 else "fp32"
    total_params = sum((params or DEFAULT_PARAMS).values())
    if info.ram_total_bytes and total_params * 4 <= info.ram_total_bytes * 0.5:
        return "fp32"
    return "bf16"


def bytes_per_param(dtype: str) -> int:
    return 4 if dtype == "fp32" else 2


# ----- working memory ---------------------------------------------------------

def tokens_per_step(resolution: int, frames: int, text_tokens: int = 256) -> int:
    """Sequence length of one transformer call: (res/16)^2 per frame (8x VAE, 2x patch) + text."""
    return (int(resolution) // 16) ** 2 * int(frames) + int(text_tokens)


def denoise_frames(layers: int) -> int:
    """Frames the layered transformer sees: the input image plus layers+1 generated (the
    pipeline generates a composite first and drops it)."""
    return int(layers) + 2


def width_scale(params: dict[str, int], component: str) -> float:
    """How a model's activations compare with the real one's: activations grow with a
    layer's width, parameters with its square, so the ratio is sqrt(params / real params)."""
    real = DEFAULT_PARAMS[component]
    return min(4.0, (max(1, params.get(component, real)) / real) ** 0.5)


def vae_decode_bytes(resolution: int, frames: int, dtype: str = "fp32", strategy: str = "batch",
                     scale: float = 1.0) -> int:
    """Peak of the VAE decode from the measured figures (:data:`VAE_DECODE_MEASURED_GIB`).

    One frame costs a fixed part plus a part proportional to its pixels (fitted
    through the 640 px and 1024 px one-frame measurements); each further frame
    in the same batch adds the 640 px increment (6.35 - 3.27 GiB) scaled by
    pixels. ``strategy``: 'batch' (all frames at once, diffusers' default),
    'slicing' (one frame at a time), 'tiling' (one tile of one frame at a time);
    ``scale``: :func:`width_scale` of a VAE other than the real one (the tiny test model).
    """
    m = VAE_DECODE_MEASURED_GIB
    px640, px1024 = 640 * 640, 1024 * 1024
    slope = (m[(1024, 1)] - m[(640, 1)]) / (px1024 - px640)
    fixed = m[(640, 1)] - slope * px640

    def one_frame(px: int) -> float:
        return fixed + slope * px

    px = int(resolution) ** 2
    if strategy == "tiling":
        gib = one_frame(min(px, VAE_TILE_PX ** 2))
    elif strategy == "slicing":
        gib = one_frame(px)
    else:
        extra = (m[(640, 2)] - m[(640, 1)]) * px / px640
        gib = one_frame(px) + max(0, int(frames) - 1) * extra
    return int(gib * GB * scale * bytes_per_param(dtype) / VAE_MEASURED_BYTES_PER_ELEMENT)


def choose_vae_strategy(resolution: int, frames: int, dtype: str, budget_bytes: int | None,
                        scale: float = 1.0) -> str:
    """'batch' when the whole decode fits the memory left, else 'slicing', else 'tiling'."""
    if budget_bytes is None:
        return "batch"
    for strategy in ("batch", "slicing"):
        if vae_decode_bytes(resolution, frames, dtype, strategy, scale) <= budget_bytes:
            return strategy
    return "tiling"


def denoise_bytes(resolution: int, frames: int, scale: float = 1.0) -> int:
    return int(tokens_per_step(resolution, frames) * DENOISE_BYTES_PER_TOKEN * scale)


# ----- memory needs ---------------------------------------------------------

def weights_bytes(mode: str, params: dict[str, int], dtype: str) -> int:
    """Weights resident on the device at the worst moment of ``mode``."""
    bpp = bytes_per_param(dtype)
    t = params.get("transformer", 0) * bpp
    e = params.get("text_encoder", 0) * bpp
    v = params.get("vae", 0) * bpp
    if mode == "full":
        return t + e + v
    if mode == "model-offload":
        return max(t, e, v)
    if mode in QUANT_BYTES:
        return max(int(params.get("transformer", 0) * QUANT_BYTES[mode]), e, v)
    if mode == "group-offload":  # two streamed transformer blocks, plus the VAE
        return int(2 * t / TRANSFORMER_BLOCKS) + v
    if mode == "sequential-offload":
        return int(t / TRANSFORMER_BLOCKS) + v
    raise UsageError(f"Unknown memory mode {mode!r}.", f"Choose one of: {', '.join(MEMORY_CHOICES)}.")


def mode_need_bytes(mode: str, params: dict[str, int], dtype: str, resolution: int = 640,
                    layers: int = 4, vae_strategy: str = "slicing") -> int:
    """Predicted peak device memory: the weights resident at the worst moment plus the
    larger of the denoising work and the VAE decode (they do not overlap in time)."""
    frames = denoise_frames(layers)
    work = max(denoise_bytes(resolution, frames, width_scale(params, "transformer")),
               vae_decode_bytes(resolution, int(layers), dtype, vae_strategy, width_scale(params, "vae")))
    return weights_bytes(mode, params, dtype) + work


def ram_need_bytes(mode: str, params: dict[str, int], dtype: str, info: DeviceInfo) -> int:
    """System RAM the load needs: weights kept in RAM by the mode, or a staging shard when
    they go straight to the device."""
    bpp = bytes_per_param(dtype)
    total = sum(params.values()) * bpp
    if not info.is_accelerator:
        return total
    if mode == "full":
        return min(total, LOAD_STAGING_BYTES)
    if mode in QUANT_BYTES:  # quantized on the device; offload parks it in RAM between uses
        return int(params.get("transformer", 0) * QUANT_BYTES[mode]) \
            + (params.get("text_encoder", 0) + params.get("vae", 0)) * bpp
    return total


def ram_problem(mode: str, params: dict[str, int], dtype: str, info: DeviceInfo) -> str | None:
    """A sentence when the free RAM is too small for the load, else None (unknown RAM: None)."""
    if not info.ram_available_bytes:
        return None
    need = ram_need_bytes(mode, params, dtype, info)
    if need <= info.ram_available_bytes:
        return None
    return (f"Loading in the {mode} mode needs about {need / GB:.1f} GB of free system memory "
            f"and {info.ram_available_bytes / GB:.1f} GB is free.")


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
    """A load's plan. ``budget_bytes``: device memory the plan may use (None on the CPU);
    ``caption_resident``: the text encoder fits whole on the device, so auto-captioning
    holds it there instead of streaming it once per generated token."""

    mode: str
    dtype: str
    need_bytes: int
    reason: str
    budget_bytes: int | None = None
    weights_bytes: int = 0
    caption_resident: bool = True
    vae_scale: float = 1.0

    def vae_strategy(self, resolution: int, frames: int) -> str:
        """Decode strategy for one run: what is left of the budget once the weights are resident."""
        if self.budget_bytes is None:
            return "batch"
        return choose_vae_strategy(resolution, frames, self.dtype, self.budget_bytes - self.weights_bytes,
                                   self.vae_scale)


def _plan(mode: str, info: DeviceInfo, params: dict[str, int], dtype: str, resolution: int,
          layers: int, reason: str, budget: int | None) -> MemoryPlan:
    weights = weights_bytes(mode, params, dtype)
    vae_scale = width_scale(params, "vae")
    strategy = "batch" if budget is None else \
        choose_vae_strategy(resolution, layers, dtype, budget - weights, vae_scale)
    need = mode_need_bytes(mode, params, dtype, resolution, layers, strategy)
    encoder = params.get("text_encoder", 0) * bytes_per_param(dtype)
    resident = budget is None or mode in ("full", "model-offload") or mode in QUANT_BYTES \
        or weights + encoder + denoise_bytes(resolution, 1, width_scale(params, "transformer")) <= budget
    return MemoryPlan(mode, dtype, need, reason, budget, weights, resident, vae_scale)


def choose_memory_mode(info: DeviceInfo, params: dict[str, int] | None = None, *,
                       dtype: str | None = None, resolution: int = 640, layers: int = 4,
                       installed: frozenset[str] | None = None, requested: str = "auto",
                       below: str | None = None) -> MemoryPlan:
    """Pick the fastest mode whose predicted peak fits the plannable memory.

    A requested mode is checked (package present, device able) and used even
    if it looks too big: the user may know better, and an OOM is reported
    with the next mode to try. ``below``: after an out-of-memory error in
    that mode, only smaller modes are considered.
    """
    params = params or DEFAULT_PARAMS
    installed = installed_packages() if installed is None else installed
    dtype = check_dtype(dtype) if dtype else choose_dtype(info, params)
    budget = int(info.plannable_bytes * HEADROOM) if info.is_accelerator else None
    if requested and requested != "auto":
        problem = mode_problem(requested, info, installed)
        if problem:
            raise ModelError(problem)
        return _plan(requested, info, params, dtype, resolution, layers, "chosen by you", budget)
    if budget is None:
        return _plan("full", info, params, dtype, resolution, layers, "CPU: the weights stay in RAM", None)
    candidates = usable_modes(info, installed)
    if below in candidates:
        candidates = candidates[candidates.index(below) + 1:] or candidates[-1:]
    for mode in candidates:
        plan = _plan(mode, info, params, dtype, resolution, layers, "", budget)
        if plan.need_bytes <= budget:
            return _plan(mode, info, params, dtype, resolution, layers,
                         f"needs about {plan.need_bytes / GB:.1f} GB of {budget / GB:.1f} GB usable", budget)
    return _plan(candidates[-1], info, params, dtype, resolution, layers,
                 f"only {budget / GB:.1f} GB usable: the least memory-hungry mode", budget)


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
        return (f"Run it again: the next run uses a smaller memory mode ({lower}) in auto mode; "
                f"or choose --memory {lower}, or {tips}.")
    if info.kind == "cpu":
        return f"Close other programs to free RAM, or use {tips}."
    return f"This was already the least memory-hungry mode here. Try {tips}."


# ----- probing the real device (imports torch) ------------------------------------

def probe_ram() -> tuple[int, int]:
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
    ram_total, ram_avail = probe_ram()
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
        own = int(torch.cuda.memory_reserved(index))
        return DeviceInfo("cuda", index, props.name, int(total), int(free), bool(bf16),
                          ram_total, ram_avail, (props.major, props.minor), own)
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
        # MPS memory is unified with RAM; what this process allocated is ours to reuse
        return DeviceInfo("mps", None, "Apple GPU", total, max(0, total - used), bf16, ram_total, ram_avail,
                          None, used)
    return DeviceInfo("cpu", None, "CPU", ram_total, ram_avail, True, ram_total, ram_avail)

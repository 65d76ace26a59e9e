"""Loading a diffusers pipeline class from a checked local folder, in a memory mode.

Only the spec's own pipeline class is instantiated (never ``DiffusionPipeline``,
which could pick a custom class), with ``local_files_only=True``,
``use_safetensors=True`` and no remote code. Weights go straight to the GPU
where the mode keeps them there (``full``) and quantized transformers are
quantized on the GPU, so the 58 GB do not pass through RAM first; free RAM is
checked before anything is read. Failures become :class:`ModelError` with a
hint; running out of memory becomes :class:`OutOfMemoryError` naming the next
mode (:func:`map_error`, the one place that does this for loads and runs).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from functools import partial

from ...errors import CancelledError, ModelError, OutOfMemoryError, QilError
from .device import (NF4_SKIP_MODULES, QUANT_PACKAGES, DeviceInfo, MemoryPlan, out_of_memory_hint, ram_problem)
from .locate import ModelFolder, ModelSpec


@dataclass(frozen=True)
class LoadKey:
    """What makes two loads the same pipeline (anything else is a different one)."""

    folder: str
    device: str
    dtype: str
    mode: str


@dataclass
class LoadedPipeline:
    pipe: object
    key: LoadKey
    info: DeviceInfo
    plan: MemoryPlan
    folder: ModelFolder
    load_seconds: float
    spec: ModelSpec | None = None
    lora: str | None = None
    vae_strategy: str = "batch"


def torch_dtype(name: str):
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OOM error, or the RuntimeErrors CUDA, MPS and the CPU allocator raise."""
    try:
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "failed to allocate" in text)


def free_device_memory(info: DeviceInfo | None) -> None:
    gc.collect()
    try:
        import torch

        if info is not None and info.kind == "cuda":
            torch.cuda.empty_cache()
        elif info is not None and info.kind == "mps":
            torch.mps.empty_cache()
    except Exception:  # pragma: no cover - best effort
        pass


def short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def map_error(exc: BaseException, *, label: str, doing: str, info: DeviceInfo | None,
              mode: str | None, hint: str) -> QilError:
    """The one place a raw exception from loading or running a model becomes a user message."""
    if isinstance(exc, QilError):
        return exc
    if is_out_of_memory(exc):
        free_device_memory(info)
        where = (info.name or info.kind) if info is not None else "This computer"
        tips = out_of_memory_hint(mode, info) if info is not None and mode else \
            "Choose a lower resolution or fewer layers, or a memory-saving mode in Preferences."
        return OutOfMemoryError(f"{where} ran out of memory while {doing}"
                                + (f" ({mode} mode)." if mode else "."), tips)
    if isinstance(exc, ImportError):
        return ModelError(f"{label} could not run {doing}: {short(exc)}",
                          "Install the missing package, or choose another --memory mode.")
    return ModelError(f"{label} failed while {doing}: {type(exc).__name__}: {short(exc)}", hint)


def quantization_config(mode: str, dtype):
    """The diffusers quantization config for a quantized-transformer mode (package checked before).

    nf4 keeps :data:`NF4_SKIP_MODULES` in full precision, like the diffusers
    team's nf4 checkpoint of Qwen-Image.
    """
    if mode == "nf4":
        from diffusers import BitsAndBytesConfig

        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_compute_dtype=dtype,
                                  llm_int8_skip_modules=list(NF4_SKIP_MODULES))
    from diffusers import TorchAoConfig
    from torchao.quantization import Float8WeightOnlyConfig, Int8WeightOnlyConfig

    return TorchAoConfig(Int8WeightOnlyConfig() if mode == "int8" else Float8WeightOnlyConfig())


def quiet_library_progress() -> None:
    """diffusers and transformers draw their own loading bars; the editor reports progress itself."""
    try:
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - cosmetic only
        pass


def straight_to_device(info: DeviceInfo) -> str | None:
    """The ``device_map`` that loads weights directly onto the GPU (diffusers accepts the
    default CUDA device only), or None to load into RAM first."""
    if info.kind == "cuda" and (info.index or 0) == 0:
        return "cuda"
    return None


def check_ram(folder: ModelFolder, info: DeviceInfo, plan: MemoryPlan, label: str) -> None:
    """Refuse a load the free RAM cannot hold, before reading a byte of weights."""
    problem = ram_problem(plan.mode, folder.params, plan.dtype, info)
    if problem:
        raise OutOfMemoryError(f"Not enough system memory to load {label}. {problem}",
                               "Close other programs, or choose a mode that keeps less in memory "
                               "(full on a GPU large enough, or a quantized mode).")


def load_pipeline(spec: ModelSpec, pipeline_class: str, folder: ModelFolder, info: DeviceInfo,
                  plan: MemoryPlan) -> LoadedPipeline:
    """Load ``diffusers.<pipeline_class>`` and place it. Raises ModelError / OutOfMemoryError."""
    try:
        import diffusers
        import torch  # noqa: F401
        from diffusers import QwenImageTransformer2DModel
        cls = getattr(diffusers, pipeline_class)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"{spec.label} needs PyTorch and diffusers, which could not be imported "
                         f"({short(exc)}).", "Reinstall the editor with: bash tools/setup.sh") from None
    check_ram(folder, info, plan, spec.label)
    quiet_library_progress()
    start = time.perf_counter()
    dtype = torch_dtype(plan.dtype)
    common = dict(local_files_only=True, use_safetensors=True)
    device_map = straight_to_device(info)
    pipe = None
    try:
        kwargs = dict(common, dtype=dtype, trust_remote_code=False)
        if plan.mode in QUANT_PACKAGES:
            kwargs["transformer"] = QwenImageTransformer2DModel.from_pretrained(
                str(folder.path), subfolder="transformer", dtype=dtype,
                quantization_config=quantization_config(plan.mode, dtype),
                device_map=device_map, **common)
        elif plan.mode == "full" and device_map is not None:
            kwargs["device_map"] = device_map
        pipe = cls.from_pretrained(str(folder.path), **kwargs)
        pipe.set_progress_bar_config(disable=True)
        place_pipeline(pipe, info, plan.mode)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - every loader failure becomes a ModelError
        pipe = None
        free_device_memory(info)
        if isinstance(exc, (CancelledError, QilError)):
            raise
        if is_out_of_memory(exc) or isinstance(exc, ImportError):
            raise map_error(exc, label=spec.label, doing=f"loading {spec.label}", info=info, mode=plan.mode,
                            hint="") from None
        raise ModelError(f"Could not load {spec.label} from {folder.path}: {short(exc)}",
                         "The folder may be incomplete or damaged; download it again. "
                         + spec.download_hint) from None
    key = LoadKey(folder.key, info.torch_device, plan.dtype, plan.mode)
    return LoadedPipeline(pipe, key, info, plan, folder, time.perf_counter() - start, spec)


def place_pipeline(pipe, info: DeviceInfo, mode: str) -> None:
    """Put the loaded pipeline on the device in the way the memory mode says."""
    import torch

    device = torch.device(info.torch_device)
    if mode == "full":
        if getattr(pipe, "hf_device_map", None) is None:  # not already loaded onto the device
            pipe.to(device)
    elif mode in ("model-offload",) + tuple(QUANT_PACKAGES):
        pipe.enable_model_cpu_offload(device=device)
    elif mode == "sequential-offload":
        pipe.enable_sequential_cpu_offload(device=device)
    elif mode == "group-offload":
        pipe.enable_group_offload(onload_device=device, offload_device=torch.device("cpu"),
                                  offload_type="leaf_level",
                                  use_stream=info.kind == "cuda" and room_to_pin(pipe))
    else:  # pragma: no cover - modes are validated by the planner
        raise ModelError(f"Unknown memory mode {mode!r}.")
    keep_offloaded_weights(pipe, mode)


def keep_offloaded_weights(pipe, mode: str) -> int:
    """Offloading hands a model or layer the tensors it had in RAM back, instead of a copy.

    Model offload and group offload without streams move a model (a layer) off the device by
    copying it from the GPU into fresh RAM after every use, though inference never changes a
    weight. Measured on an H200: the 58 GB model under group offload grew past 125 GB of RAM
    that way and was killed; model offload spent 23 s of every run moving the 40 GB transformer
    back before the VAE decode. Keeping the RAM tensors bounds RAM at one copy and makes
    offloading free. The pipeline re-arms model offload after each call with new hooks, so this
    runs again then; a hook or group that hands back already keeps its tensors (after a run
    stopped mid-layer, that layer's are on the device: taken again, its RAM copy would be
    lost). Quantized weights carry state beside ``.data``: not for them.
    Returns how many models or layer groups newly do so."""
    import torch

    def kept(tensors) -> dict:
        return {t: t.data for t in dict.fromkeys(tensors) if t.device.type == "cpu"}

    count = 0
    if mode == "model-offload":
        for hook in getattr(pipe, "_all_hooks", None) or []:  # accelerate's UserCpuOffloadHook
            model = getattr(hook, "model", None)
            if isinstance(model, torch.nn.Module) and not isinstance(hook.offload, partial):
                hook.offload = partial(_hand_back_to, model, kept((*model.parameters(), *model.buffers())))
                count += 1
    elif mode == "group-offload":
        from diffusers.hooks import group_offloading as go

        groups = {}
        for component in getattr(pipe, "components", {}).values():
            if not isinstance(component, torch.nn.Module):
                continue
            for module in component.modules():
                registry = getattr(module, "_diffusers_hook", None)
                hook = registry.get_hook(go._GROUP_OFFLOADING) if registry is not None else None
                group = getattr(hook, "group", None)
                if group is not None and group.stream is None and group.offload_to_disk_path is None \
                        and not isinstance(group.offload_, partial):
                    groups[id(group)] = group
        for group in groups.values():
            tensors = [t for m in group.modules for t in (*m.parameters(), *m.buffers())]
            group.offload_ = partial(hand_back, kept([*tensors, *group.parameters, *group.buffers]))
        count = len(groups)
    return count


def _hand_back_to(model, kept: dict):
    hand_back(kept)
    return model


def hand_back(kept: dict) -> None:
    for tensor, data in kept.items():
        tensor.data = data


#: RAM left free after pinning (at least; a quarter of the weights when that is more), for
#: the process, the page cache and the rest of the system: pinned pages cannot be swapped.
PIN_MARGIN_BYTES = 8 * 1024 ** 3


def room_to_pin(pipe, available: int | None = None) -> bool:
    """Whether the free RAM holds a pinned copy of the weights next to the loaded ones.

    Group offload with CUDA streams (transfers overlapped with compute) copies every weight
    into pinned memory: up front, or per transfer with diffusers' ``low_cpu_mem_usage``, where
    torch's pinned-memory cache keeps each block, so either way the weights end up in RAM
    twice. On an H200 host with 125 GB the 58 GB model was killed by the kernel both ways,
    RAM full. Without room the weights stream without pinning: slower, bounded."""
    import torch

    from .device import probe_ram

    if available is None:
        available = probe_ram()[1]
    if not available:  # unknown: the cautious way
        return False
    in_ram = 0
    for component in getattr(pipe, "components", {}).values():
        if isinstance(component, torch.nn.Module):
            in_ram += sum(t.numel() * t.element_size() for t in component.parameters() if t.device.type == "cpu")
            in_ram += sum(t.numel() * t.element_size() for t in component.buffers() if t.device.type == "cpu")
    return available >= in_ram + max(PIN_MARGIN_BYTES, in_ram // 4)


def unload_pipeline(loaded: LoadedPipeline | None) -> None:
    """Drop the pipeline's hooks and references and give the memory back."""
    if loaded is None:
        return
    pipe = loaded.pipe
    loaded.pipe = None
    try:
        if hasattr(pipe, "remove_all_hooks"):
            pipe.remove_all_hooks()
    except Exception:  # pragma: no cover - best effort
        pass
    del pipe
    free_device_memory(loaded.info)

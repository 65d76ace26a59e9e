"""Loading QwenImageLayeredPipeline from a checked local folder, in a memory mode.

Only :class:`diffusers.QwenImageLayeredPipeline` itself is instantiated (never
``DiffusionPipeline``, which could pick a custom class), with
``local_files_only=True``, ``use_safetensors=True`` and no remote code.
Failures become :class:`ModelError` with a hint; running out of memory while
moving weights becomes :class:`OutOfMemoryError` naming the next mode.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from ...errors import ModelError, OutOfMemoryError, UsageError
from .device import DeviceInfo, MemoryPlan, QUANT_PACKAGES, out_of_memory_hint
from .locate import README_HINT, ModelFolder


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
    lora: str | None = None


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
    try:
        import torch

        if info is not None and info.kind == "cuda":
            torch.cuda.empty_cache()
        elif info is not None and info.kind == "mps":
            torch.mps.empty_cache()
    except Exception:  # pragma: no cover - best effort
        pass


def _quantization_config(mode: str, dtype):
    """The diffusers quantization config for a quantized-transformer mode (package checked before)."""
    if mode == "nf4":
        from diffusers import BitsAndBytesConfig

        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_compute_dtype=dtype)
    from diffusers import TorchAoConfig
    from torchao.quantization import Float8WeightOnlyConfig, Int8WeightOnlyConfig

    return TorchAoConfig(Int8WeightOnlyConfig() if mode == "int8" else Float8WeightOnlyConfig())


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _quiet_library_progress() -> None:
    """diffusers and transformers draw their own loading bars; the editor reports progress itself."""
    try:
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - cosmetic only
        pass


def load_pipeline(folder: ModelFolder, info: DeviceInfo, plan: MemoryPlan) -> LoadedPipeline:
    """Load and place the pipeline. Raises ModelError / OutOfMemoryError, never a raw exception."""
    try:
        import torch  # noqa: F401
        from diffusers import QwenImageLayeredPipeline, QwenImageTransformer2DModel
    except ImportError as exc:
        raise ModelError(f"The Qwen engine needs PyTorch and diffusers, which could not be imported "
                         f"({_short(exc)}).", "Reinstall the editor with: bash tools/setup.sh") from None
    _quiet_library_progress()
    start = time.perf_counter()
    dtype = torch_dtype(plan.dtype)
    common = dict(local_files_only=True, use_safetensors=True)
    pipe = None
    try:
        kwargs = dict(common, dtype=dtype, trust_remote_code=False)
        if plan.mode in QUANT_PACKAGES:
            kwargs["transformer"] = QwenImageTransformer2DModel.from_pretrained(
                str(folder.path), subfolder="transformer", dtype=dtype,
                quantization_config=_quantization_config(plan.mode, dtype), **common)
        pipe = QwenImageLayeredPipeline.from_pretrained(str(folder.path), **kwargs)
        pipe.set_progress_bar_config(disable=True)
        place_pipeline(pipe, info, plan.mode)
    except (ModelError, UsageError):
        raise
    except Exception as exc:  # noqa: BLE001 - every loader failure becomes a ModelError
        pipe = None
        free_device_memory(info)
        if is_out_of_memory(exc):
            raise OutOfMemoryError(
                f"Not enough memory on {info.name or info.kind} to load Qwen-Image-Layered "
                f"in the {plan.mode} mode.", out_of_memory_hint(plan.mode, info)) from None
        if isinstance(exc, ImportError):
            raise ModelError(f"Loading in the {plan.mode} mode failed: {_short(exc)}",
                             "Install the missing package, or choose another --memory mode.") from None
        raise ModelError(f"Could not load the model from {folder.path}: {_short(exc)}",
                         "The folder may be incomplete or damaged; download it again. "
                         + README_HINT) from None
    key = LoadKey(folder.key, info.torch_device, plan.dtype, plan.mode)
    return LoadedPipeline(pipe, key, info, plan, folder, time.perf_counter() - start)


def place_pipeline(pipe, info: DeviceInfo, mode: str) -> None:
    """Put the loaded pipeline on the device in the way the memory mode says."""
    import torch

    device = torch.device(info.torch_device)
    if mode == "full":
        pipe.to(device)
    elif mode in ("model-offload",) + tuple(QUANT_PACKAGES):
        pipe.enable_model_cpu_offload(device=device)
    elif mode == "sequential-offload":
        pipe.enable_sequential_cpu_offload(device=device)
    elif mode == "group-offload":
        pipe.enable_group_offload(onload_device=device, offload_device=torch.device("cpu"),
                                  offload_type="leaf_level", use_stream=info.kind == "cuda")
    else:  # pragma: no cover - modes are validated by the planner
        raise UsageError(f"Unknown memory mode {mode!r}.")


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
    import gc

    gc.collect()
    free_device_memory(loaded.info)


# ----- LoRA ----------------------------------------------------------------------

_STEPS_IN_NAME = re.compile(r"(?<![0-9])(\d{1,2})[-_ ]?steps?(?![a-z])", re.IGNORECASE)


def lora_step_count(path: str | Path) -> int | None:
    """Steps a distilled LoRA is made for, from its file name ('...-4steps-...', 'Lightning-8step')."""
    match = _STEPS_IN_NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def check_lora_file(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelError(f"The LoRA file {p} does not exist.", "Give the path of a .safetensors LoRA file.")
    if p.suffix.lower() != ".safetensors":
        raise ModelError(f"The LoRA file {p.name} is not a .safetensors file; only safetensors are loaded, "
                         "for safety.", "Download the .safetensors version of the LoRA.")
    return p.resolve()


def set_lora(loaded: LoadedPipeline, lora_path: str | None) -> None:
    """Load, swap or remove the LoRA on a loaded pipeline (no full reload)."""
    wanted = str(check_lora_file(lora_path)) if lora_path else None
    if wanted == loaded.lora:
        return
    pipe = loaded.pipe
    try:
        if loaded.lora is not None:
            pipe.unload_lora_weights()
            loaded.lora = None
        if wanted is not None:
            pipe.load_lora_weights(wanted, adapter_name="qil", local_files_only=True)
            loaded.lora = wanted
    except Exception as exc:  # noqa: BLE001
        try:  # a half-applied adapter would block the next attempt
            pipe.unload_lora_weights()
        except Exception:  # pragma: no cover - best effort
            pass
        loaded.lora = None
        if isinstance(exc, ValueError) and "peft" in str(exc).lower() or isinstance(exc, ImportError):
            raise ModelError("Loading a LoRA needs the Python package 'peft', which is not installed.",
                             "Install it with: pip install peft") from None
        raise ModelError(f"Could not apply the LoRA {Path(wanted or loaded.lora or '').name}: {_short(exc)}",
                         "Check that it was made for Qwen-Image-Layered (or Qwen-Image).") from None

"""Loading Qwen-Image-Layered: the shared loader (:mod:`qil_editor.engines.diffusion.loader`)
with this model's pipeline class, plus LoRA handling (load, swap, remove without a reload)."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import ModelError
from ..diffusion.device import DeviceInfo, MemoryPlan
from ..diffusion.loader import (LoadedPipeline, LoadKey, free_device_memory, is_out_of_memory, place_pipeline,
                                quantization_config, short, torch_dtype, unload_pipeline)
from ..diffusion.loader import load_pipeline as _load
from .locate import PIPELINE_CLASS, SPEC, ModelFolder


def load_pipeline(folder: ModelFolder, info: DeviceInfo, plan: MemoryPlan) -> LoadedPipeline:
    """Load QwenImageLayeredPipeline from ``folder`` in ``plan``'s mode."""
    return _load(SPEC, PIPELINE_CLASS, folder, info, plan)


__all__ = ["LoadKey", "LoadedPipeline", "check_lora_file", "free_device_memory", "is_out_of_memory",
           "load_pipeline", "lora_step_count", "place_pipeline", "quantization_config", "set_lora",
           "torch_dtype", "unload_pipeline"]


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
        raise ModelError(f"Could not apply the LoRA {Path(wanted or loaded.lora or '').name}: {short(exc)}",
                         "Check that it was made for Qwen-Image-Layered (or Qwen-Image).") from None

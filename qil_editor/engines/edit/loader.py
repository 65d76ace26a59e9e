"""Loading QwenImageEditPlusPipeline from a checked local folder, in a memory mode.

The decomposer's loader decides placement, quantization and error wording
(:mod:`qil_editor.engines.qwen.loader`); only the pipeline class differs.
Only :class:`diffusers.QwenImageEditPlusPipeline` itself is instantiated,
with ``local_files_only=True``, ``use_safetensors=True`` and no remote code.
"""

from __future__ import annotations

import time

from ...errors import ModelError, OutOfMemoryError, UsageError
from ..qwen.device import QUANT_PACKAGES, DeviceInfo, MemoryPlan, out_of_memory_hint
from ..qwen.loader import (LoadedPipeline, LoadKey, _quantization_config, _short, free_device_memory,
                           is_out_of_memory, place_pipeline, torch_dtype)
from ..qwen.locate import ModelFolder
from .locate import DOWNLOAD_HINT


def load_edit_pipeline(folder: ModelFolder, info: DeviceInfo, plan: MemoryPlan) -> LoadedPipeline:
    """Load and place the edit pipeline. Raises ModelError / OutOfMemoryError, never a raw exception."""
    try:
        import torch  # noqa: F401
        from diffusers import QwenImageEditPlusPipeline, QwenImageTransformer2DModel
    except ImportError as exc:
        raise ModelError(f"Editing layers needs PyTorch and diffusers, which could not be imported "
                         f"({_short(exc)}).", "Reinstall the editor with: bash tools/setup.sh") from None
    start = time.perf_counter()
    dtype = torch_dtype(plan.dtype)
    common = dict(local_files_only=True, use_safetensors=True)
    try:
        kwargs = dict(common, dtype=dtype, trust_remote_code=False)
        if plan.mode in QUANT_PACKAGES:
            kwargs["transformer"] = QwenImageTransformer2DModel.from_pretrained(
                str(folder.path), subfolder="transformer", dtype=dtype,
                quantization_config=_quantization_config(plan.mode, dtype), **common)
        pipe = QwenImageEditPlusPipeline.from_pretrained(str(folder.path), **kwargs)
        pipe.set_progress_bar_config(disable=True)
        place_pipeline(pipe, info, plan.mode)
    except (ModelError, UsageError):
        raise
    except BaseException as exc:  # noqa: BLE001 - every loader failure becomes a ModelError
        if isinstance(exc, KeyboardInterrupt):
            raise
        free_device_memory(info)
        if is_out_of_memory(exc):
            raise OutOfMemoryError(
                f"Not enough memory on {info.name or info.kind} to load Qwen-Image-Edit "
                f"in the {plan.mode} mode.", out_of_memory_hint(plan.mode, info)) from None
        if isinstance(exc, ImportError):
            raise ModelError(f"Loading in the {plan.mode} mode failed: {_short(exc)}",
                             "Install the missing package, or choose another --memory mode.") from None
        raise ModelError(f"Could not load the edit model from {folder.path}: {_short(exc)}",
                         "The folder may be incomplete or damaged; download it again. " + DOWNLOAD_HINT) from None
    key = LoadKey(folder.key, info.torch_device, plan.dtype, plan.mode)
    return LoadedPipeline(pipe, key, info, plan, folder, time.perf_counter() - start)

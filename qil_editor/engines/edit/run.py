"""One call of the loaded edit pipeline, with progress per step and cancel within one step.

Cancel works like the decomposer's (:mod:`qil_editor.engines.qwen.pipeline_run`):
the step callback raises to leave the pipeline at once, skipping the VAE
decode of a result nobody wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import CancelledError, ModelError, OutOfMemoryError
from ..jobs import CancelToken
from ..qwen.device import out_of_memory_hint
from ..qwen.loader import LoadedPipeline, free_device_memory, is_out_of_memory
from ..qwen.pipeline_run import Interrupted, cancellable_step_callback, reset_pipeline

StepCallback = Callable[[int, int, str], None]

#: QwenImageEditPlusPipeline (diffusers 0.42) has no img2img ``strength``: it
#: regenerates the whole picture conditioned on the input, so the dialog
#: offers guidance (true_cfg_scale) instead. tests check this against diffusers.
HAS_STRENGTH = False


@dataclass(frozen=True)
class EditRunSettings:
    prompt: str
    width: int
    height: int
    steps: int = 40
    cfg_scale: float = 4.0
    negative_prompt: str = " "
    seed: int = 0


def run_edit(loaded: LoadedPipeline, image, settings: EditRunSettings,
             on_step: StepCallback | None = None, cancel: CancelToken | None = None) -> np.ndarray:
    """Edit a PIL RGB image; returns float32 (height, width, 3) RGB in [0, 1].

    Raises CancelledError, OutOfMemoryError or ModelError, never a raw exception.
    """
    import torch

    pipe = loaded.pipe
    cancel = cancel or CancelToken()
    report = on_step or (lambda step, total, message: None)
    total = int(settings.steps)

    on_step_end = cancellable_step_callback(cancel, report, total, "Editing the layer")

    try:
        cancel.raise_if_cancelled()
        report(0, total, "Editing the layer")
        generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
        out = pipe(
            image=image,
            prompt=settings.prompt,
            negative_prompt=settings.negative_prompt,
            true_cfg_scale=float(settings.cfg_scale),
            height=int(settings.height),
            width=int(settings.width),
            num_inference_steps=total,
            num_images_per_prompt=1,
            generator=generator,
            output_type="np",
            callback_on_step_end=on_step_end,
            callback_on_step_end_tensor_inputs=[],
        )
        cancel.raise_if_cancelled()  # cancelled during the VAE decode
        result = np.asarray(out.images, dtype=np.float32)
    except (Interrupted, CancelledError):
        reset_pipeline(pipe)
        raise CancelledError("Edit cancelled.") from None
    except BaseException as exc:  # noqa: BLE001 - nothing escapes as a raw exception
        reset_pipeline(pipe)
        if isinstance(exc, KeyboardInterrupt):
            raise
        if isinstance(exc, ModelError):
            raise
        if is_out_of_memory(exc):
            free_device_memory(loaded.info)
            raise OutOfMemoryError(
                f"{loaded.info.name or loaded.info.kind} ran out of memory while editing "
                f"({settings.width}x{settings.height}, {loaded.plan.mode} mode).",
                out_of_memory_hint(loaded.plan.mode, loaded.info)) from None
        raise ModelError(f"Qwen-Image-Edit failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
                         "Try again; if it keeps failing, try another --memory mode.") from None
    if result.ndim == 4:
        result = result[0]
    if result.ndim != 3 or result.shape[-1] != 3:
        raise ModelError(f"Qwen-Image-Edit returned an unexpected result of shape {result.shape}.",
                         "Check that the diffusers version is the one the editor was built with.")
    return result


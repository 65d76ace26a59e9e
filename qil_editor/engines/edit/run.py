"""One call of the loaded edit pipeline through the shared run wrapper
(:func:`qil_editor.engines.diffusion.run.run_pipeline`: progress per step, cancel within one
step, NaN check, error mapping)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ModelError
from ..diffusion.loader import LoadedPipeline
from ..diffusion.run import StepCallback, run_pipeline
from ..jobs import CancelToken

#: QwenImageEditPlusPipeline (diffusers 0.42) has no img2img ``strength``: it
#: regenerates the whole picture conditioned on the input, so the dialog
#: offers guidance (true_cfg_scale) instead. tests check this against diffusers.
HAS_STRENGTH = False

LABEL = "Qwen-Image-Edit"


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

    call = dict(image=image, prompt=settings.prompt, negative_prompt=settings.negative_prompt,
                true_cfg_scale=float(settings.cfg_scale), height=int(settings.height), width=int(settings.width),
                num_inference_steps=int(settings.steps),
                generator=torch.Generator(device="cpu").manual_seed(int(settings.seed)))
    result = run_pipeline(loaded, call, label=LABEL, doing=f"editing ({settings.width}x{settings.height})",
                          message="Editing the layer", on_step=on_step, cancel=cancel,
                          cancelled="Edit cancelled.", vae_frames=1,
                          resolution=int(round((settings.width * settings.height) ** 0.5)),
                          hint="Try again; if it keeps failing, try another --memory mode.")
    if result.ndim != 3 or result.shape[-1] != 3:
        raise ModelError(f"{LABEL} returned an unexpected result of shape {result.shape}.",
                         "Check that the diffusers version is the one the editor was built with.")
    return result

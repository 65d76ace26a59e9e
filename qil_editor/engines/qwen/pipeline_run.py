"""One Qwen-Image-Layered call: caption (cancellable, text encoder resident), then the shared run
wrapper (:func:`qil_editor.engines.diffusion.run.run_pipeline`: progress, cancel within one step,
NaN check, VAE strategy, error mapping)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import CancelledError, ModelError
from ..diffusion.loader import LoadedPipeline, map_error
from ..diffusion.run import (Interrupted, StepCallback, cancellable_step_callback, new_seed, reset_pipeline,
                             resident_text_encoder, run_pipeline)
from ..jobs import CancelToken

LABEL = "Qwen-Image-Layered"
FAIL_HINT = "Try again; if it keeps failing, try another --memory mode or the classical engine."

__all__ = ["Interrupted", "RunSettings", "StepCallback", "cancellable_step_callback", "caption_image",
           "new_seed", "reset_pipeline", "run_layered"]


@dataclass(frozen=True)
class RunSettings:
    layers: int
    resolution: int = 640
    steps: int = 50
    cfg_scale: float = 4.0
    negative_prompt: str = " "
    seed: int = 0
    prompt: str = ""
    language: str = "en"
    cfg_normalize: bool = True
    max_caption_tokens: int = 512


def caption_image(pipe, image, language: str = "en", cancel: CancelToken | None = None,
                  max_new_tokens: int = 512) -> str:
    """The pipeline's own auto-caption (same template and model), but cancellable.

    ``QwenImageLayeredPipeline.get_image_caption`` cannot be interrupted and
    generates up to 512 tokens with the 7B text encoder; this runs the same
    generation with a stopping rule that watches the token.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopOnCancel(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            stop = bool(cancel is not None and cancel.cancelled)
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    template = pipe.image_caption_prompt_en if language != "zh" else pipe.image_caption_prompt_cn
    device = pipe._execution_device
    inputs = pipe.vl_processor(text=template, images=image, padding=True, return_tensors="pt").to(device)
    with torch.no_grad():
        generated = pipe.text_encoder.generate(**inputs, max_new_tokens=max_new_tokens,
                                               stopping_criteria=StoppingCriteriaList([_StopOnCancel()]))
    if cancel is not None:
        cancel.raise_if_cancelled()
    trimmed = [out[len(inp):] for inp, out in zip(inputs.input_ids, generated)]
    text = pipe.vl_processor.batch_decode(trimmed, skip_special_tokens=True,
                                          clean_up_tokenization_spaces=False)[0]
    return text.strip()


def describe(loaded: LoadedPipeline, image, settings: RunSettings, cancel: CancelToken) -> str:
    """Auto-caption with the text encoder held on the device; errors mapped like a run's."""
    try:
        with resident_text_encoder(loaded):
            prompt = caption_image(loaded.pipe, image, settings.language, cancel, settings.max_caption_tokens)
    except CancelledError:
        raise CancelledError("Decomposition cancelled.") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise map_error(exc, label=LABEL, doing="describing the image", info=loaded.info,
                        mode=loaded.plan.mode, hint=FAIL_HINT) from None
    # an empty caption would make the pipeline caption again, uncancellably
    return prompt or "An image."


def run_layered(loaded: LoadedPipeline, image, settings: RunSettings,
                on_step: StepCallback | None = None,
                cancel: CancelToken | None = None) -> tuple[np.ndarray, str]:
    """Run the pipeline on a PIL RGBA image already at its bucket size.

    Returns (layers as float32 (N, H, W, 4) straight RGBA in [0, 1], bottom first;
    the prompt used). Raises CancelledError, OutOfMemoryError or ModelError.
    """
    import torch

    cancel = cancel or CancelToken()
    report = on_step or (lambda step, total, message: None)
    total = int(settings.steps)
    cancel.raise_if_cancelled()
    prompt = settings.prompt.strip()
    if not prompt:
        report(0, total, "Describing the image")
        prompt = describe(loaded, image, settings, cancel)
    cancel.raise_if_cancelled()
    call = dict(image=image, prompt=prompt, negative_prompt=settings.negative_prompt,
                true_cfg_scale=float(settings.cfg_scale), layers=int(settings.layers),
                num_inference_steps=total, generator=torch.Generator(device="cpu").manual_seed(int(settings.seed)),
                resolution=int(settings.resolution), cfg_normalize=bool(settings.cfg_normalize),
                use_en_prompt=settings.language != "zh")
    layers = run_pipeline(loaded, call, label=LABEL, doing=f"decomposing ({settings.layers} layers at "
                                                          f"{settings.resolution})",
                          message="Separating layers", on_step=report, cancel=cancel,
                          cancelled="Decomposition cancelled.", vae_frames=int(settings.layers),
                          resolution=int(settings.resolution), hint=FAIL_HINT)
    if layers.ndim != 4 or layers.shape[0] != settings.layers or layers.shape[-1] != 4:
        raise ModelError(f"{LABEL} returned an unexpected result of shape {layers.shape}.",
                         "Check that the diffusers version is the one the editor was built with.")
    return layers, prompt

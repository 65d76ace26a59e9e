"""One call of the loaded pipeline: caption, denoise with progress and cancel, decode.

How diffusers 0.42 handles ``pipe._interrupt``: the denoising loop checks it
at the top of each step and ``continue``s, so the remaining steps are
skipped, but the latents are still decoded by the VAE and returned. So the
step callback sets ``_interrupt`` (for any code that looks at it) and then
raises, which leaves the pipeline at once, skipping the decode of a result
nobody wants; the caller turns that into :class:`CancelledError`. Cancel
therefore lands within one denoising step.

Known diffusers bugs avoided here: ``num_images_per_prompt > 1`` splits the
layers wrongly (always 1), ``output_type="latent"`` raises
UnboundLocalError (``"np"`` is used: floats, no 8-bit rounding before the
premultiplied resize).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import CancelledError, ModelError, OutOfMemoryError
from ..jobs import CancelToken
from .device import out_of_memory_hint
from .loader import LoadedPipeline, free_device_memory, is_out_of_memory

#: Steps reported as (step, total, message); step 0 is "before the first denoising step".
StepCallback = Callable[[int, int, str], None]


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


class Interrupted(Exception):
    """Raised inside the step callback to leave the pipeline without decoding."""


def cancellable_step_callback(cancel: CancelToken, report: StepCallback, total: int, message: str):
    """A ``callback_on_step_end`` that reports each step and leaves at once on cancel.

    Shared by every diffusers pipeline the editor runs (decompose, edit).
    """
    def on_step_end(pipeline, i, t, callback_kwargs):
        if cancel.cancelled:
            pipeline._interrupt = True
            raise Interrupted()
        report(i + 1, total, message)
        return {}

    return on_step_end


def new_seed() -> int:
    return random.randrange(0, 2 ** 31 - 1)


def caption_image(pipe, image, language: str = "en", cancel: CancelToken | None = None,
                  max_new_tokens: int = 512) -> str:
    """The pipeline's own auto-caption (same template and model), but cancellable.

    ``QwenImageLayeredPipeline.get_image_caption`` cannot be interrupted and
    generates up to 512 tokens with the 7B text encoder, which takes a while;
    this runs the same generation with a stopping rule that watches the token.
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


def run_layered(loaded: LoadedPipeline, image, settings: RunSettings,
                on_step: StepCallback | None = None,
                cancel: CancelToken | None = None) -> tuple[np.ndarray, str]:
    """Run the pipeline on a PIL RGBA image already at its bucket size.

    Returns (layers as float32 (N, H, W, 4) straight RGBA in [0, 1], bottom first;
    the prompt used). Raises CancelledError, OutOfMemoryError or ModelError.
    """
    import torch

    pipe = loaded.pipe
    cancel = cancel or CancelToken()
    report = on_step or (lambda step, total, message: None)
    total = int(settings.steps)

    on_step_end = cancellable_step_callback(cancel, report, total, "Separating layers")

    try:
        cancel.raise_if_cancelled()
        prompt = settings.prompt.strip()
        if not prompt:
            report(0, total, "Describing the image")
            prompt = caption_image(pipe, image, settings.language, cancel, settings.max_caption_tokens)
            # an empty caption would make the pipeline caption again, uncancellably
            prompt = prompt or "An image."
        cancel.raise_if_cancelled()
        report(0, total, "Separating layers")
        generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
        out = pipe(
            image=image,
            prompt=prompt,
            negative_prompt=settings.negative_prompt,
            true_cfg_scale=float(settings.cfg_scale),
            layers=int(settings.layers),
            num_inference_steps=total,
            num_images_per_prompt=1,
            generator=generator,
            output_type="np",
            resolution=int(settings.resolution),
            cfg_normalize=bool(settings.cfg_normalize),
            use_en_prompt=settings.language != "zh",
            callback_on_step_end=on_step_end,
            callback_on_step_end_tensor_inputs=[],
        )
        cancel.raise_if_cancelled()  # cancelled during the VAE decode
        layers = np.asarray(out.images[0], dtype=np.float32)
    except (Interrupted, CancelledError):
        reset_pipeline(pipe)
        raise CancelledError("Decomposition cancelled.") from None
    except KeyboardInterrupt:
        reset_pipeline(pipe)
        raise
    except Exception as exc:  # noqa: BLE001 - nothing escapes as a raw exception
        reset_pipeline(pipe)
        if isinstance(exc, ModelError):
            raise
        if is_out_of_memory(exc):
            free_device_memory(loaded.info)
            raise OutOfMemoryError(
                f"{loaded.info.name or loaded.info.kind} ran out of memory while decomposing "
                f"({settings.layers} layers at {settings.resolution}, {loaded.plan.mode} mode).",
                out_of_memory_hint(loaded.plan.mode, loaded.info)) from None
        raise ModelError(f"Qwen-Image-Layered failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
                         "Try again; if it keeps failing, try another --memory mode or the classical engine.") from None
    if layers.ndim != 4 or layers.shape[0] != settings.layers or layers.shape[-1] != 4:
        raise ModelError(f"Qwen-Image-Layered returned an unexpected result of shape {layers.shape}.",
                         "Check that the diffusers version is the one the editor was built with.")
    return layers, prompt


def reset_pipeline(pipe) -> None:
    """Leave the pipeline as a finished call would: interrupt flag down, offload hooks re-armed."""
    try:
        pipe._interrupt = False
        pipe.maybe_free_model_hooks()
    except Exception:  # pragma: no cover - best effort
        pass

"""One call of a loaded pipeline: step callback, cancel, non-finite check, VAE strategy, errors.

How diffusers 0.42 handles ``pipe._interrupt``: the denoising loop checks it
at the top of each step and ``continue``s, so the remaining steps are
skipped, but the latents are still decoded by the VAE and returned. So the
step callback sets ``_interrupt`` (for any code that looks at it) and then
raises, which leaves the pipeline at once, skipping the decode of a result
nobody wants; :func:`run_pipeline` turns that into :class:`CancelledError`.
Cancel therefore lands within one denoising step.

The same callback checks the latents for NaN/inf after every step (one
device sync per step): a model that overflows fails at the step where it
happens with a clear error, instead of 50 steps later as fully transparent
layers. The decoded output is checked too.

Known diffusers bugs avoided by the callers: ``num_images_per_prompt > 1``
splits the layered output wrongly (always 1), ``output_type="latent"`` raises
UnboundLocalError (``"np"`` is used: floats, no 8-bit rounding).
"""

from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from typing import Callable

import numpy as np

from ...errors import CancelledError, ModelError
from ..jobs import CancelToken
from .loader import LoadedPipeline, hand_back, free_device_memory, keep_offloaded_weights, map_error

log = logging.getLogger(__name__)

#: Steps reported as (step, total, message); step 0 is "before the first denoising step".
StepCallback = Callable[[int, int, str], None]


class Interrupted(Exception):
    """Raised inside the step callback to leave the pipeline without decoding."""


class NonFinite(Exception):
    """Raised inside the step callback when the latents hold NaN or inf."""

    def __init__(self, step: int) -> None:
        super().__init__(f"non-finite latents after step {step}")
        self.step = step


def new_seed() -> int:
    return random.randrange(0, 2 ** 31 - 1)


def cancellable_step_callback(cancel: CancelToken, report: StepCallback, total: int, message: str):
    """A ``callback_on_step_end`` that reports each step, leaves at once on cancel and stops
    on non-finite latents (pass ``callback_on_step_end_tensor_inputs=["latents"]``).

    Cancel is checked before and after the report, so a cancel made while the step ran, or
    by whoever handles the progress, stops the run before the next step's model calls."""
    def leave_if_cancelled(pipeline) -> None:
        if cancel.cancelled:
            pipeline._interrupt = True
            raise Interrupted()

    def on_step_end(pipeline, i, t, callback_kwargs):
        leave_if_cancelled(pipeline)
        latents = callback_kwargs.get("latents")
        if latents is not None:
            import torch

            if not bool(torch.isfinite(latents).all()):
                raise NonFinite(i + 1)
        report(i + 1, total, message)
        leave_if_cancelled(pipeline)
        return {}

    return on_step_end


def reset_pipeline(pipe) -> None:
    """Leave the pipeline as a finished call would: interrupt flag down, offload hooks re-armed."""
    try:
        pipe._interrupt = False
        pipe.maybe_free_model_hooks()
    except Exception:  # pragma: no cover - best effort
        pass


def apply_vae_strategy(pipe, strategy: str) -> None:
    """'batch', 'slicing' (one frame at a time) or 'tiling' (one tile of one frame at a time)."""
    vae = getattr(pipe, "vae", None)
    if vae is None:
        return
    vae.use_slicing = strategy in ("slicing", "tiling")
    vae.use_tiling = strategy == "tiling"


def non_finite_error(label: str, dtype: str, where: str) -> ModelError:
    hint = ("Run it again in fp32 precision (Preferences, or --dtype fp32), or with another seed."
            if dtype != "fp32" else "Try another seed or memory mode; if it keeps happening the "
                                    "weights may be damaged: download them again.")
    return ModelError(f"{label} produced invalid numbers (NaN or infinity) {where} in {dtype}; "
                      "the result would be empty, fully transparent layers, so it was discarded.", hint)


def check_finite(array: np.ndarray, label: str, dtype: str) -> np.ndarray:
    if not np.isfinite(array).all():
        raise non_finite_error(label, dtype, "in the decoded image")
    return array


def run_pipeline(loaded: LoadedPipeline, call: dict, *, label: str, doing: str, message: str,
                 on_step: StepCallback | None, cancel: CancelToken | None, cancelled: str,
                 vae_frames: int, resolution: int, hint: str) -> np.ndarray:
    """Call ``loaded.pipe(**call)`` with progress, cancel and the checks; returns the first
    output of the batch as finite float32 (``output_type="np"``).

    Raises CancelledError, OutOfMemoryError or ModelError, never a raw exception.
    """
    pipe = loaded.pipe
    cancel = cancel or CancelToken()
    report = on_step or (lambda step, total, msg: None)
    total = int(call["num_inference_steps"])
    strategy = loaded.plan.vae_strategy(resolution, vae_frames)
    loaded.vae_strategy = strategy
    try:
        cancel.raise_if_cancelled()
        apply_vae_strategy(pipe, strategy)
        report(0, total, message)
        out = pipe(**call, output_type="np", num_images_per_prompt=1,
                   callback_on_step_end=cancellable_step_callback(cancel, report, total, message),
                   callback_on_step_end_tensor_inputs=["latents"])
        cancel.raise_if_cancelled()  # cancelled during the VAE decode
        # the first (only) image of the batch: (layers, H, W, 4) for Layered, (H, W, 3) for Edit
        result = np.asarray(out.images[0], dtype=np.float32)
    except (Interrupted, CancelledError):
        reset_pipeline(pipe)
        raise CancelledError(cancelled) from None
    except NonFinite as exc:
        reset_pipeline(pipe)
        raise non_finite_error(label, loaded.plan.dtype, f"at denoising step {exc.step}") from None
    except KeyboardInterrupt:
        reset_pipeline(pipe)
        raise
    except BaseException as exc:  # noqa: BLE001 - nothing escapes as a raw exception
        reset_pipeline(pipe)
        raise map_error(exc, label=label, doing=doing, info=loaded.info, mode=loaded.plan.mode,
                        hint=hint) from None
    finally:
        keep_offloaded_weights(pipe, loaded.plan.mode)  # the call re-armed model offload anew
    return check_finite(result, label, loaded.plan.dtype)


# ----- auto-caption with the text encoder resident -------------------------------------

def onload_model_offloaded(module) -> bool:
    """Move a model-offloaded module (accelerate's ``CpuOffload`` hook: model offload and the
    quantized modes) to its device now, offloading the model used before it.

    The hook moves the module when its own ``forward`` runs, but caption generation in
    transformers 5 encodes the image through ``get_image_features`` before the first forward,
    on weights still in RAM: "Input type (CUDABFloat16Type) and weight type (CPUBFloat16Type)
    should be the same" (seen on an H200). Other hooks (sequential and group offload) sit on
    every layer and need nothing."""
    hook = getattr(module, "_hf_hook", None)
    try:
        from accelerate.hooks import CpuOffload, SequentialHook
    except ImportError:  # pragma: no cover - accelerate comes with the model packages
        return False
    hooks = hook.hooks if isinstance(hook, SequentialHook) else (hook,)
    if not any(isinstance(h, CpuOffload) for h in hooks):
        return False
    hook.pre_forward(module)
    return True


@contextmanager
def resident_text_encoder(loaded: LoadedPipeline):
    """Hold the whole text encoder on the device while captioning, in group offload.

    Group offload streams every layer to the GPU on use, which for caption
    generation means the 15.5 GiB encoder crosses the bus once per generated
    token (up to 512). When the plan says the encoder fits whole
    (``plan.caption_resident``), its offload hooks come off, it moves to the
    device for the generation, and goes back to streaming afterwards. Model offload
    (and the quantized modes) move it whole first (:func:`onload_model_offloaded`); full
    mode holds it already; sequential offload has no room.
    """
    pipe = loaded.pipe
    encoder = getattr(pipe, "text_encoder", None)
    if encoder is not None and loaded.plan.mode != "group-offload":
        onload_model_offloaded(encoder)
    if loaded.plan.mode != "group-offload" or not loaded.plan.caption_resident or encoder is None:
        yield False
        return
    try:
        from diffusers.hooks import HookRegistry
        from diffusers.hooks import group_offloading as go

        hook = go._get_top_level_group_offload_hook(encoder)
        if hook is None:
            yield False
            return
        config = hook.config
        registry = HookRegistry.check_if_exists_or_initialize(encoder)
        for name in (go._GROUP_OFFLOADING, go._LAYER_EXECUTION_TRACKER, go._LAZY_PREFETCH_GROUP_OFFLOADING):
            registry.remove_hook(name, recurse=True)
    except Exception as exc:  # noqa: BLE001 - a diffusers change: keep streaming, slower but right
        log.warning("could not hold the text encoder on the device for captioning: %s", exc)
        yield False
        return
    in_ram = {t: t.data for t in (*encoder.parameters(), *encoder.buffers())}
    try:
        encoder.to(config.onload_device)
        yield True
    finally:
        hand_back(in_ram)  # not a copy back from the device: the weights it had stay in RAM
        go._apply_group_offloading(encoder, config)
        keep_offloaded_weights(loaded.pipe, loaded.plan.mode)
        free_device_memory(loaded.info)

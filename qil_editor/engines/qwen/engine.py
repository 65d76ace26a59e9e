"""The ``qwen`` engine: Qwen-Image-Layered from local weights, kept loaded between runs.

Built on :class:`~qil_editor.engines.diffusion.engine.PipelineEngine` (lock,
load through the shared :class:`ModelManager`, unload, availability), the
same base as the edit engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...document import Document, Layer
from ...errors import InputFileError, UsageError
from ..base import Availability, DecomposeOptions
from ..diffusion.device import MEMORY_CHOICES
from ..diffusion.engine import PipelineEngine, StepProgress
from ..diffusion.locate import ModelFolder
from ..jobs import CancelToken, ProgressCallback
from .locate import PIPELINE_CLASS, SPEC
from .resize import MAX_ASPECT, RESOLUTIONS, as_rgba_u8, layers_to_input_size, resize_rgba, working_size

#: Layer count used for ``layers=auto``: the model card's and demo's default,
#: enough for background / subject / text / details on typical posters.
AUTO_LAYERS = 4


@dataclass(frozen=True)
class RunInfo:
    """What the last run used, for the UI and logs (the seed makes a result reproducible)."""

    seed: int
    prompt: str
    layers: int
    bucket: tuple[int, int]
    mode: str
    device: str
    dtype: str
    seconds: float
    vae_strategy: str = "batch"


def layer_names(count: int) -> list[str]:
    """Bottom first: 'Background', then 'Layer 1'... (the model does not label its layers)."""
    return ["Background"] + [f"Layer {i}" for i in range(1, count)]


class QwenDecomposer(PipelineEngine):
    """Decomposes with Qwen-Image-Layered; the pipeline stays loaded until :meth:`unload`.

    A new pipeline is loaded only when the model folder, device, precision or
    memory mode changes (a LoRA change swaps adapters in place); the memory
    plan is made once per load. Besides the regular options, ``options.extra``
    may hold ``dtype`` ('bf16', 'fp32'), ``cfg_normalize`` (default True, as in
    the official demo) and ``restore_detail`` (default True; False keeps the
    model's layers as scaled).
    """

    name = "qwen"
    label = "Qwen-Image-Layered"
    spec = SPEC
    pipeline_class = PIPELINE_CLASS

    def __init__(self, places=None, manager=None) -> None:
        super().__init__(places, manager)
        self.last_run: RunInfo | None = None

    # ----- availability ---------------------------------------------------------
    def locate(self, options: DecomposeOptions | str | None = None) -> ModelFolder:
        model_dir = options.model_dir if isinstance(options, DecomposeOptions) else options
        return super().locate(model_dir)

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        """Cheap check (no torch import): weights found and valid, diffusers installed."""
        return self.model_availability(options.model_dir if options else None)

    # ----- loading --------------------------------------------------------------
    def _ensure_loaded(self, options: DecomposeOptions, layers: int):
        from .loader import set_lora

        if options.memory not in MEMORY_CHOICES:
            raise UsageError(f"Unknown memory mode {options.memory!r}.",
                             f"Choose one of: {', '.join(MEMORY_CHOICES)}.")
        loaded = self.acquire(options.model_dir, device=options.device, memory=options.memory,
                              dtype=options.extra.get("dtype"), resolution=options.resolution, layers=layers)
        set_lora(loaded, options.lora_path)
        return loaded

    # ----- running --------------------------------------------------------------
    def decompose(self, image: np.ndarray, options: DecomposeOptions,
                  progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Document:
        from PIL import Image

        from .pipeline_run import RunSettings, new_seed, run_layered

        cancel = cancel or CancelToken()
        if options.resolution not in RESOLUTIONS:
            raise UsageError(f"Resolution must be 640 or 1024 for {self.label}, got {options.resolution}.")
        try:
            rgba = as_rgba_u8(image)
        except ValueError as exc:
            raise InputFileError(f"The image cannot be decomposed: {exc}.") from None
        height, width = rgba.shape[:2]
        if max(width / height, height / width) > MAX_ASPECT:
            raise InputFileError(f"The image is {width}x{height} pixels, too elongated for {self.label} "
                                 f"(at most 1:{MAX_ASPECT:g}).", "Crop it, or use the classical engine.")
        layers = int(options.layers) if options.layers is not None else AUTO_LAYERS
        steps = int(options.steps)
        report = StepProgress(progress, steps, "Loading the model")
        seed = int(options.seed) if options.seed is not None else new_seed()
        start = time.perf_counter()
        with self.running():
            cancel.raise_if_cancelled()
            report.finish(0, "Loading the model")
            loaded = self._ensure_loaded(options, layers)
            cancel.raise_if_cancelled()
            bucket = working_size(width, height, options.resolution)
            model_input = Image.fromarray(resize_rgba(rgba, *bucket), "RGBA")
            settings = RunSettings(
                layers=layers, resolution=options.resolution, steps=steps,
                cfg_scale=float(options.cfg_scale), negative_prompt=options.negative_prompt,
                seed=seed, prompt=options.prompt or "", language=options.language,
                cfg_normalize=bool(options.extra.get("cfg_normalize", True)))
            raw, prompt = run_layered(loaded, model_input, settings, report, cancel)
        report.finish(steps, "Scaling layers to the image size")
        target = rgba if options.extra.get("restore_detail", True) else None
        pixels = layers_to_input_size(list(raw), width, height, target)
        cancel.raise_if_cancelled()
        self.last_run = RunInfo(seed, prompt, layers, bucket, loaded.plan.mode, loaded.info.torch_device,
                                loaded.plan.dtype, time.perf_counter() - start, loaded.vae_strategy)
        doc_layers = [Layer(p, name=n) for p, n in zip(pixels, layer_names(len(pixels)))]
        return Document(width, height, doc_layers)

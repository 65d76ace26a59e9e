"""The ``qwen`` engine: Qwen-Image-Layered from local weights, kept loaded between runs.

Thread safety: a QThread worker may call :meth:`QwenDecomposer.decompose`
while the UI thread asks :meth:`availability`. One lock serialises loading,
running and unloading (a diffusers pipeline is not re-entrant); availability
only reads the disk and does not take it. Cancel comes through the
:class:`CancelToken`, which is thread-safe.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import dataclass

import numpy as np

from ...document import Document, Layer
from ...errors import InputFileError, ModelError, UsageError
from ...resources import build_flavour
from ..base import Availability, DecomposeOptions
from ..jobs import CancelToken, ProgressCallback, ProgressTracker
from .device import MEMORY_CHOICES, choose_memory_mode, probe_device
from .locate import ModelFolder, SearchPlaces, find_model
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


def layer_names(count: int) -> list[str]:
    """Bottom first: 'Background', then 'Layer 1'... (the model does not label its layers)."""
    return ["Background"] + [f"Layer {i}" for i in range(1, count)]


class QwenDecomposer:
    """Decomposes with Qwen-Image-Layered; the pipeline stays loaded until :meth:`unload`.

    A new pipeline is loaded only when the model folder, device, precision or
    memory mode changes (a LoRA change swaps adapters in place). Besides the
    regular options, ``options.extra`` may hold ``dtype`` ('bf16', 'fp16',
    'fp32'), ``cfg_normalize`` (default True, as in the official demo) and
    ``restore_detail`` (default True; False keeps the model's layers as scaled).
    """

    name = "qwen"
    label = "Qwen-Image-Layered"

    def __init__(self, places: SearchPlaces | None = None) -> None:
        self.places = places
        self._lock = threading.RLock()
        self._loaded = None  # LoadedPipeline
        self.load_count = 0
        self.last_run: RunInfo | None = None

    # ----- availability ---------------------------------------------------------
    def locate(self, options: DecomposeOptions | None = None) -> ModelFolder:
        return find_model(options.model_dir if options else None, self.places)

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        """Cheap check (no torch import): weights found and valid, diffusers installed."""
        for module in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(module) is None:
                if build_flavour() == "lite":
                    return Availability(False, "this build of QIL Editor has no model support; get "
                                               "the full build to use Qwen-Image-Layered (the "
                                               "classical engine works here).")
                return Availability(False, f"the Python package '{module}' is not installed.")
        try:
            self.locate(options)
        except ModelError as err:
            return Availability(False, str(err))
        return Availability(True)

    # ----- loading --------------------------------------------------------------
    @property
    def loaded(self):
        return self._loaded

    def unload(self) -> None:
        """Free the model's memory; the next run loads it again."""
        from .loader import unload_pipeline

        with self._lock:
            loaded, self._loaded = self._loaded, None
            unload_pipeline(loaded)

    def _ensure_loaded(self, options: DecomposeOptions, layers: int):
        from .loader import LoadKey, load_pipeline, set_lora

        if options.memory not in MEMORY_CHOICES:
            raise UsageError(f"Unknown memory mode {options.memory!r}.",
                             f"Choose one of: {', '.join(MEMORY_CHOICES)}.")
        folder = self.locate(options)
        info = probe_device(options.device)
        plan = choose_memory_mode(info, folder.params, dtype=options.extra.get("dtype"),
                                  resolution=options.resolution, layers=layers,
                                  requested=options.memory)
        key = LoadKey(folder.key, info.torch_device, plan.dtype, plan.mode)
        if self._loaded is not None and self._loaded.key != key:
            self.unload()
        if self._loaded is None:
            self._loaded = load_pipeline(folder, info, plan)
            self.load_count += 1
        set_lora(self._loaded, options.lora_path)
        return self._loaded

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
        tracker = ProgressTracker(progress, steps, "Loading the model")
        seed = int(options.seed) if options.seed is not None else new_seed()
        start = time.perf_counter()
        with self._lock:
            cancel.raise_if_cancelled()
            tracker.update(0)
            loaded = self._ensure_loaded(options, layers)
            cancel.raise_if_cancelled()
            bucket = working_size(width, height, options.resolution)
            model_input = Image.fromarray(resize_rgba(rgba, *bucket), "RGBA")
            settings = RunSettings(
                layers=layers, resolution=options.resolution, steps=steps,
                cfg_scale=float(options.cfg_scale), negative_prompt=options.negative_prompt,
                seed=seed, prompt=options.prompt or "", language=options.language,
                cfg_normalize=bool(options.extra.get("cfg_normalize", True)))
            # ETA counts from the first denoising step: loading and captioning are not steps
            step_clock = {"tracker": tracker}

            def on_step(step: int, total: int, message: str) -> None:
                if step == 0:
                    step_clock["tracker"] = ProgressTracker(progress, total, message)
                step_clock["tracker"].update(step, message)

            raw, prompt = run_layered(loaded, model_input, settings, on_step, cancel)
        tracker = step_clock["tracker"]
        tracker.update(steps, "Scaling layers to the image size")
        target = rgba if options.extra.get("restore_detail", True) else None
        pixels = layers_to_input_size(list(raw), width, height, target)
        cancel.raise_if_cancelled()
        self.last_run = RunInfo(seed, prompt, layers, bucket, loaded.plan.mode, loaded.info.torch_device,
                                loaded.plan.dtype, time.perf_counter() - start)
        doc_layers = [Layer(p, name=n) for p, n in zip(pixels, layer_names(len(pixels)))]
        return Document(width, height, doc_layers)

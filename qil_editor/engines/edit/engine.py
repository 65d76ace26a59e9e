"""Re-prompting one layer: Qwen-Image-Edit on the layer over a matte, then its alpha back.

:class:`QwenLayerEditor` is to editing what ``QwenDecomposer`` is to
decomposing, with the same device, memory-mode, progress and cancel
machinery, and the same thread-safety rule (one lock around load, run and
unload; availability only reads the disk). The result is a
:class:`LayerEdit` that the caller previews and then applies as one undo
step (``ReplacePixels``); nothing touches the document before that.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...document import Document, Layer, ReplacePixels
from ...errors import ModelError, UsageError
from ..base import Availability, DecomposeOptions
from ..jobs import CancelToken, ProgressCallback, ProgressTracker
from ..qwen.device import MEMORY_CHOICES, choose_memory_mode, probe_device
from ..qwen.locate import ModelFolder, SearchPlaces
from ..qwen.resize import bucket_size
from . import region as region_ops
from .locate import find_edit_model

ALPHA_METHODS = ("matting", "layered")


@dataclass(frozen=True)
class EditOptions:
    """One re-prompt. ``shape``: 'keep' reuses the alpha exactly, 'new' lets the outline change."""

    prompt: str
    shape: str = "new"
    steps: int = 40
    cfg_scale: float = 4.0
    negative_prompt: str = " "
    seed: int | None = None
    resolution: int = 1024          # the model works on about resolution^2 pixels
    margin: float = 0.125           # matte around the content, as a share of its longer side
    matte: tuple[int, int, int] | None = None  # None: chosen to contrast with the layer
    alpha_method: str = "matting"   # 'layered': a 2-layer Qwen-Image-Layered pass finds the new alpha
    layered_steps: int = 30
    layered_model_dir: str | None = None
    device: str = "auto"
    memory: str = "auto"
    model_dir: str | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        if not str(self.prompt).strip():
            raise UsageError("The edit needs a prompt (what to change).",
                             'For example: "make the bottle blue glass".')
        if self.shape not in region_ops.SHAPES:
            raise UsageError(f"Unknown shape mode {self.shape!r}.", "Use 'keep' or 'new'.")
        if int(self.steps) < 1:
            raise UsageError(f"Steps must be at least 1, got {self.steps}.")
        if not 64 <= int(self.resolution) <= 2048:
            raise UsageError(f"Resolution must be between 64 and 2048, got {self.resolution}.")
        if self.alpha_method not in ALPHA_METHODS:
            raise UsageError(f"Unknown alpha method {self.alpha_method!r}.",
                             f"Use one of: {', '.join(ALPHA_METHODS)}.")
        if self.memory not in MEMORY_CHOICES:
            raise UsageError(f"Unknown memory mode {self.memory!r}.",
                             f"Choose one of: {', '.join(MEMORY_CHOICES)}.")


@dataclass(frozen=True)
class LayerEdit:
    """A finished edit, not yet applied: new pixels and offset for one layer."""

    layer_id: str
    pixels: np.ndarray
    x: int
    y: int
    options: EditOptions
    seed: int
    model_input: np.ndarray   # what the model saw (RGB over the matte)
    model_output: np.ndarray  # what it returned, at the region's size
    seconds: float

    def command(self) -> ReplacePixels:
        return ReplacePixels(self.layer_id, self.pixels, self.x, self.y,
                             text=f"Re-prompt layer: {self.options.prompt[:40]}")

    def preview_layers(self, doc: Document) -> list[Layer]:
        """The document's layers with this edit in place (for a preview; the document is untouched)."""
        return [layer.copy(pixels=self.pixels, x=self.x, y=self.y) if layer.id == self.layer_id else layer
                for layer in doc.layers]


def _resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return rgb
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return cv2.resize(rgb, (int(width), int(height)), interpolation=interp)


class QwenLayerEditor:
    name = "qwen-edit"
    label = "Qwen-Image-Edit"

    def __init__(self, places: SearchPlaces | None = None, *, layered=None,
                 make_room: Callable[[], None] | None = None) -> None:
        """``layered``: a decomposer for the 'layered' alpha method; ``make_room``: called
        before loading, to unload other models (two 20 B models rarely fit together)."""
        self.places = places
        self.layered = layered
        self.make_room = make_room
        self._lock = threading.RLock()
        self._loaded = None
        self.load_count = 0

    # ----- availability ---------------------------------------------------------
    def locate(self, options: EditOptions | None = None) -> ModelFolder:
        return find_edit_model(options.model_dir if options else None, self.places)

    def availability(self, options: EditOptions | None = None) -> Availability:
        """Cheap check (no torch import): weights found and valid, diffusers installed."""
        for module in ("torch", "diffusers", "transformers"):
            if importlib.util.find_spec(module) is None:
                return Availability(False, f"the Python package '{module}' is not installed.")
        try:
            self.locate(options)
        except ModelError as err:
            return Availability(False, str(err))
        return Availability(True)

    def layered_available(self, options: EditOptions | None = None) -> bool:
        if self.layered is None:
            return False
        model_dir = options.layered_model_dir if options else None
        return self.layered.availability(DecomposeOptions(layers=2, model_dir=model_dir)).ok

    # ----- loading --------------------------------------------------------------
    @property
    def loaded(self):
        return self._loaded

    def unload(self) -> None:
        from ..qwen.loader import unload_pipeline

        with self._lock:
            loaded, self._loaded = self._loaded, None
            unload_pipeline(loaded)

    def _ensure_loaded(self, options: EditOptions):
        from .loader import LoadKey, load_edit_pipeline

        folder = self.locate(options)
        info = probe_device(options.device)
        plan = choose_memory_mode(info, folder.params, dtype=options.dtype,
                                  resolution=1024 if options.resolution > 640 else 640, layers=1,
                                  requested=options.memory)
        key = LoadKey(folder.key, info.torch_device, plan.dtype, plan.mode)
        if self._loaded is not None and self._loaded.key != key:
            self.unload()
        if self._loaded is None:
            if self.make_room is not None:
                self.make_room()
            self._loaded = load_edit_pipeline(folder, info, plan)
            self.load_count += 1
        return self._loaded

    # ----- running --------------------------------------------------------------
    def edit_rgb(self, rgb: np.ndarray, options: EditOptions, seed: int,
                 on_step=None, cancel: CancelToken | None = None) -> np.ndarray:
        """Run the model on an RGB uint8 image; returns RGB uint8 at the same size."""
        from PIL import Image

        from .run import EditRunSettings, run_edit

        height, width = rgb.shape[:2]
        out_w, out_h = bucket_size(width, height, int(options.resolution))
        out_w, out_h = max(32, out_w), max(32, out_h)
        with self._lock:
            loaded = self._ensure_loaded(options)
            if cancel is not None:
                cancel.raise_if_cancelled()
            settings = EditRunSettings(prompt=options.prompt.strip(), width=out_w, height=out_h,
                                       steps=int(options.steps), cfg_scale=float(options.cfg_scale),
                                       negative_prompt=options.negative_prompt, seed=int(seed))
            result = run_edit(loaded, Image.fromarray(rgb, "RGB"), settings, on_step, cancel)
        result = np.clip(np.rint(result * 255.0), 0, 255).astype(np.uint8)
        return _resize_rgb(result, width, height)

    def edit_layer(self, layer: Layer, options: EditOptions,
                   progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None) -> LayerEdit:
        """Edit one layer's pixels as asked; the layer object itself is not changed."""
        from ..qwen.pipeline_run import new_seed

        cancel = cancel or CancelToken()
        start = time.perf_counter()
        seed = int(options.seed) if options.seed is not None else new_seed()
        use_layered = options.shape == "new" and options.alpha_method == "layered"
        if use_layered and not self.layered_available(options):
            raise ModelError("The 'layered' alpha method needs the Qwen-Image-Layered weights, "
                             "which were not found.", "Use --alpha matting, or download Qwen-Image-Layered "
                             "(see model/README.md).")
        prepared = region_ops.prepare(layer.pixels, options.shape, options.margin, options.matte)
        tracker = ProgressTracker(progress, int(options.steps), "Loading the edit model")
        tracker.update(0)
        clock = {"tracker": tracker}

        def on_step(step: int, total: int, message: str) -> None:
            if step == 0:  # ETA from the first denoising step: loading is not a step
                clock["tracker"] = ProgressTracker(progress, total, message)
            clock["tracker"].update(step, message)

        edited = self.edit_rgb(prepared.model_input, options, seed, on_step, cancel)
        cancel.raise_if_cancelled()
        new_alpha = self._layered_alpha(edited, options, seed, progress, cancel) if use_layered else None
        clock["tracker"].update(int(options.steps), "Recovering transparency")
        result = region_ops.recover(prepared, edited, options.shape, new_alpha)
        pixels, dx, dy = region_ops.place(layer.pixels, prepared, result, options.shape)
        cancel.raise_if_cancelled()
        return LayerEdit(layer.id, pixels, layer.x + dx, layer.y + dy, options, seed,
                         prepared.model_input, edited, time.perf_counter() - start)

    def _layered_alpha(self, edited: np.ndarray, options: EditOptions, seed: int,
                       progress: ProgressCallback | None, cancel: CancelToken) -> np.ndarray:
        """Alpha of the edited object from a 2-layer Qwen-Image-Layered pass (top layer = object)."""
        self.unload()  # the two models together rarely fit
        rgba = np.dstack([edited, np.full(edited.shape[:2], 255, np.uint8)])
        opts = DecomposeOptions(layers=2, resolution=640, steps=int(options.layered_steps), seed=seed,
                                prompt=options.prompt.strip(), device=options.device, memory=options.memory,
                                model_dir=options.layered_model_dir)
        doc = self.layered.decompose(rgba, opts, progress, cancel)
        alphas = [layer.pixels[..., 3] for layer in doc.layers[1:]]
        return np.max(np.stack(alphas), axis=0) if alphas else np.zeros(edited.shape[:2], np.uint8)

    def edit_document_layer(self, doc: Document, layer_ref: str | int, options: EditOptions,
                            progress: ProgressCallback | None = None,
                            cancel: CancelToken | None = None) -> LayerEdit:
        """Look a layer up by id, index (0 = bottom) or name, and edit it."""
        layer = find_layer(doc, layer_ref)
        return self.edit_layer(layer, options, progress, cancel)


def find_layer(doc: Document, layer_ref: str | int) -> Layer:
    """A layer by id, index (0 = bottom, negative from the top) or name; UsageError if none."""
    if isinstance(layer_ref, str):
        for layer in doc.layers:
            if layer.id == layer_ref:
                return layer
    try:
        return doc.find(layer_ref)
    except KeyError as err:
        names = ", ".join(f"{i}: {layer.name}" for i, layer in enumerate(doc.layers))
        raise UsageError(f"There is {err.args[0]}.", f"Layers (0 = bottom): {names}.") from None

"""Re-prompting one layer: Qwen-Image-Edit on the layer over a matte, then its alpha back.

:class:`QwenLayerEditor` and ``QwenDecomposer`` share one base
(:class:`~qil_editor.engines.diffusion.engine.PipelineEngine`): device and
memory plan, loading, the run wrapper, and one :class:`ModelManager`, so
loading the edit model unloads the decomposer first when both do not fit
(and the other way round). The result is a
:class:`LayerEdit` that the caller previews and then applies as one undo
step (``ReplacePixels``); nothing touches the document before that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...document import Document, Layer, ReplacePixels
from ...document.tree import find_layer
from ...errors import ModelError, UsageError
from ..base import Availability, DecomposeOptions
from ..diffusion.device import MEMORY_CHOICES
from ..diffusion.engine import PipelineEngine, StepProgress
from ..diffusion.locate import ModelFolder, SearchPlaces
from ..jobs import CancelToken, ProgressCallback
from ..qwen.resize import bucket_size
from . import region as region_ops
from .locate import PIPELINE_CLASS, SPEC

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


class QwenLayerEditor(PipelineEngine):
    name = "qwen-edit"
    label = "Qwen-Image-Edit"
    spec = SPEC
    pipeline_class = PIPELINE_CLASS

    def __init__(self, places: SearchPlaces | None = None, *, layered=None, manager=None) -> None:
        """``layered``: a decomposer for the 'layered' alpha method. Memory is shared with
        every other engine through ``manager`` (the process's one by default)."""
        super().__init__(places, manager)
        self.layered = layered

    # ----- availability ---------------------------------------------------------
    def locate(self, options: EditOptions | str | None = None) -> ModelFolder:
        model_dir = options.model_dir if isinstance(options, EditOptions) else options
        return super().locate(model_dir)

    def availability(self, options: EditOptions | None = None) -> Availability:
        """Cheap check (no torch import): weights found and valid, diffusers installed."""
        return self.model_availability(options.model_dir if options else None)

    def layered_available(self, options: EditOptions | None = None) -> bool:
        if self.layered is None:
            return False
        model_dir = options.layered_model_dir if options else None
        return self.layered.availability(DecomposeOptions(layers=2, model_dir=model_dir)).ok

    def _ensure_loaded(self, options: EditOptions):
        return self.acquire(options.model_dir, device=options.device, memory=options.memory,
                            dtype=options.dtype, resolution=1024 if options.resolution > 640 else 640,
                            layers=1)

    # ----- running --------------------------------------------------------------
    def edit_rgb(self, rgb: np.ndarray, options: EditOptions, seed: int,
                 on_step=None, cancel: CancelToken | None = None) -> np.ndarray:
        """Run the model on an RGB uint8 image; returns RGB uint8 at the same size."""
        from PIL import Image

        from .run import EditRunSettings, run_edit

        height, width = rgb.shape[:2]
        out_w, out_h = bucket_size(width, height, int(options.resolution))
        out_w, out_h = max(32, out_w), max(32, out_h)
        with self.running():
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
        from ..diffusion.run import new_seed

        cancel = cancel or CancelToken()
        start = time.perf_counter()
        seed = int(options.seed) if options.seed is not None else new_seed()
        use_layered = options.shape == "new" and options.alpha_method == "layered"
        if use_layered and not self.layered_available(options):
            raise ModelError("The 'layered' alpha method needs the Qwen-Image-Layered weights, "
                             "which were not found.", "Use --alpha matting, or download Qwen-Image-Layered "
                             "(see model/README.md).")
        prepared = region_ops.prepare(layer.pixels, options.shape, options.margin, options.matte)
        report = StepProgress(progress, int(options.steps), "Loading the edit model")
        report.finish(0, "Loading the edit model")
        edited = self.edit_rgb(prepared.model_input, options, seed, report, cancel)
        cancel.raise_if_cancelled()
        new_alpha = self._layered_alpha(edited, options, seed, progress, cancel) if use_layered else None
        report.finish(int(options.steps), "Recovering transparency")
        result = region_ops.recover(prepared, edited, options.shape, new_alpha)
        pixels, dx, dy = region_ops.place(layer.pixels, prepared, result, options.shape)
        cancel.raise_if_cancelled()
        return LayerEdit(layer.id, pixels, layer.x + dx, layer.y + dy, options, seed,
                         prepared.model_input, edited, time.perf_counter() - start)

    def _layered_alpha(self, edited: np.ndarray, options: EditOptions, seed: int,
                       progress: ProgressCallback | None, cancel: CancelToken) -> np.ndarray:
        """Alpha of the edited object from a 2-layer Qwen-Image-Layered pass (top layer = object)."""
        # the manager unloads this model first if the two do not fit together
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



"""Qwen-Image-Layered through diffusers, from local weights only.

Importing this package is cheap: torch, diffusers and transformers are
imported inside the functions that load or run the model.

Built on the diffusion core shared with the edit engine
(:mod:`qil_editor.engines.diffusion`). Modules here: ``locate`` (this
model's spec), ``device`` (the shared planner, re-exported), ``loader``
(this pipeline class, LoRA), ``pipeline_run`` (caption, then the shared
run wrapper), ``resize`` (bucket sizes, premultiplied resampling),
``engine`` (the :class:`QwenDecomposer` the registry creates).
"""

from .engine import AUTO_LAYERS, QwenDecomposer, RunInfo, layer_names
from .locate import ENV_VAR, FOLDER_NAME, HUB_ID, ModelFolder, SearchPlaces, check_model_folder, find_model

__all__ = [
    "AUTO_LAYERS", "ENV_VAR", "FOLDER_NAME", "HUB_ID", "ModelFolder", "QwenDecomposer", "RunInfo",
    "SearchPlaces", "check_model_folder", "find_model", "layer_names",
]

"""Qwen-Image-Layered through diffusers, from local weights only.

Importing this package is cheap: torch, diffusers and transformers are
imported inside the functions that load or run the model.

Modules: ``locate`` (finding and checking model folders), ``device``
(device, dtype and memory-mode planning), ``loader`` (loading, placing,
LoRA), ``pipeline_run`` (one pipeline call with progress and cancel),
``resize`` (bucket sizes, premultiplied resampling), ``engine`` (the
:class:`QwenDecomposer` the registry creates).
"""

from .engine import AUTO_LAYERS, QwenDecomposer, RunInfo, layer_names
from .locate import ENV_VAR, FOLDER_NAME, HUB_ID, ModelFolder, SearchPlaces, check_model_folder, find_model

__all__ = [
    "AUTO_LAYERS", "ENV_VAR", "FOLDER_NAME", "HUB_ID", "ModelFolder", "QwenDecomposer", "RunInfo",
    "SearchPlaces", "check_model_folder", "find_model", "layer_names",
]

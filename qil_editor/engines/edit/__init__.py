"""Re-prompting layers: text-guided edits of one RGBA layer, and re-decomposition by prompt.

Importing this package is cheap: only the model-folder names and checks
(``locate``) load with it; the rest (NumPy, OpenCV, the engine) loads on first
use of a name below, so the editor's start-up can ask whether the edit model is
installed without paying for image processing. Modules: ``alpha`` (matte
compositing, un-matting, alpha estimation), ``region`` (what part of the layer
the model sees and how the result goes back), ``locate``/``run`` (the
Qwen-Image-Edit spec and call on the shared diffusion core), ``engine``
(:class:`QwenLayerEditor`), ``redecompose`` (splitting a layer with
Qwen-Image-Layered).
"""

from ...lazy_names import lazy_names
from .locate import DEFAULT_FOLDER, DOWNLOAD_HINT, ENV_VAR, HUB_IDS, check_edit_model_folder, find_edit_model

_LAZY = {
    "ALPHA_METHODS": "engine", "EditOptions": "engine", "LayerEdit": "engine", "QwenLayerEditor": "engine",
    "find_layer": "engine", "LayerSplit": "redecompose", "redecompose_layer": "redecompose", "SHAPES": "region",
}

__all__ = [
    "ALPHA_METHODS", "DEFAULT_FOLDER", "DOWNLOAD_HINT", "ENV_VAR", "EditOptions", "HUB_IDS", "LayerEdit",
    "LayerSplit", "QwenLayerEditor", "SHAPES", "check_edit_model_folder", "find_edit_model", "find_layer",
    "redecompose_layer",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

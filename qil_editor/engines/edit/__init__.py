"""Re-prompting layers: text-guided edits of one RGBA layer, and re-decomposition by prompt.

Importing this package is cheap (no torch): the model is imported when it
is first loaded. Modules: ``alpha`` (matte compositing, un-matting, alpha
estimation), ``region`` (what part of the layer the model sees and how the
result goes back), ``locate``/``run`` (the Qwen-Image-Edit spec and call on the
shared diffusion core), ``engine`` (:class:`QwenLayerEditor`), ``redecompose``
(splitting a layer with Qwen-Image-Layered).
"""

from .engine import ALPHA_METHODS, EditOptions, LayerEdit, QwenLayerEditor, find_layer
from .locate import DEFAULT_FOLDER, DOWNLOAD_HINT, ENV_VAR, HUB_IDS, check_edit_model_folder, find_edit_model
from .redecompose import LayerSplit, redecompose_layer
from .region import SHAPES

__all__ = [
    "ALPHA_METHODS", "DEFAULT_FOLDER", "DOWNLOAD_HINT", "ENV_VAR", "EditOptions", "HUB_IDS", "LayerEdit",
    "LayerSplit", "QwenLayerEditor", "SHAPES", "check_edit_model_folder", "find_edit_model", "find_layer",
    "redecompose_layer",
]

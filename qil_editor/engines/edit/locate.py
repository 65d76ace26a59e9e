"""Where Qwen-Image-Edit (2509 or newer) lives: its :class:`ModelSpec` for the shared folder
check and search (:mod:`qil_editor.engines.diffusion.locate`). Never the network."""

from __future__ import annotations

import os
from pathlib import Path

from ..diffusion.locate import (ModelFolder, ModelSpec, SearchPlaces, check_folder, describe_folder, find_folder,
                                project_dirs)
from ..diffusion.locate import hf_cache_snapshots as _snapshots

#: Hub ids that hold QwenImageEditPlusPipeline weights, newest first.
HUB_IDS = ("Qwen/Qwen-Image-Edit-2511", "Qwen/Qwen-Image-Edit-2509")
FOLDER_NAMES = tuple(hub_id.split("/")[1] for hub_id in HUB_IDS)
DEFAULT_FOLDER = "Qwen-Image-Edit-2509"
ENV_VAR = "QIL_EDIT_MODEL_DIR"
PIPELINE_CLASS = "QwenImageEditPlusPipeline"
DOWNLOAD_HINT = ("To edit layers by prompt, download the edit weights (about 58 GB) into "
                 f"model/{DEFAULT_FOLDER}: hf download Qwen/{DEFAULT_FOLDER} --local-dir model/{DEFAULT_FOLDER} "
                 f"(or a newer Qwen-Image-Edit release), or set {ENV_VAR} to their folder. "
                 "See model/README.md.")

SPEC = ModelSpec(
    label="Qwen-Image-Edit", pipeline_class=PIPELINE_CLASS, hub_ids=HUB_IDS,
    folder_names=(DEFAULT_FOLDER,) + tuple(n for n in FOLDER_NAMES if n != DEFAULT_FOLDER),
    env_var=ENV_VAR, download_hint=DOWNLOAD_HINT, noun="edit model folder", vae_input_channels=3,
    class_hints={"QwenImageEditPipeline": "The original Qwen-Image-Edit (2508) edits one image only and "
                                          "is not supported. "})


def check_edit_model_folder(path: str | os.PathLike, source: str = "folder") -> ModelFolder:
    """Validate a folder as Qwen-Image-Edit (Plus) in the diffusers layout, or raise ModelError."""
    return check_folder(SPEC, path, source)


def find_edit_model(explicit: str | os.PathLike | None = None, places: SearchPlaces | None = None) -> ModelFolder:
    """The edit model folder to load from. A named folder is used as is (no silent fallback)."""
    return find_folder(SPEC, explicit, places)


def project_edit_dirs() -> list[Path]:
    return project_dirs(SPEC)


def hf_cache_snapshots(cache_dir: str | os.PathLike | None = None) -> list[Path]:
    return _snapshots(SPEC, cache_dir)


def describe_edit_model(places: SearchPlaces | None = None) -> str:
    """One line for Settings / About: where the edit weights are, or where they would go."""
    return describe_folder(SPEC, places)


__all__ = ["DEFAULT_FOLDER", "DOWNLOAD_HINT", "ENV_VAR", "HUB_IDS", "PIPELINE_CLASS", "SPEC",
           "check_edit_model_folder", "describe_edit_model", "find_edit_model", "hf_cache_snapshots",
           "project_edit_dirs"]

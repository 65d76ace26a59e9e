"""Where Qwen-Image-Layered lives: its :class:`ModelSpec` for the shared folder check and search
(:mod:`qil_editor.engines.diffusion.locate`). Never the network."""

from __future__ import annotations

import os
from pathlib import Path

from ..diffusion.locate import (EXPECTED_COMPONENTS, WEIGHT_COMPONENTS, ModelFolder, ModelSpec, SearchPlaces,
                                check_folder, find_folder, hf_cache_snapshots, project_dirs)

HUB_ID = "Qwen/Qwen-Image-Layered"
FOLDER_NAME = "Qwen-Image-Layered"
ENV_VAR = "QIL_MODEL_DIR"
PIPELINE_CLASS = "QwenImageLayeredPipeline"
README_HINT = ("See model/README.md for how to download the weights "
               f"(hf download {HUB_ID} --local-dir model/{FOLDER_NAME}).")

SPEC = ModelSpec(
    label="Qwen-Image-Layered", pipeline_class=PIPELINE_CLASS, hub_ids=(HUB_ID,),
    folder_names=(FOLDER_NAME,), env_var=ENV_VAR, download_hint=README_HINT,
    vae_input_channels=4, layer3d_rope=True)


def check_model_folder(path: str | os.PathLike, source: str = "folder") -> ModelFolder:
    """Validate a folder as Qwen-Image-Layered in the diffusers layout, or raise ModelError."""
    return check_folder(SPEC, path, source)


def find_model(explicit: str | os.PathLike | None = None, places: SearchPlaces | None = None) -> ModelFolder:
    """The folder to load from. A named folder is used as is (no silent fallback)."""
    return find_folder(SPEC, explicit, places)


def project_model_dirs() -> list[Path]:
    return project_dirs(SPEC)


def hf_cache_snapshot(cache_dir: str | os.PathLike | None = None) -> Path | None:
    found = hf_cache_snapshots(SPEC, cache_dir)
    return found[0] if found else None


__all__ = ["ENV_VAR", "EXPECTED_COMPONENTS", "FOLDER_NAME", "HUB_ID", "ModelFolder", "PIPELINE_CLASS",
           "README_HINT", "SPEC", "SearchPlaces", "WEIGHT_COMPONENTS", "check_model_folder", "find_model",
           "hf_cache_snapshot", "project_model_dirs"]

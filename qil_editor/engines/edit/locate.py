"""Finding and checking a local Qwen-Image-Edit folder, without importing torch.

Same rules as the decomposer's (:mod:`qil_editor.engines.qwen.locate`, whose
safetensors and component checks are reused): a folder named by the user,
``QIL_EDIT_MODEL_DIR``, ``model/Qwen-Image-Edit-2509`` (or a newer release's
folder) in the project or beside the packaged app, or a snapshot already in
the local Hugging Face cache. Never the network.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ...errors import ModelError
from ..qwen.locate import (EXPECTED_COMPONENTS, KNOWN_OTHER_PIPELINES, README_HINT, WEIGHT_COMPONENTS,
                           ModelFolder, SearchPlaces)
from ..qwen.locate import _component_params, _read_json

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


def _fail(folder: Path, what: str, hint: str = DOWNLOAD_HINT) -> ModelError:
    return ModelError(f"The edit model folder {folder} {what}", hint)


def check_edit_model_folder(path: str | os.PathLike, source: str = "folder") -> ModelFolder:
    """Validate a folder as Qwen-Image-Edit (Plus) in the diffusers layout, or raise ModelError."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelError(f"The edit model folder {folder} does not exist.", DOWNLOAD_HINT)
    if not folder.is_dir():
        raise ModelError(f"{folder} is a file, not a model folder.",
                         "Give the folder that contains model_index.json. " + DOWNLOAD_HINT)
    folder = folder.resolve()
    try:
        index_file = folder / "model_index.json"
        if not index_file.is_file():
            raise _fail(folder, "has no model_index.json, so it is not a diffusers model folder.")
        index = _read_json(folder, index_file)
        cls = index.get("_class_name")
        if cls != PIPELINE_CLASS:
            if cls == "QwenImageLayeredPipeline":
                what = "Qwen-Image-Layered (the decomposition model)"
            else:
                known = KNOWN_OTHER_PIPELINES.get(str(cls))
                what = f"{known} ({cls})" if known else repr(cls)
            hint = ("The original Qwen-Image-Edit (2508) edits one image only and is not supported. "
                    if cls == "QwenImageEditPipeline" else "")
            raise _fail(folder, f"holds {what}, not Qwen-Image-Edit-2509 or newer ({PIPELINE_CLASS}).",
                        hint + DOWNLOAD_HINT)
        for name, (library, classes) in EXPECTED_COMPONENTS.items():
            entry = index.get(name)
            if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == library
                    and entry[1] in classes):
                raise _fail(folder, f"has an unexpected {name!r} entry in model_index.json: {entry!r} "
                                    f"(expected {library} {sorted(classes)[0]}).")
            if not (folder / name).is_dir():
                raise _fail(folder, f"has no {name}/ subfolder (incomplete download?).")
        for name in ("transformer", "vae"):
            if not (folder / name / "config.json").is_file():
                raise _fail(folder, f"has no {name}/config.json (incomplete download?).")
        if int(_read_json(folder, folder / "vae" / "config.json").get("input_channels", 3)) != 3:
            raise _fail(folder, "has an RGBA VAE; Qwen-Image-Edit uses an RGB one (is it the Layered model?).")
        params = {name: _component_params(folder, name) for name in WEIGHT_COMPONENTS}
    except ModelError as err:
        # the shared checks word their hints for the Layered model; say what to get here
        message = err.message.replace("The model folder", "The edit model folder", 1)
        hint = err.hint.replace(README_HINT, DOWNLOAD_HINT) if README_HINT in err.hint else err.hint
        raise ModelError(message, hint or DOWNLOAD_HINT) from None
    return ModelFolder(folder, source, params)


def project_edit_dirs() -> list[Path]:
    """model/<folder> in the source tree and beside a packaged executable, default name first."""
    roots = [Path(__file__).resolve().parents[3] / "model"]
    if getattr(sys, "frozen", False):
        roots.insert(0, Path(sys.executable).resolve().parent / "model")
    names = (DEFAULT_FOLDER,) + tuple(n for n in FOLDER_NAMES if n != DEFAULT_FOLDER)
    out: list[Path] = []
    for root in roots:
        for name in names:
            if root / name not in out:
                out.append(root / name)
    return out


def hf_cache_snapshots(cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """Cached snapshots of the edit models on this machine, newest release first (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return []
    found: list[Path] = []
    for hub_id in HUB_IDS:
        try:
            hit = try_to_load_from_cache(hub_id, "model_index.json",
                                         cache_dir=str(cache_dir) if cache_dir else None)
        except Exception:  # a damaged cache is the same as no cache here
            continue
        if isinstance(hit, str):
            found.append(Path(hit).parent)
    return found


def find_edit_model(explicit: str | os.PathLike | None = None,
                    places: SearchPlaces | None = None) -> ModelFolder:
    """The edit model folder to load from. A named folder is used as is (no silent fallback).

    ``places.project_dirs`` (when given) replaces the model/ folders searched.
    """
    places = places or SearchPlaces()
    env = os.environ if places.env is None else places.env
    if explicit:
        return check_edit_model_folder(explicit, "the folder you chose")
    if env.get(ENV_VAR):
        return check_edit_model_folder(env[ENV_VAR], ENV_VAR)
    looked: list[str] = []
    first_error: ModelError | None = None
    dirs = list(places.project_dirs) if places.project_dirs is not None else project_edit_dirs()
    candidates = [(d, "the model/ folder") for d in dirs]
    if places.use_hf_cache:
        cache_dir = places.hf_cache_dir or env.get("HF_HUB_CACHE") or None
        snapshots = hf_cache_snapshots(cache_dir)
        candidates += [(s, "the Hugging Face cache") for s in snapshots]
        if not snapshots:
            looked.append("the Hugging Face cache (" + ", ".join(HUB_IDS) + ")")
    for path, source in candidates:
        if not path.exists():
            looked.append(str(path))
            continue
        try:
            return check_edit_model_folder(path, source)
        except ModelError as err:
            first_error = first_error or err
    if first_error is not None:
        raise first_error
    raise ModelError("The Qwen-Image-Edit weights were not found. Looked in: "
                     + ("; ".join(looked) or "no folders (none configured)") + ".",
                     DOWNLOAD_HINT + " Or pass --model DIR.")


def describe_edit_model(places: SearchPlaces | None = None) -> str:
    """One line for Settings / About: where the edit weights are, or where they would go."""
    try:
        folder = find_edit_model(None, places)
    except ModelError:
        return f"not found (put them in model/{DEFAULT_FOLDER} or set {ENV_VAR})"
    total = sum(folder.params.values())
    return f"{folder.path} ({folder.source}, {total / 1e9:.1f} B parameters)"


__all__ = ["DEFAULT_FOLDER", "DOWNLOAD_HINT", "ENV_VAR", "HUB_IDS", "PIPELINE_CLASS",
           "check_edit_model_folder", "describe_edit_model", "find_edit_model", "hf_cache_snapshots",
           "project_edit_dirs"]

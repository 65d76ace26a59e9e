"""Finding and checking a local Qwen-Image-Layered folder, without importing torch.

The weights never come from the network: a folder named by the user (``--model``,
settings) or ``QIL_MODEL_DIR``, ``model/Qwen-Image-Layered`` in the project or
next to the packaged app, or an existing snapshot in the local Hugging Face
cache. Every folder, the tiny test model included, passes the same structure
check before diffusers sees it, so a half download, a wrong model or a git
clone without LFS files is reported in words instead of as a loader traceback.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ModelError

HUB_ID = "Qwen/Qwen-Image-Layered"
FOLDER_NAME = "Qwen-Image-Layered"
ENV_VAR = "QIL_MODEL_DIR"
PIPELINE_CLASS = "QwenImageLayeredPipeline"
README_HINT = ("See model/README.md for how to download the weights "
               f"(hf download {HUB_ID} --local-dir model/{FOLDER_NAME}).")

#: component -> (library, accepted class names), as written in model_index.json.
EXPECTED_COMPONENTS: dict[str, tuple[str, frozenset[str]]] = {
    "transformer": ("diffusers", frozenset({"QwenImageTransformer2DModel"})),
    "vae": ("diffusers", frozenset({"AutoencoderKLQwenImage"})),
    "text_encoder": ("transformers", frozenset({"Qwen2_5_VLForConditionalGeneration"})),
    "tokenizer": ("transformers", frozenset({"Qwen2Tokenizer", "Qwen2TokenizerFast"})),
    "processor": ("transformers", frozenset({"Qwen2VLProcessor"})),
    "scheduler": ("diffusers", frozenset({"FlowMatchEulerDiscreteScheduler"})),
}
WEIGHT_COMPONENTS = ("transformer", "text_encoder", "vae")

#: Other pipelines people download by mistake, named the way a person knows them.
KNOWN_OTHER_PIPELINES = {
    "QwenImagePipeline": "Qwen-Image (text-to-image)",
    "QwenImageEditPipeline": "Qwen-Image-Edit",
    "QwenImageEditPlusPipeline": "Qwen-Image-Edit-2509/2511",
    "QwenImageImg2ImgPipeline": "Qwen-Image (image-to-image)",
    "QwenImageInpaintPipeline": "Qwen-Image (inpainting)",
}

_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}
_MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class ModelFolder:
    """A checked model folder and what it holds (parameter counts feed the memory planner)."""

    path: Path
    source: str
    params: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return str(self.path)


def _problem(folder: Path, what: str, hint: str = README_HINT) -> ModelError:
    return ModelError(f"The model folder {folder} {what}", hint)


def _read_json(folder: Path, path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _problem(folder, f"has a damaged {path.relative_to(folder)} (not text).") from None
    except json.JSONDecodeError as exc:
        raise _problem(folder, f"has a damaged {path.relative_to(folder)} ({exc.msg}).") from None
    except OSError as exc:
        raise _problem(folder, f"has an unreadable {path.relative_to(folder)} ({exc.strerror}).") from None
    if not isinstance(data, dict):
        raise _problem(folder, f"has a damaged {path.relative_to(folder)} (not a JSON object).")
    return data


def safetensors_params(folder: Path, file: Path) -> int:
    """Check a .safetensors file's header against its size; return its element count.

    Reads only the header, so a truncated download or a Git LFS pointer is
    caught in milliseconds even for the 40 GB transformer.
    """
    rel = file.relative_to(folder)
    try:
        size = file.stat().st_size
        with file.open("rb") as fh:
            head = fh.read(8)
            if head.startswith(b"versio"):
                raise _problem(folder, f"holds a Git LFS pointer instead of weights in {rel}.",
                               "The download skipped the large files. Install git-lfs and pull again, "
                               "or use `hf download` (see model/README.md).")
            if len(head) < 8:
                raise _problem(folder, f"has a damaged weights file {rel} (empty or truncated).",
                               "Download the model again. " + README_HINT)
            (header_len,) = struct.unpack("<Q", head)
            if header_len > min(_MAX_HEADER, size - 8):
                raise _problem(folder, f"has a damaged weights file {rel} (bad header).",
                               "Download the model again. " + README_HINT)
            header = json.loads(fh.read(header_len).decode("utf-8"))
    except ModelError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, struct.error):
        raise _problem(folder, f"has a damaged weights file {rel} (unreadable header).",
                       "Download the model again. " + README_HINT) from None
    except OSError as exc:
        raise _problem(folder, f"has an unreadable weights file {rel} ({exc.strerror}).") from None
    if not isinstance(header, dict):
        raise _problem(folder, f"has a damaged weights file {rel} (bad header).",
                       "Download the model again. " + README_HINT)
    end = 0
    count = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = (int(v) for v in info["data_offsets"])
            shape = [int(d) for d in info["shape"]]
            itemsize = _DTYPE_BYTES.get(str(info["dtype"]), 1)
        except (KeyError, TypeError, ValueError):
            raise _problem(folder, f"has a damaged weights file {rel} (bad tensor entry {name!r}).",
                           "Download the model again. " + README_HINT) from None
        n = 1
        for d in shape:
            n *= d
        if stop < start or stop - start != n * itemsize:
            raise _problem(folder, f"has a damaged weights file {rel} (tensor {name!r} has the wrong size).",
                           "Download the model again. " + README_HINT)
        end = max(end, stop)
        count += n
    if 8 + header_len + end > size:
        raise _problem(folder, f"has an incomplete weights file {rel} "
                               f"({size} bytes, needs {8 + header_len + end}).",
                       "The download was interrupted. Download the model again. " + README_HINT)
    return count


def _component_params(folder: Path, name: str) -> int:
    sub = folder / name
    if not sub.is_dir():
        raise _problem(folder, f"has no {name}/ subfolder (incomplete download?).")
    files = sorted(sub.glob("*.safetensors"))
    indexes = sorted(sub.glob("*.safetensors.index.json"))
    if not files:
        pickles = [p.name for p in sub.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
        if pickles:
            raise _problem(folder, f"has only pickle weights in {name}/ ({pickles[0]}); "
                                   "only .safetensors files are loaded, for safety.",
                           "Download the safetensors version of the model. " + README_HINT)
        raise _problem(folder, f"has no weights in {name}/ (no .safetensors files).")
    for index_file in indexes:
        index = _read_json(folder, index_file)
        shards = sorted(set((index.get("weight_map") or {}).values()))
        missing = [s for s in shards if not (sub / s).is_file()]
        if missing:
            raise _problem(folder, f"is missing {len(missing)} weights file(s) in {name}/ "
                                   f"(e.g. {missing[0]}).",
                           "The download is incomplete. Download the model again. " + README_HINT)
    return sum(safetensors_params(folder, f) for f in files)


def check_model_folder(path: str | os.PathLike, source: str = "folder") -> ModelFolder:
    """Validate a folder as Qwen-Image-Layered in the diffusers layout, or raise ModelError."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelError(f"The model folder {folder} does not exist.", README_HINT)
    if not folder.is_dir():
        raise ModelError(f"{folder} is a file, not a model folder.",
                         f"Give the folder that contains model_index.json. {README_HINT}")
    folder = folder.resolve()
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise _problem(folder, "has no model_index.json, so it is not a diffusers model folder.")
    index = _read_json(folder, index_file)
    cls = index.get("_class_name")
    if cls != PIPELINE_CLASS:
        known = KNOWN_OTHER_PIPELINES.get(str(cls))
        what = f"{known} ({cls})" if known else repr(cls)
        raise _problem(folder, f"holds {what}, not Qwen-Image-Layered ({PIPELINE_CLASS}).",
                       f"Point to a folder with {HUB_ID}. {README_HINT}")
    for name, (library, classes) in EXPECTED_COMPONENTS.items():
        entry = index.get(name)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == library
                and entry[1] in classes):
            raise _problem(folder, f"has an unexpected {name!r} entry in model_index.json: {entry!r} "
                                   f"(expected {library} {sorted(classes)[0]}).")
        if not (folder / name).is_dir():
            raise _problem(folder, f"has no {name}/ subfolder (incomplete download?).")
    config = _read_json(folder, folder / "transformer" / "config.json") \
        if (folder / "transformer" / "config.json").is_file() else None
    if config is None:
        raise _problem(folder, "has no transformer/config.json (incomplete download?).")
    if not config.get("use_layer3d_rope"):
        raise _problem(folder, "has a Qwen-Image transformer without the layer axis "
                               "(use_layer3d_rope), so it is not the Layered model.")
    vae_config_file = folder / "vae" / "config.json"
    if not vae_config_file.is_file():
        raise _problem(folder, "has no vae/config.json (incomplete download?).")
    if int(_read_json(folder, vae_config_file).get("input_channels", 3)) != 4:
        raise _problem(folder, "has an RGB-only VAE; Qwen-Image-Layered needs its RGBA VAE.")
    params = {name: _component_params(folder, name) for name in WEIGHT_COMPONENTS}
    return ModelFolder(folder, source, params)


def project_model_dirs() -> list[Path]:
    """model/Qwen-Image-Layered in the source tree and next to a packaged executable."""
    dirs = [Path(__file__).resolve().parents[3] / "model" / FOLDER_NAME]
    if getattr(sys, "frozen", False):
        dirs.insert(0, Path(sys.executable).resolve().parent / "model" / FOLDER_NAME)
    seen, out = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def hf_cache_snapshot(cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The cached snapshot of the hub model, if this machine already has one (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(HUB_ID, "model_index.json",
                                       cache_dir=str(cache_dir) if cache_dir else None)
    except Exception:  # a damaged cache is the same as no cache here
        return None
    if isinstance(found, str):
        return Path(found).parent
    return None


@dataclass(frozen=True)
class SearchPlaces:
    """Where to look when no folder was named; tests pass their own."""

    env: dict | None = None
    project_dirs: tuple[Path, ...] | None = None
    hf_cache_dir: str | None = None
    use_hf_cache: bool = True


def find_model(explicit: str | os.PathLike | None = None,
               places: SearchPlaces | None = None) -> ModelFolder:
    """The folder to load from. A named folder is used as is (no silent fallback)."""
    places = places or SearchPlaces()
    env = os.environ if places.env is None else places.env
    if explicit:
        return check_model_folder(explicit, "the folder you chose")
    if env.get(ENV_VAR):
        return check_model_folder(env[ENV_VAR], ENV_VAR)
    looked: list[str] = []
    first_error: ModelError | None = None
    candidates: list[tuple[Path, str]] = [
        (d, "the model/ folder") for d in (places.project_dirs if places.project_dirs is not None
                                           else project_model_dirs())]
    if places.use_hf_cache:
        cache_dir = places.hf_cache_dir or env.get("HF_HUB_CACHE") or None
        snapshot = hf_cache_snapshot(cache_dir)
        if snapshot is not None:
            candidates.append((snapshot, "the Hugging Face cache"))
        else:
            looked.append(f"the Hugging Face cache ({HUB_ID})")
    for path, source in candidates:
        if not path.exists():
            looked.append(str(path))
            continue
        try:
            return check_model_folder(path, source)
        except ModelError as err:
            first_error = first_error or err
    if first_error is not None:
        raise first_error
    raise ModelError("The Qwen-Image-Layered weights were not found. Looked in: "
                     + "; ".join(looked) + ".",
                     f"Download them into model/{FOLDER_NAME}, set {ENV_VAR}, or pass --model DIR. "
                     + README_HINT)

"""Finding and checking a local diffusers model folder, driven by a :class:`ModelSpec`, without torch.

The weights never come from the network: a folder named by the user
(``--model``, settings), the spec's environment variable, ``model/<name>`` in
the project or next to the packaged app, or a snapshot already in the local
Hugging Face cache. Every folder, the tiny test models included, passes the
same structure check before diffusers sees it, so a half download, a wrong
model or a git clone without LFS files is reported in words instead of as a
loader traceback. Qwen-Image-Layered and Qwen-Image-Edit differ only in
their spec (:mod:`..qwen.locate`, :mod:`..edit.locate`).
"""

from __future__ import annotations

import json
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ModelError

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

#: Pipelines people download by mistake, named the way a person knows them.
KNOWN_PIPELINES = {
    "QwenImagePipeline": "Qwen-Image (text-to-image)",
    "QwenImageEditPipeline": "Qwen-Image-Edit",
    "QwenImageEditPlusPipeline": "Qwen-Image-Edit-2509/2511",
    "QwenImageImg2ImgPipeline": "Qwen-Image (image-to-image)",
    "QwenImageInpaintPipeline": "Qwen-Image (inpainting)",
    "QwenImageLayeredPipeline": "Qwen-Image-Layered (the decomposition model)",
}

_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}
_MAX_HEADER = 100 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """What one model is and where it lives; the folder check and search read only this.

    ``vae_input_channels``: 4 for the RGBA VAE of the Layered model, 3 for Edit;
    ``layer3d_rope``: the transformer must (True) or must not (False) have the layer axis;
    ``class_hints``: extra words for a specific wrong pipeline class.
    """

    label: str
    pipeline_class: str
    hub_ids: tuple[str, ...]
    folder_names: tuple[str, ...]
    env_var: str
    download_hint: str
    noun: str = "model folder"
    vae_input_channels: int = 4
    layer3d_rope: bool | None = None
    class_hints: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModelFolder:
    """A checked model folder and what it holds (parameter counts feed the memory planner)."""

    path: Path
    source: str
    params: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class SearchPlaces:
    """Where to look when no folder was named; tests pass their own.

    ``project_dirs`` (when given) replaces the model/ folders searched.
    """

    env: dict | None = None
    project_dirs: tuple[Path, ...] | None = None
    hf_cache_dir: str | None = None
    use_hf_cache: bool = True


class _Checker:
    """Error wording for one spec and folder."""

    def __init__(self, spec: ModelSpec, folder: Path) -> None:
        self.spec, self.folder = spec, folder

    def fail(self, what: str, hint: str | None = None) -> ModelError:
        return ModelError(f"The {self.spec.noun} {self.folder} {what}",
                          self.spec.download_hint if hint is None else hint)

    def damaged(self, what: str) -> ModelError:
        return self.fail(what, "Download the model again. " + self.spec.download_hint)

    def read_json(self, path: Path) -> dict:
        rel = path.relative_to(self.folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise self.fail(f"has a damaged {rel} (not text).") from None
        except json.JSONDecodeError as exc:
            raise self.fail(f"has a damaged {rel} ({exc.msg}).") from None
        except OSError as exc:
            raise self.fail(f"has an unreadable {rel} ({exc.strerror}).") from None
        if not isinstance(data, dict):
            raise self.fail(f"has a damaged {rel} (not a JSON object).")
        return data

    def safetensors_params(self, file: Path) -> int:
        """Check a .safetensors header against the file size; return its element count.

        Reads only the header, so a truncated download or a Git LFS pointer is
        caught in milliseconds even for the 40 GB transformer.
        """
        rel = file.relative_to(self.folder)
        try:
            size = file.stat().st_size
            with file.open("rb") as fh:
                head = fh.read(8)
                if head.startswith(b"versio"):
                    raise self.fail(f"holds a Git LFS pointer instead of weights in {rel}.",
                                    "The download skipped the large files. Install git-lfs and pull "
                                    "again, or use `hf download` (see model/README.md).")
                if len(head) < 8:
                    raise self.damaged(f"has a damaged weights file {rel} (empty or truncated).")
                (header_len,) = struct.unpack("<Q", head)
                if header_len > min(_MAX_HEADER, size - 8):
                    raise self.damaged(f"has a damaged weights file {rel} (bad header).")
                header = json.loads(fh.read(header_len).decode("utf-8"))
        except ModelError:
            raise
        except (UnicodeDecodeError, json.JSONDecodeError, struct.error):
            raise self.damaged(f"has a damaged weights file {rel} (unreadable header).") from None
        except OSError as exc:
            raise self.fail(f"has an unreadable weights file {rel} ({exc.strerror}).") from None
        if not isinstance(header, dict):
            raise self.damaged(f"has a damaged weights file {rel} (bad header).")
        end = count = 0
        for name, info in header.items():
            if name == "__metadata__":
                continue
            try:
                start, stop = (int(v) for v in info["data_offsets"])
                shape = [int(d) for d in info["shape"]]
                itemsize = _DTYPE_BYTES.get(str(info["dtype"]), 1)
            except (KeyError, TypeError, ValueError):
                raise self.damaged(f"has a damaged weights file {rel} (bad tensor entry {name!r}).") from None
            n = 1
            for d in shape:
                n *= d
            if stop < start or stop - start != n * itemsize:
                raise self.damaged(f"has a damaged weights file {rel} (tensor {name!r} has the wrong size).")
            end = max(end, stop)
            count += n
        if 8 + header_len + end > size:
            raise self.fail(f"has an incomplete weights file {rel} ({size} bytes, needs {8 + header_len + end}).",
                            "The download was interrupted. Download the model again. " + self.spec.download_hint)
        return count

    def component_params(self, name: str) -> int:
        sub = self.folder / name
        if not sub.is_dir():
            raise self.fail(f"has no {name}/ subfolder (incomplete download?).")
        files = sorted(sub.glob("*.safetensors"))
        if not files:
            pickles = [p.name for p in sub.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
            if pickles:
                raise self.fail(f"has only pickle weights in {name}/ ({pickles[0]}); only .safetensors "
                                "files are loaded, for safety.",
                                "Download the safetensors version of the model. " + self.spec.download_hint)
            raise self.fail(f"has no weights in {name}/ (no .safetensors files).")
        for index_file in sorted(sub.glob("*.safetensors.index.json")):
            shards = sorted(set((self.read_json(index_file).get("weight_map") or {}).values()))
            missing = [s for s in shards if not (sub / s).is_file()]
            if missing:
                raise self.fail(f"is missing {len(missing)} weights file(s) in {name}/ (e.g. {missing[0]}).",
                                "The download is incomplete. Download the model again. " + self.spec.download_hint)
        return sum(self.safetensors_params(f) for f in files)


def check_folder(spec: ModelSpec, path: str | os.PathLike, source: str = "folder") -> ModelFolder:
    """Validate a folder as ``spec``'s model in the diffusers layout, or raise ModelError."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelError(f"The {spec.noun} {folder} does not exist.", spec.download_hint)
    if not folder.is_dir():
        raise ModelError(f"{folder} is a file, not a model folder.",
                         "Give the folder that contains model_index.json. " + spec.download_hint)
    folder = folder.resolve()
    check = _Checker(spec, folder)
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise check.fail("has no model_index.json, so it is not a diffusers model folder.")
    index = check.read_json(index_file)
    cls = index.get("_class_name")
    if cls != spec.pipeline_class:
        known = KNOWN_PIPELINES.get(str(cls))
        what = f"{known} ({cls})" if known else repr(cls)
        raise check.fail(f"holds {what}, not {spec.label} ({spec.pipeline_class}).",
                         spec.class_hints.get(cls, "") + spec.download_hint)
    for name, (library, classes) in EXPECTED_COMPONENTS.items():
        entry = index.get(name)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == library and entry[1] in classes):
            raise check.fail(f"has an unexpected {name!r} entry in model_index.json: {entry!r} "
                             f"(expected {library} {sorted(classes)[0]}).")
        if not (folder / name).is_dir():
            raise check.fail(f"has no {name}/ subfolder (incomplete download?).")
    for name in ("transformer", "vae"):
        if not (folder / name / "config.json").is_file():
            raise check.fail(f"has no {name}/config.json (incomplete download?).")
    config = check.read_json(folder / "transformer" / "config.json")
    if spec.layer3d_rope is True and not config.get("use_layer3d_rope"):
        raise check.fail("has a Qwen-Image transformer without the layer axis (use_layer3d_rope), "
                         "so it is not the Layered model.")
    if spec.layer3d_rope is False and config.get("use_layer3d_rope"):
        raise check.fail(f"has the Layered model's transformer (use_layer3d_rope), not {spec.label}'s.")
    channels = int(check.read_json(folder / "vae" / "config.json").get("input_channels", 3))
    if channels != spec.vae_input_channels:
        kind = {3: "an RGB-only", 4: "an RGBA"}.get(channels, f"a {channels}-channel")
        raise check.fail(f"has {kind} VAE; {spec.label} needs "
                         f"{'its RGBA' if spec.vae_input_channels == 4 else 'an RGB'} VAE.")
    params = {name: check.component_params(name) for name in WEIGHT_COMPONENTS}
    return ModelFolder(folder, source, params)


def project_dirs(spec: ModelSpec) -> list[Path]:
    """model/<name> in the source tree and beside a packaged executable, first name first."""
    roots = [Path(__file__).resolve().parents[3] / "model"]
    if getattr(sys, "frozen", False):
        roots.insert(0, Path(sys.executable).resolve().parent / "model")
    out: list[Path] = []
    for root in roots:
        for name in spec.folder_names:
            if root / name not in out:
                out.append(root / name)
    return out


def hf_hub_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The Hugging Face hub cache folder, found as huggingface_hub finds it (HF_HUB_CACHE,
    HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub)."""
    if cache_dir:
        return Path(cache_dir)
    env = os.environ
    explicit = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                              "huggingface")
    return Path(home).expanduser() / "hub"


def hf_cache_snapshots(spec: ModelSpec, cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """Cached snapshots of the spec's hub ids on this machine, in the spec's order (never downloads).

    Reads the cache layout (``models--org--name/refs/main`` -> ``snapshots/<commit>``) as
    ``huggingface_hub.try_to_load_from_cache`` does, without importing huggingface_hub:
    that import alone costs ~180 ms of CPU, and the editor asks while its window opens.
    """
    root = hf_hub_cache_dir(cache_dir)
    found: list[Path] = []
    for hub_id in spec.hub_ids:
        repo = root / ("models--" + hub_id.replace("/", "--"))
        try:
            ref = repo / "refs" / "main"
            revision = ref.read_text(encoding="utf-8").strip() if ref.is_file() else "main"
            snapshot = repo / "snapshots" / revision
            if revision and (snapshot / "model_index.json").is_file():
                found.append(snapshot)
        except (OSError, ValueError):  # a damaged cache is the same as no cache here
            continue
    return found


def find_folder(spec: ModelSpec, explicit: str | os.PathLike | None = None,
                places: SearchPlaces | None = None) -> ModelFolder:
    """The folder to load ``spec`` from. A named folder is used as is (no silent fallback)."""
    places = places or SearchPlaces()
    env = os.environ if places.env is None else places.env
    if explicit:
        return check_folder(spec, explicit, "the folder you chose")
    if env.get(spec.env_var):
        return check_folder(spec, env[spec.env_var], spec.env_var)
    looked: list[str] = []
    first_error: ModelError | None = None
    dirs = list(places.project_dirs) if places.project_dirs is not None else project_dirs(spec)
    candidates = [(d, "the model/ folder") for d in dirs]
    if places.use_hf_cache:
        cache_dir = places.hf_cache_dir or env.get("HF_HUB_CACHE") or None
        snapshots = hf_cache_snapshots(spec, cache_dir)
        candidates += [(s, "the Hugging Face cache") for s in snapshots]
        if not snapshots:
            looked.append("the Hugging Face cache (" + ", ".join(spec.hub_ids) + ")")
    for path, source in candidates:
        if not path.exists():
            looked.append(str(path))
            continue
        try:
            return check_folder(spec, path, source)
        except ModelError as err:
            first_error = first_error or err
    if first_error is not None:
        raise first_error
    raise ModelError(f"The {spec.label} weights were not found. Looked in: "
                     + ("; ".join(looked) or "no folders (none configured)") + ".",
                     f"Download them into model/{spec.folder_names[0]}, set {spec.env_var}, or pass "
                     f"--model DIR. " + spec.download_hint)


def describe_folder(spec: ModelSpec, places: SearchPlaces | None = None) -> str:
    """One line for Settings / About: where the weights are, or where they would go."""
    try:
        folder = find_folder(spec, None, places)
    except ModelError:
        return f"not found (put them in model/{spec.folder_names[0]} or set {spec.env_var})"
    total = sum(folder.params.values())
    return f"{folder.path} ({folder.source}, {total / 1e9:.1f} B parameters)"

"""PyInstaller hook for diffusers (full build only).

diffusers exposes its classes through a lazy module: ``diffusers.QwenImageLayeredPipeline``
and the class names in a model's ``model_index.json`` are resolved with importlib at
run time, which PyInstaller's import scanner cannot see. Collect every submodule except
the Flax/ONNX variants (their backends are not shipped) and the CLI, plus the package
metadata that diffusers reads through importlib.metadata to decide which backends exist.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata, logger

_SKIP_PARTS = ("flax", "onnx", "commands", "testing_utils")


def _keep(name: str) -> bool:
    return not any(part in name for part in _SKIP_PARTS)


hiddenimports = collect_submodules("diffusers", filter=_keep)
datas = collect_data_files("diffusers", excludes=["**/*.pyi", "**/*.md"])

# diffusers.utils.import_utils calls importlib.metadata.version() for torch, transformers,
# safetensors, huggingface_hub... and treats a missing record as "not installed".
for _dist in ("diffusers", "huggingface_hub", "safetensors", "filelock", "numpy", "regex",
              "requests", "pillow", "importlib_metadata", "httpx", "packaging"):
    try:
        datas += copy_metadata(_dist)
    except Exception:  # optional dependency not installed in the build environment
        logger.info("hook-diffusers: no metadata for %s (not installed)", _dist)

# Keep the .py sources next to the bytecode: diffusers and torch inspect source code
# (docstring replacement, torch.jit/torch.compile tracing).
module_collection_mode = "pyz+py"

"""PyInstaller hook for huggingface_hub (full build only).

Its top-level names are attached lazily (``__getattr__`` over a submodule table),
so the submodules must be named explicitly; its version is read back with
importlib.metadata by transformers and diffusers.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("huggingface_hub")
datas = copy_metadata("huggingface_hub") + collect_data_files("huggingface_hub", excludes=["**/*.pyi"])

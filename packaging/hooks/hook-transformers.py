"""PyInstaller hook for transformers (full build only); replaces the contributed hook.

transformers 5 builds each ``transformers.models.<name>`` package lazily from the
files it finds on disk and resolves tokenizer/processor classes by looping over
*every* model type (e.g. ``Qwen2Tokenizer`` is first looked up in
``transformers.models.audioflamingo3``), so a partial selection of models breaks
loading. Collect all submodules (minus the CLI and test helpers), keep the .py
files on disk for that file scan, and copy the metadata of every dependency in
transformers' own version table that is installed: ``transformers`` checks them
with importlib.metadata at import time.
"""

from PyInstaller.utils.hooks import (collect_data_files, collect_submodules, copy_metadata,
                                     get_module_attribute, is_module_satisfies, logger)

_SKIP_PREFIXES = ("transformers.commands", "transformers.cli", "transformers.testing_utils",
                  "transformers.models.deprecated")


def _keep(name: str) -> bool:
    return not name.startswith(_SKIP_PREFIXES)


hiddenimports = collect_submodules("transformers", filter=_keep)

# Kernel sources (.cu/.cpp) are only compiled for a few detection models on demand.
datas = collect_data_files("transformers", excludes=["**/*.cu", "**/*.cuh", "**/*.cpp", "**/*.h",
                                                     "**/*.pyi", "**/*.md"])

try:
    _deps = get_module_attribute("transformers.dependency_versions_table", "deps")
except Exception:
    logger.warning("hook-transformers: cannot read transformers.dependency_versions_table.deps", exc_info=True)
    _deps = {}

for _name, _requirement in dict(_deps).items():
    if not is_module_satisfies(_requirement):
        continue
    try:
        datas += copy_metadata(_name)
    except Exception:
        pass

module_collection_mode = "pyz+py"

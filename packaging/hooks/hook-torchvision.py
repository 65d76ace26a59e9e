"""PyInstaller hook for torchvision (full build only); replaces the contributed hook.

torchvision >= 0.29 loads its C++ operators and image codecs (``_C_stable.so``,
``image_stable.so``) by file path through ``torch.ops.load_library``; they are
not imported as modules, so the import scanner never sees them and torchvision
silently runs without its ops. Collect them as binaries next to the package.
"""

from PyInstaller.utils.hooks import collect_dynamic_libs, copy_metadata

binaries = collect_dynamic_libs("torchvision", search_patterns=["*.so", "*.so.*", "*.pyd", "*.dll", "*.dylib"])
datas = copy_metadata("torchvision")

# Keep the .py sources for TorchScript, as the contributed hook does.
module_collection_mode = "pyz+py"

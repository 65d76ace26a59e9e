"""PyInstaller hook for safetensors: transformers and diffusers check its version via importlib.metadata."""

from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("safetensors")
hiddenimports = ["safetensors.torch"]

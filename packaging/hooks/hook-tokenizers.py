"""PyInstaller hook for tokenizers: transformers checks its version via importlib.metadata."""

from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("tokenizers")

"""PyInstaller hook for accelerate (model CPU offload in the full build).

transformers and diffusers detect accelerate through importlib.metadata, and
accelerate imports some submodules by name; its test helpers are left out.
"""

from PyInstaller.utils.hooks import collect_submodules, copy_metadata

hiddenimports = collect_submodules("accelerate", filter=lambda name: not name.startswith("accelerate.test_utils"))
datas = copy_metadata("accelerate")

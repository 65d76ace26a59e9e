"""Is the ``model`` extra installed, and which one command installs it?

The core install (``pip install .``, ``bash tools/setup.sh``) has the editor,
the CLI, PSD I/O and the classical engine, without torch. The model engines
need the ``model`` extra. This module answers with ``importlib.util.find_spec``
only, so asking never imports torch; the CLI, the engines' availability and the
Decompose dialog all name the same command.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: Import names of the packages in pyproject's ``model`` extra that the engines import
#: (``skimage``: scikit-image, for the re-prompt engine's alpha recovery, checked up front so
#: a missing one is reported before a model run, not after it).
MODEL_PACKAGES = ("torch", "torchvision", "diffusers", "transformers", "accelerate", "safetensors", "peft",
                  "skimage")
#: Registry names of the engines that need the extra (the classical engine does not).
MODEL_ENGINE_NAMES = frozenset({"qwen"})

_ROOT = Path(__file__).resolve().parents[2]


def missing_model_packages() -> list[str]:
    """The extra's packages that cannot be imported here (empty when the extra is installed)."""
    missing = []
    for name in MODEL_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or half-removed package counts as missing
            found = False
        if not found:
            missing.append(name)
    return missing


def model_extra_installed() -> bool:
    return not missing_model_packages()


def model_install_command() -> str:
    """The one command that adds the model engines to this installation.

    A checkout set up by ``tools/setup.sh`` (running from its ``.venv``) gets
    that script with ``--model``; any other checkout or environment gets pip,
    run by this very interpreter, so the extra lands where the editor runs.
    """
    setup = _ROOT / "tools" / "setup.sh"
    if setup.is_file() and (_ROOT / "pyproject.toml").is_file():
        venv = _ROOT / ".venv"
        if venv.exists() and Path(sys.prefix).resolve() == venv.resolve():
            here = Path.cwd().resolve() == _ROOT
            return "bash tools/setup.sh --model" if here else f"bash {setup} --model"
        return f'{sys.executable} -m pip install -e "{_ROOT}[model]"'
    return f'{sys.executable} -m pip install "qil-editor[model]"'


def model_extra_hint() -> str:
    """One sentence for messages: how to get the model engines in this installation."""
    from ..resources import build_flavour

    if build_flavour() == "lite" or getattr(sys, "frozen", False):
        return "This build of QIL Editor has no model support; get the full build to use the model engines."
    return f"Install the model engines with: {model_install_command()}"


__all__ = ["MODEL_ENGINE_NAMES", "MODEL_PACKAGES", "missing_model_packages", "model_extra_hint",
           "model_extra_installed", "model_install_command"]

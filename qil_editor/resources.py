"""Where the editor's bundled files (icons, samples, style) live.

The same code runs from the source tree and from a PyInstaller bundle,
where ``resources/`` is unpacked next to the executable's libraries
(``sys._MEIPASS``). Every lookup goes through :func:`resource_path` so
nothing depends on the current directory or on ``__file__`` layouts.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

#: Name of the file the PyInstaller spec writes into the bundle's resources/.
BUILD_INFO_FILE = "build-info.json"


def resources_dir() -> Path:
    """The folder that holds icons/, samples/... for this run."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return _source_resources()


@lru_cache(maxsize=1)
def _source_resources() -> Path:
    # resolved once: the window asks for some 30 icons while it is built
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("samples", "poster.png")``.

    The path is returned whether or not the file exists, so callers can
    word their own error; use ``.is_file()`` to check.
    """
    return resources_dir().joinpath(*parts)


@lru_cache(maxsize=1)
def build_info() -> dict:
    """What the packaged build contains: ``{"flavour": "lite"|"full", "version": ...}``.

    Empty when running from source (no build-info file), so callers can
    tell a packaged lite build (no model support on purpose) from a
    source checkout that merely lacks torch.
    """
    path = resource_path(BUILD_INFO_FILE)
    try:
        import json  # here: the editor's first frame does without the json module

        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build_flavour() -> str | None:
    """``"lite"`` or ``"full"`` in a packaged build, ``None`` from source."""
    flavour = build_info().get("flavour")
    return flavour if isinstance(flavour, str) else None

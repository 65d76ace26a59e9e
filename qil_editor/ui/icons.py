"""Icons shipped in resources/icons (SVG, drawn for the dark theme)."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QIcon

from ..resources import resource_path


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The bundled icon ``name`` (``eye``, ``lock``...); an empty icon if it is missing.

    Cached: QIcon is implicitly shared, and the window asks for the same few dozen icons
    again whenever its actions update."""
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


@lru_cache(maxsize=None)
def app_icon() -> QIcon:
    """The application's icon (SVG and PNG); cached, the window and its welcome page both ask."""
    result = QIcon()
    for name in ("qil-editor.svg", "qil-editor.png"):
        path = resource_path("icons", name)
        if path.is_file():
            result.addFile(str(path))
    return result

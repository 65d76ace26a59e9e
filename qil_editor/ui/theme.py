"""The editor's look: Qt's Fusion style with a dark palette (like Photoshop/Krita)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from ..resources import resource_path

ACCENT = "#3d8ee6"

_COLORS = {
    QPalette.ColorRole.Window: "#2b2d31",
    QPalette.ColorRole.WindowText: "#dcdde1",
    QPalette.ColorRole.Base: "#232428",
    QPalette.ColorRole.AlternateBase: "#2e3035",
    QPalette.ColorRole.ToolTipBase: "#1f2023",
    QPalette.ColorRole.ToolTipText: "#dcdde1",
    QPalette.ColorRole.PlaceholderText: "#7b7e86",
    QPalette.ColorRole.Text: "#dcdde1",
    QPalette.ColorRole.Button: "#34363c",
    QPalette.ColorRole.ButtonText: "#dcdde1",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Light: "#45474e",
    QPalette.ColorRole.Midlight: "#3a3c42",
    QPalette.ColorRole.Mid: "#2a2b30",
    QPalette.ColorRole.Dark: "#1b1c1f",
    QPalette.ColorRole.Shadow: "#111214",
    QPalette.ColorRole.Highlight: ACCENT,
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6cb2ff",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _COLORS.items():
        palette.setColor(role, QColor(color))
    disabled = QColor("#6d7078")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#4a4c52"))
    return palette


def apply_dark_theme(app: QApplication, *, fusion_set: bool = False) -> None:
    """Fusion, the dark palette and the style sheet. ``fusion_set``: the application was
    created with ``-style Fusion``, so no style object is made here (making PySide's QStyle
    type, with all its enums, costs ~7 ms of the editor's start)."""
    if not fusion_set:
        style = QStyleFactory.create("Fusion")
        if style is not None:
            app.setStyle(style)
    app.setPalette(dark_palette())
    qss = resource_path("style.qss")
    if qss.is_file():
        icons = resource_path("icons").as_posix()
        app.setStyleSheet(qss.read_text(encoding="utf-8").replace("{icons}", icons))

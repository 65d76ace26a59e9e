"""Space-to-pan and arrow nudges wherever the keyboard focus is in the window.

After a click in the layer panel the canvas no longer has the focus, yet a
designer still expects Space+drag to pan and the arrows to nudge (as in
Photoshop). This application event filter hands those keys to the current
canvas unless the focus is in a widget that types or steps with them
(text fields, spin boxes, combo boxes, sliders).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:  # pragma: no cover
    from .canvas import CanvasView  # loaded with the first document, not with the window

@cache
def _typing_widgets() -> tuple:
    """Widgets that need Space and the arrows themselves. Looked up at the first key event:
    PySide makes a class's Python type (with its enums) on first use, and the text edits'
    are not needed by the window's first frame."""
    from PySide6.QtWidgets import (QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit,
                                   QTextEdit)

    return (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit, QComboBox, QAbstractSlider)


class CanvasKeys(QObject):
    def __init__(self, window: QWidget, current_canvas: Callable[[], CanvasView | None]) -> None:
        super().__init__(window)
        self.window = window
        self.current_canvas = current_canvas
        self.attach()

    def attach(self) -> None:
        QApplication.instance().installEventFilter(self)

    def detach(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.WindowDeactivate and obj is self.window:
            canvas = self.current_canvas()
            if canvas is not None:
                canvas.set_space(False)  # a release we will never see
            return False
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        canvas = self.current_canvas()
        if canvas is None or obj is canvas or obj is canvas.viewport() or isinstance(obj, _typing_widgets()):
            return False  # the canvas handles its own keys; typing widgets keep theirs
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                canvas.set_space(kind == QEvent.Type.KeyPress)
            return True
        if kind == QEvent.Type.KeyPress and event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier \
                & ~Qt.KeyboardModifier.KeypadModifier == Qt.KeyboardModifier.NoModifier:
            from .canvas import nudge_step  # loaded: there is a canvas

            step = nudge_step(event)
            if step is not None:
                canvas.nudge(*step)
                return True
        return False

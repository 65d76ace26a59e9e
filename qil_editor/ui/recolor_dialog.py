"""Recolor a layer: hue/saturation/lightness or colorize, previewed live on the canvas.

The preview never touches the document: the canvas shows other pixels for
the layer until OK (one ReplacePixels undo step) or Cancel (nothing
happened). Previews are computed on the task pool, newest request wins,
so dragging a slider on a big layer keeps the UI responsive.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QPushButton, QSlider, QSpinBox, QTabWidget, QVBoxLayout,
                               QWidget)

from ..engines.recolor import Recolor
from .canvas import CanvasView
from .session import DocumentSession
from .tasks import TaskRunner


def _slider_row(low: int, high: int, suffix: str) -> tuple[QWidget, QSlider, QSpinBox]:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSuffix(suffix)
    slider.valueChanged.connect(spin.setValue)
    spin.valueChanged.connect(slider.setValue)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(slider, 1)
    layout.addWidget(spin)
    return row, slider, spin


class RecolorDialog(QDialog):
    def __init__(self, session: DocumentSession, layer_id: str, canvas: CanvasView,
                 tasks: TaskRunner, parent=None) -> None:
        super().__init__(parent)
        self.session, self.layer_id, self.canvas, self.tasks = session, layer_id, canvas, tasks
        self.source = session.doc.layer(layer_id).pixels
        self._color = QColor(220, 60, 60)
        self._generation = 0
        self._preview: tuple[Recolor, object] | None = None
        self.setWindowTitle(f"Recolor “{session.doc.layer(layer_id).name}”")

        self.tabs = QTabWidget()
        hsl = QWidget()
        form = QFormLayout(hsl)
        row, self.hue, self.hue_spin = _slider_row(-180, 180, "°")
        form.addRow("Hue", row)
        row, self.saturation, _ = _slider_row(-100, 100, " %")
        form.addRow("Saturation", row)
        row, self.lightness, _ = _slider_row(-100, 100, " %")
        form.addRow("Lightness", row)
        colorize = QWidget()
        form2 = QFormLayout(colorize)
        self.color_button = QPushButton()
        self.color_button.setObjectName("colorButton")
        self.color_button.clicked.connect(self._pick_color)
        form2.addRow("Colour", self.color_button)
        row, self.amount, _ = _slider_row(0, 100, " %")
        self.amount.setValue(100)
        form2.addRow("Amount", row)
        self.tabs.addTab(hsl, "Hue / Saturation")
        self.tabs.addTab(colorize, "Colorize")
        self.preview_box = QCheckBox("Preview")
        self.preview_box.setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.Reset)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(self.reset)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        bottom = QHBoxLayout()
        bottom.addWidget(self.preview_box)
        bottom.addWidget(buttons, 1)
        layout.addLayout(bottom)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(40)
        self._debounce.timeout.connect(self._update_preview)
        for slider in (self.hue, self.saturation, self.lightness, self.amount):
            slider.valueChanged.connect(self._debounce.start)
        self.tabs.currentChanged.connect(self._debounce.start)
        self.preview_box.toggled.connect(self._debounce.start)
        self._show_color()

    # ----- parameters ----------------------------------------------------------------
    def params(self) -> Recolor:
        if self.tabs.currentIndex() == 1:
            c = self._color
            return Recolor(mode="colorize", color=(c.red(), c.green(), c.blue()),
                           amount=self.amount.value() / 100.0)
        return Recolor(mode="hsl", hue=float(self.hue.value()), saturation=float(self.saturation.value()),
                       lightness=float(self.lightness.value()))

    def set_params(self, params: Recolor) -> None:
        if params.mode == "colorize":
            self.tabs.setCurrentIndex(1)
            self.set_color(QColor(*params.color))
            self.amount.setValue(round(params.amount * 100))
        else:
            self.tabs.setCurrentIndex(0)
            self.hue.setValue(round(params.hue))
            self.saturation.setValue(round(params.saturation))
            self.lightness.setValue(round(params.lightness))

    def set_color(self, color: QColor) -> None:
        if color.isValid():
            self._color = QColor(color)
            self._show_color()
            self._debounce.start()

    def _show_color(self) -> None:
        self.color_button.setText(self._color.name())
        text = "#000000" if self._color.lightnessF() > 0.6 else "#ffffff"
        self.color_button.setStyleSheet(f"background:{self._color.name()}; color:{text};")

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Colorize to")
        self.set_color(color)

    def reset(self) -> None:
        for slider in (self.hue, self.saturation, self.lightness):
            slider.setValue(0)
        self.amount.setValue(100)

    # ----- preview --------------------------------------------------------------------
    @property
    def preview_pending(self) -> bool:
        return self._debounce.isActive() or self._preview is None or self._preview[0] != self._wanted()

    def _wanted(self) -> Recolor | None:
        params = self.params()
        return None if (not self.preview_box.isChecked() or params.is_identity) else params

    def _update_preview(self) -> None:
        wanted = self._wanted()
        self._generation += 1
        if wanted is None:
            self._preview = (None, None)
            self.canvas.set_preview(self.layer_id, None)
            return
        generation = self._generation

        def done(result, error):
            if error is not None:
                raise error
            if generation == self._generation and self.isVisible():
                self._preview = (wanted, result)
                self.canvas.set_preview(self.layer_id, result)

        self.tasks.submit(wanted.apply, self.source, callback=done)

    # ----- closing ----------------------------------------------------------------------
    def accept(self) -> None:
        self._debounce.stop()
        self._generation += 1
        params = self.params()
        self.canvas.set_preview(self.layer_id, None)
        if not params.is_identity:
            if self._preview is not None and self._preview[0] == params:
                pixels = self._preview[1]
            else:
                pixels = params.apply(self.source)
            self.session.replace_pixels(self.layer_id, pixels, text="Recolor layer")
        super().accept()

    def reject(self) -> None:
        self._debounce.stop()
        self._generation += 1
        self.canvas.set_preview(self.layer_id, None)
        super().reject()

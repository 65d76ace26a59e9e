"""Preferences: model folders (decomposition and edit), device and memory mode, default engine,
decompose on open, autosave.

Each model folder is checked as soon as it is typed or chosen (a few file
reads, no model is loaded) and the dialog says what it found there; OK
stays disabled while a named folder does not hold the model, so a wrong
folder is never accepted silently to fail at the next Decompose.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ..engines.qwen.device import DEVICE_CHOICES, MEMORY_CHOICES
from ..errors import QilError
from .settings import AppSettings


def _layered_check(path: str):
    from ..engines.qwen.locate import check_model_folder

    return check_model_folder(path)


def _edit_check(path: str):
    from ..engines.edit.locate import check_edit_model_folder

    return check_edit_model_folder(path)


def describe_folder(path: str, check: Callable, label: str) -> tuple[bool, str]:
    """(ok, sentence) for a model folder field; an empty field means "search the usual places"."""
    path = path.strip()
    if not path:
        return True, f"Empty: {label} is looked for in model/ and the Hugging Face cache."
    try:
        found = check(path)
    except QilError as err:
        return False, f"Not usable: {err.message}"
    params = sum(int(v) for v in (getattr(found, "params", None) or {}).values())
    size = f", {params / 1e9:.1f} B parameters" if params else ""
    return True, f"Found {label}{size}."


class _FolderField(QWidget):
    """A path box, Browse…, and a line saying what the folder holds."""

    def __init__(self, value: str, placeholder: str, title: str, check: Callable, label: str,
                 on_change: Callable[[], None], parent=None) -> None:
        super().__init__(parent)
        self.title, self.check, self.label = title, check, label
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.ok = True
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self._on_change = on_change
        self.edit.textChanged.connect(self._changed)
        self._changed()

    def text(self) -> str:
        return self.edit.text().strip()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.title, self.edit.text())
        if folder:
            self.edit.setText(folder)

    def _changed(self, *_args) -> None:
        self.ok, sentence = describe_folder(self.edit.text(), self.check, self.label)
        self.status.setText(sentence)
        self.status.setStyleSheet("" if self.ok else "color: #ff8a80;")
        self._on_change()


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, engines: list[tuple[str, str]], parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.setObjectName("preferencesDialog")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.model_field = _FolderField(settings.model_dir, "Default: model/ or the Hugging Face cache",
                                        "Qwen-Image-Layered folder", _layered_check, "Qwen-Image-Layered",
                                        self._validate)
        self.edit_model_field = _FolderField(settings.edit_model_dir, "Default: model/ or the Hugging Face cache",
                                             "Qwen-Image-Edit folder", _edit_check, "Qwen-Image-Edit",
                                             self._validate)
        self.model_dir = self.model_field.edit  # the line edits, for scripts and tests
        self.edit_model_dir = self.edit_model_field.edit
        self.device = QComboBox()
        self.device.addItems(list(DEVICE_CHOICES))
        self.device.setCurrentText(settings.device)
        self.memory = QComboBox()
        self.memory.addItems(list(MEMORY_CHOICES))
        self.memory.setCurrentText(settings.memory)
        self.engine = QComboBox()
        self.engine.addItem("Auto (best available)", "auto")
        for name, label in engines:
            self.engine.addItem(label, name)
        self.engine.setCurrentIndex(max(0, self.engine.findData(settings.engine)))
        self.on_open = QCheckBox("Decompose images when they are opened")
        self.on_open.setChecked(settings.decompose_on_open)
        self.autosave = QSpinBox()
        self.autosave.setRange(5, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(settings.autosave_seconds)

        form = QFormLayout()
        form.addRow("Decomposition model\n(Qwen-Image-Layered)", self.model_field)
        form.addRow("Edit model\n(Qwen-Image-Edit, Re-prompt)", self.edit_model_field)
        form.addRow("Device", self.device)
        form.addRow("Memory mode", self.memory)
        form.addRow("Default engine", self.engine)
        form.addRow("", self.on_open)
        form.addRow("Autosave every", self.autosave)
        from .remote_server import ServerSection

        self.server = ServerSection(settings.q, self)
        form.addRow(self.server)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._validate()

    def _validate(self) -> None:
        fields = [f for f in (getattr(self, "model_field", None), getattr(self, "edit_model_field", None)) if f]
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok_button.setEnabled(all(f.ok for f in fields))
        ok_button.setToolTip("" if ok_button.isEnabled() else "A model folder does not hold the model; "
                             "fix it or empty it.")

    def accept(self) -> None:
        if not (self.model_field.ok and self.edit_model_field.ok):
            return
        s = self.settings
        s.model_dir = self.model_field.text()
        s.edit_model_dir = self.edit_model_field.text()
        s.device = self.device.currentText()
        s.memory = self.memory.currentText()
        s.engine = self.engine.currentData()
        s.decompose_on_open = self.on_open.isChecked()
        s.autosave_seconds = self.autosave.value()
        try:
            self.server_warning = self.server.save()
        except QilError as err:  # not an http(s) URL: say so, keep the dialog open
            self.server.note.setText(err.message)
            return
        s.sync()
        super().accept()

"""Preferences: model folder, device and memory mode, default engine, decompose on open, autosave."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox,
                               QVBoxLayout)

from ..engines.qwen.device import DEVICE_CHOICES, MEMORY_CHOICES
from .settings import AppSettings


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, engines: list[tuple[str, str]], parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.model_dir = QLineEdit(settings.model_dir)
        self.model_dir.setPlaceholderText("Default: the local model cache")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.model_dir, 1)
        folder_row.addWidget(browse)
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
        form.addRow("Model folder", folder_row)
        form.addRow("Device", self.device)
        form.addRow("Memory mode", self.memory)
        form.addRow("Default engine", self.engine)
        form.addRow("", self.on_open)
        form.addRow("Autosave every", self.autosave)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_dir.text())
        if folder:
            self.model_dir.setText(folder)

    def accept(self) -> None:
        s = self.settings
        s.model_dir = self.model_dir.text().strip()
        s.device = self.device.currentText()
        s.memory = self.memory.currentText()
        s.engine = self.engine.currentData()
        s.decompose_on_open = self.on_open.isChecked()
        s.autosave_seconds = self.autosave.value()
        s.sync()
        super().accept()

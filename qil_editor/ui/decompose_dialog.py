"""The Decompose dialog: engine and options, prefilled with the last run's choices."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout)

from ..engines.base import MAX_LAYERS, MIN_LAYERS
from .worker import DecomposeRequest

RESOLUTIONS = (640, 1024)
#: Engines whose result depends on the diffusion options (steps, CFG, seed, prompt).
DIFFUSION_ENGINES = ("auto", "qwen")


class DecomposeDialog(QDialog):
    def __init__(self, request: DecomposeRequest, engines: list[tuple[str, str]], *,
                 target: str = "the image", parent=None) -> None:
        """``engines`` is [(name, label)] from the registry; 'auto' is added first."""
        super().__init__(parent)
        self.setWindowTitle("Decompose into layers")
        self._base = request.options

        self.engine = QComboBox()
        self.engine.addItem("Auto (best available)", "auto")
        for name, label in engines:
            self.engine.addItem(label, name)
        self.layers = QComboBox()
        self.layers.addItem("Auto", None)
        for n in range(MIN_LAYERS, MAX_LAYERS + 1):
            self.layers.addItem(str(n), n)
        self.resolution = QComboBox()
        for r in RESOLUTIONS:
            self.resolution.addItem(f"{r} px", r)
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.cfg = QDoubleSpinBox()
        self.cfg.setRange(1.0, 20.0)
        self.cfg.setSingleStep(0.5)
        self.cfg.setDecimals(1)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.random_seed = QCheckBox("Random")
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("Optional: describe the image (helps the AI engine)")

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        form = QFormLayout()
        form.addRow("Engine", self.engine)
        form.addRow("Layers", self.layers)
        form.addRow("Resolution", self.resolution)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance (CFG)", self.cfg)
        form.addRow("Seed", seed_row)
        form.addRow("Prompt", self.prompt)
        note = QLabel(f"Splits {target} into editable layers. The result is one undo step; "
                      "you can keep working while it runs.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Decompose")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(buttons)

        self.engine.currentIndexChanged.connect(self._engine_changed)
        self.random_seed.toggled.connect(lambda on: self.seed.setEnabled(not on))
        self.set_request(request)

    def set_request(self, request: DecomposeRequest) -> None:
        o = request.options
        index = self.engine.findData(request.engine)
        self.engine.setCurrentIndex(max(0, index))
        self.layers.setCurrentIndex(max(0, self.layers.findData(o.layers)))
        res = self.resolution.findData(o.resolution)
        if res < 0:
            self.resolution.addItem(f"{o.resolution} px", o.resolution)
            res = self.resolution.count() - 1
        self.resolution.setCurrentIndex(res)
        self.steps.setValue(int(o.steps))
        self.cfg.setValue(float(o.cfg_scale))
        self.random_seed.setChecked(o.seed is None)
        self.seed.setValue(0 if o.seed is None else int(o.seed))
        self.prompt.setText(o.prompt)
        self._engine_changed()

    def _engine_changed(self) -> None:
        diffusion = self.engine.currentData() in DIFFUSION_ENGINES
        for widget in (self.steps, self.cfg, self.prompt, self.random_seed):
            widget.setEnabled(diffusion)
        self.seed.setEnabled(diffusion and not self.random_seed.isChecked())

    def request(self) -> DecomposeRequest:
        options = self._base.with_changes(
            layers=self.layers.currentData(),
            resolution=int(self.resolution.currentData()),
            steps=self.steps.value(),
            cfg_scale=self.cfg.value(),
            seed=None if self.random_seed.isChecked() else self.seed.value(),
            prompt=self.prompt.text().strip(),
        )
        return DecomposeRequest(self.engine.currentData(), options)

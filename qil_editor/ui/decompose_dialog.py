"""The Decompose dialog: engine and options, prefilled with the last run's choices.

Engines that need the ``model`` extra are listed but disabled when it is not
installed, with the one command that installs it, so a core install shows
what exists instead of failing after the user picks it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout)

from ..engines.base import MAX_LAYERS, MIN_LAYERS
from ..engines.model_extra import MODEL_ENGINE_NAMES, model_extra_hint, model_extra_installed
from .worker import DecomposeRequest

RESOLUTIONS = (640, 1024)
#: Engines whose result depends on the diffusion options (steps, CFG, seed, prompt).
DIFFUSION_ENGINES = ("auto", "qwen")


class DecomposeDialog(QDialog):
    def __init__(self, request: DecomposeRequest, engines: list[tuple[str, str]], *,
                 target: str = "the image", parent=None, model_extra: bool | None = None,
                 unavailable: dict[str, str] | None = None) -> None:
        """``engines`` is [(name, label)] from the registry; 'auto' is added first.

        ``model_extra`` says whether the model engines are installed (default:
        look with :func:`model_extra_installed`); when not, they are disabled.
        ``unavailable`` maps engines that cannot run (e.g. no weights) to why;
        they are disabled too, with the reason and where to fix it.
        """
        super().__init__(parent)
        self.setWindowTitle("Decompose into layers")
        self._base = request.options
        installed = model_extra_installed() if model_extra is None else model_extra
        #: names of the engines shown but not selectable (their extra is missing)
        self.disabled_engines: set[str] = set()

        self.engine = QComboBox()
        self.engine.addItem("Auto (best available)", "auto")
        hint = model_extra_hint()
        for name, label in engines:
            self.engine.addItem(label, name)
            if not installed and name in MODEL_ENGINE_NAMES:
                item = self.engine.model().item(self.engine.count() - 1)
                item.setEnabled(False)
                item.setToolTip(f"Not installed. {hint}")
                self.engine.setItemText(self.engine.count() - 1, f"{label} — not installed")
                self.disabled_engines.add(name)
            elif name in (unavailable or {}):
                item = self.engine.model().item(self.engine.count() - 1)
                item.setEnabled(False)
                item.setToolTip(f"{unavailable[name]} Choose the model folder in Edit > Preferences.")
                self.engine.setItemText(self.engine.count() - 1, f"{label} — model not found")
                self.disabled_engines.add(name)
        if self.disabled_engines and installed:
            hint = "The AI model was not found; choose its folder in Edit > Preferences."
        #: the install command under the engine box, shown only when model engines are disabled
        what = "are not installed" if not installed else "cannot run"
        #: the note's two texts: "Auto uses the classical engine" only while Auto is chosen
        self._note_texts = {True: f"The AI engines {what}; Auto uses the classical engine. {hint}",
                            False: f"The AI engines {what}. {hint}"}
        self.model_note = QLabel(self._note_texts[True], self)
        self.model_note.setObjectName("modelNote")
        self.model_note.setWordWrap(True)
        self.model_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_note.setVisible(bool(self.disabled_engines))
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
        if self.disabled_engines:
            form.addRow(self.model_note)  # the whole row: a wrapped label beside an empty one grows tall
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
        if request.engine in self.disabled_engines:
            index = 0  # remembered from an install that had the model engines: Auto instead
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
        engine = self.engine.currentData()
        # Auto can only reach a diffusion engine when one is installed.
        diffusion = engine in DIFFUSION_ENGINES and not (engine == "auto" and self.disabled_engines)
        for widget in (self.steps, self.cfg, self.prompt, self.random_seed):
            widget.setEnabled(diffusion)
        self.model_note.setText(self._note_texts[engine == "auto"])
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

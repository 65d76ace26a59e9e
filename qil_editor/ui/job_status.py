"""Status-bar strip for a running decomposition: text with step and ETA, a bar, Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from .icons import icon

if TYPE_CHECKING:  # pragma: no cover
    from ..engines.jobs import Progress  # loads with the first job (start-up)


def counting(progress: Progress | None) -> bool:
    """True while denoising steps are being counted; False for phases without steps:
    before the first step (loading the model, captioning) and after the last (decoding)."""
    return progress is not None and progress.total > 0 and 0 < progress.step < progress.total


def describe(progress: Progress | None, engine: str, step_message: str | None = None) -> str:
    """The status text. ``step_message`` is the message the counted steps carried: the last
    step reporting it means the steps are done and the pipeline is decoding."""
    if progress is None:
        return f"Decomposing with {engine}… starting"
    what = progress.message or "Decomposing"
    if progress.total > 0 and progress.step >= progress.total:
        # all steps done: the decode has no steps and no ETA; a later phase names itself
        if not progress.message or progress.message == step_message:
            what = "Decoding the layers"
        return f"{what}…"
    if not counting(progress):
        return f"{what}…"
    from ..engines.jobs import format_eta

    step = f"step {progress.step}/{progress.total}"
    return f"{what} · {step} · ETA {format_eta(progress.eta_s)}"


class JobStatus(QWidget):
    cancelRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(160)
        self.bar.setFixedHeight(12)
        self.cancel = QToolButton()
        self.cancel.setIcon(icon("cancel"))
        self.cancel.setIconSize(QSize(16, 16))
        self.cancel.setToolTip("Cancel the decomposition (the document stays as it was)")
        self.cancel.setAutoRaise(True)
        self.cancel.clicked.connect(self.cancelRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.setVisible(False)
        self._step_message: str | None = None

    def show_progress(self, progress: Progress | None, engine: str) -> None:
        if progress is None:
            self._step_message = None
        elif counting(progress):
            self._step_message = progress.message
        self.label.setText(describe(progress, engine, self._step_message))
        if not counting(progress):
            self.bar.setRange(0, 0)  # a moving busy bar while loading or decoding: nothing to count
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(progress.fraction * 1000))
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)

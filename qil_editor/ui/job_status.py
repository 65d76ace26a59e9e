"""Status-bar strip for a running decomposition: text with step and ETA, a bar, Cancel."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from ..engines.jobs import Progress, format_eta
from .icons import icon


def describe(progress: Progress | None, engine: str) -> str:
    if progress is None:
        return f"Decomposing with {engine}… starting"
    step = f"step {progress.step}/{progress.total}" if progress.total else ""
    what = progress.message or "Decomposing"
    return f"{what} · {step} · ETA {format_eta(progress.eta_s)}".replace(" ·  ·", " ·")


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

    def show_progress(self, progress: Progress | None, engine: str) -> None:
        self.label.setText(describe(progress, engine))
        if progress is None or progress.total <= 0:
            self.bar.setRange(0, 0)  # busy indicator until the first step
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(progress.fraction * 1000))
        self.setVisible(True)

    def clear(self) -> None:
        self.setVisible(False)

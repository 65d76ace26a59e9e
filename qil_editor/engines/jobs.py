"""Qt-free job plumbing shared by the CLI and the GUI worker.

A job gets a :class:`CancelToken` and a progress callback. Engines call
``token.raise_if_cancelled()`` between steps, so cancel lands within one
step, and report :class:`Progress` with an ETA from :class:`ProgressTracker`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import CancelledError


class CancelToken:
    """Thread-safe cancel flag, set from the UI thread, read by the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError()


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    message: str = ""
    eta_s: float | None = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """Default progress sink."""


class ProgressTracker:
    """Turns 'step i of n' into :class:`Progress` with an ETA from the mean step time."""

    def __init__(self, callback: ProgressCallback | None, total: int, message: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.callback = callback or no_progress
        self.total = int(total)
        self.message = message
        self.clock = clock
        self.start = clock()

    def update(self, step: int, message: str | None = None) -> Progress:
        if message is not None:
            self.message = message
        elapsed = self.clock() - self.start
        eta = None
        if step > 0 and self.total > 0:
            eta = max(0.0, elapsed / step * (self.total - step))
        progress = Progress(int(step), self.total, self.message, eta)
        self.callback(progress)
        return progress


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes:02d}:{sec:02d}"

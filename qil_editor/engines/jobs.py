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


# ----- a decomposition job with states (CLI and GUI worker alike) ---------------

class JobState:
    """Where a job is. Plain strings so a Qt signal can carry them as they are."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class DecomposeJob:
    """One decomposition: resolve the engine, run it, keep the state, result or error.

    Qt-free on purpose: the GUI worker calls :meth:`run` on its QThread and
    :meth:`cancel` from the UI thread; the CLI calls :meth:`run` directly.
    Every failure leaves as a :class:`QilError` (unexpected exceptions are
    wrapped in :class:`ModelError`), stored in :attr:`error` and raised.
    """

    def __init__(self, registry, engine_name: str, image, options,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> None:
        self.registry = registry
        self.engine_name = engine_name
        self.image = image
        self.options = options
        self.progress_callback = progress
        self.token = cancel or CancelToken()
        self.state = JobState.PENDING
        self.engine = None
        self.result = None
        self.error = None
        self.last_progress: Progress | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None

    def cancel(self) -> None:
        self.token.cancel()

    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        if self.progress_callback is not None:
            self.progress_callback(progress)

    def run(self):
        from ..errors import ModelError, QilError

        if self.state != JobState.PENDING:
            raise RuntimeError("a job runs once")
        self.state = JobState.RUNNING
        self.started_at = time.monotonic()
        try:
            self.token.raise_if_cancelled()
            self.engine = self.registry.resolve(self.engine_name, self.options)
            self.result = self.engine.decompose(self.image, self.options, self._on_progress, self.token)
            self.token.raise_if_cancelled()
            self.state = JobState.DONE
            return self.result
        except CancelledError as err:
            self.state, self.error, self.result = JobState.CANCELLED, err, None
            raise
        except QilError as err:
            self.state, self.error = JobState.FAILED, err
            raise
        except KeyboardInterrupt:
            self.state, self.error = JobState.CANCELLED, CancelledError()
            raise self.error from None
        except Exception as exc:  # noqa: BLE001 - engines' bugs reach the user as a message
            label = getattr(self.engine, "label", self.engine_name)
            self.error = ModelError(f"The {label} engine failed: {type(exc).__name__}: {exc}",
                                    "Please report this with the image that caused it.")
            self.state = JobState.FAILED
            raise self.error from exc
        finally:
            self.finished_at = time.monotonic()


def run_decompose(registry, engine_name: str, image, options,
                  progress: ProgressCallback | None = None, cancel: CancelToken | None = None):
    """Resolve ``engine_name`` ('auto' included) and decompose; returns the Document."""
    return DecomposeJob(registry, engine_name, image, options, progress, cancel).run()

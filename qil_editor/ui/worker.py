"""Decomposition on a QThread, awaitable from UI code through qasync.

``DecomposeWorker`` is a QObject moved to its own QThread; it resolves the
engine (which may import torch: never on the UI thread), runs it with a
progress callback and a cancel token, and reports through queued signals.
``DecomposeJob`` owns the thread and exposes an asyncio future, so the
window writes ``result = await job.start()``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..engines.base import DecomposeOptions
from ..engines.jobs import CancelToken, Progress
from ..errors import ModelError, OutOfMemoryError, QilError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecomposeRequest:
    engine: str  # "auto" or a registry name
    options: DecomposeOptions


def _as_user_error(exc: BaseException, engine_name: str) -> QilError:
    """Anything an engine raises becomes a message a person can act on."""
    if isinstance(exc, QilError):
        return exc
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return OutOfMemoryError(
            "The computer ran out of memory while decomposing the image.",
            "Choose a lower resolution or fewer layers, or a memory-saving mode in Preferences.")
    return ModelError(f"The {engine_name} engine failed: {exc}",
                      "Try the classical engine, or another resolution. The details are in the log file.")


class Resolver(Protocol):
    """What the worker needs from a registry: an :class:`EngineRegistry`, or a stand-in
    (a lazily built registry, an adapter running another kind of job)."""

    def resolve(self, name: str, options): ...


class DecomposeWorker(QObject):
    progress = Signal(object)  # Progress
    finished = Signal(object)  # Document
    failed = Signal(object)  # QilError

    def __init__(self, registry: "Resolver", request: DecomposeRequest,
                 image: np.ndarray, cancel: CancelToken) -> None:
        super().__init__()
        self.registry = registry
        self.request = request
        self.image = image
        self.cancel = cancel
        self.engine_label = request.engine

    @Slot()
    def run(self) -> None:
        try:
            engine = self.registry.resolve(self.request.engine, self.request.options)
            self.engine_label = engine.label
            self.cancel.raise_if_cancelled()
            result = engine.decompose(self.image, self.request.options, self.progress.emit, self.cancel)
            self.cancel.raise_if_cancelled()  # a late cancel still leaves the document as it was
        except BaseException as exc:  # noqa: BLE001 - everything becomes a message, never a crash
            if not isinstance(exc, QilError):
                log.error("decomposition failed", exc_info=exc)
            self.failed.emit(_as_user_error(exc, self.engine_label))
        else:
            self.finished.emit(result)
        finally:
            # End the thread from inside: a UI thread blocked in wait() (closing the
            # window) could not deliver a queued quit() and would wait forever.
            self.thread().quit()


class DecomposeJob(QObject):
    """One run: a thread, a worker, a cancel token and a future."""

    progress = Signal(object)  # Progress, on the UI thread
    ended = Signal()

    def __init__(self, registry: "Resolver", request: DecomposeRequest,
                 image: np.ndarray, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.token = CancelToken()
        self.last_progress: Progress | None = None
        self._future: asyncio.Future | None = None
        self._thread = QThread()
        self._thread.setObjectName("qil-decompose")
        self._worker = DecomposeWorker(registry, request, image, self.token)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def start(self) -> asyncio.Future:
        if self._future is not None:
            raise RuntimeError("a job runs once")
        self._future = asyncio.get_event_loop().create_future()
        self._thread.start()
        return self._future

    def cancel(self) -> None:
        self.token.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker thread is gone (used when the window closes)."""
        if msecs < 0:
            return self._thread.wait()
        return self._thread.wait(msecs)

    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        self.progress.emit(progress)

    def _finish(self) -> None:
        self._thread.quit()
        self._thread.wait()
        self.ended.emit()

    def _on_finished(self, result) -> None:
        self._finish()
        if not self._future.done():
            self._future.set_result(result)

    def _on_failed(self, error: QilError) -> None:
        self._finish()
        if not self._future.done():
            self._future.set_exception(error)


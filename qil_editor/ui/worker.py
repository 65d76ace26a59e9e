"""Jobs on a QThread, awaitable from UI code through qasync.

The work itself is the engines' Qt-free :class:`~qil_editor.engines.jobs.Job`
(decompose, split or edit; the CLI runs the same class). ``JobThread`` runs
one on its own QThread (resolving an engine may import torch: never on the
UI thread), relays progress through queued signals and exposes an asyncio
future, so the window writes ``result = await JobThread(job).start()``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..engines.jobs import DecomposeRequest, Job, JobKind, Progress, decompose_job, edit_job, split_job
from ..errors import QilError

log = logging.getLogger(__name__)

__all__ = ["DecomposeRequest", "Job", "JobKind", "JobThread", "decompose_job", "edit_job", "split_job"]


class _Runner(QObject):
    """Lives on the job's thread; runs the job and reports through queued signals."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the result
    failed = Signal(object)  # QilError

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        job.progress_callback = self.progress.emit

    @Slot()
    def run(self) -> None:
        try:
            result = self.job.run()
        except QilError as err:  # Job.run turned every failure into one
            if err.__cause__ is not None:
                log.error("%s job failed", self.job.kind.value, exc_info=err.__cause__)
            self.failed.emit(err)
        except BaseException as exc:  # noqa: BLE001 - never a crash on the worker thread
            log.error("%s job failed", self.job.kind.value, exc_info=exc)
            self.failed.emit(self.job.error or QilError(str(exc)))
        else:
            self.finished.emit(result)
        finally:
            # End the thread from inside: a UI thread blocked in wait() (closing the
            # window) could not deliver a queued quit() and would wait forever.
            self.thread().quit()


class JobThread(QObject):
    """One :class:`Job` on a QThread, with a cancel, progress on the UI thread and a future."""

    progress = Signal(object)  # Progress, on the UI thread
    ended = Signal()

    def __init__(self, job: Job, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.last_progress: Progress | None = None
        self.started_at: float | None = None  # time.monotonic() at start
        self._future: asyncio.Future | None = None
        self._thread = QThread()
        self._thread.setObjectName(f"qil-{job.kind.value}")
        self._runner = _Runner(job)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self._on_progress)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)

    @property
    def kind(self) -> JobKind:
        return self.job.kind

    @property
    def request(self) -> DecomposeRequest | None:
        return self.job.request

    @property
    def token(self):
        return self.job.token

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    @property
    def engine_label(self) -> str:
        """The engine that runs (known once resolved: "auto" becomes the one chosen)."""
        return self.job.engine_label

    def start(self) -> asyncio.Future:
        if self._future is not None:
            raise RuntimeError("a job runs once")
        self._future = asyncio.get_event_loop().create_future()
        self.started_at = time.monotonic()
        self._thread.start()
        return self._future

    @property
    def elapsed(self) -> float:
        """Seconds since it started (0 before)."""
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    def cancel(self) -> None:
        self.job.cancel()

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

"""Qt-free jobs: the one runner the CLI and the GUI worker share.

A job gets a :class:`CancelToken` and a progress callback. Engines call
``token.raise_if_cancelled()`` between steps, so cancel lands within one
step, and report :class:`Progress` with an ETA from :class:`ProgressTracker`.
:class:`Job` runs one typed piece of work (:class:`JobKind`: decompose,
split, edit) with states, and :func:`user_error` is the one place where an
exception becomes a message for a person. The GUI runs the same
:class:`Job` on a QThread (``ui.worker.JobThread``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from ..errors import CancelledError, QilError


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


# ----- jobs with states (CLI and GUI worker alike) ---------------------------------------------

class JobState:
    """Where a job is. Plain strings so a Qt signal can carry them as they are."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class JobKind(str, Enum):
    """What a job does; the result type follows: Document, LayerSplit, LayerEdit."""

    DECOMPOSE = "decompose"
    SPLIT = "split"
    EDIT = "edit"


#: How each kind is named in messages ("... while <doing>").
DOING = {JobKind.DECOMPOSE: "decomposing the image", JobKind.SPLIT: "splitting the layer",
         JobKind.EDIT: "editing the layer"}


@dataclass(frozen=True)
class DecomposeRequest:
    """What the user asked for: an engine ("auto" or a registry name) and its options."""

    engine: str
    options: Any


def user_error(exc: BaseException, kind: JobKind, label: str) -> QilError:
    """The one place an exception from a job becomes a message a person can act on."""
    if isinstance(exc, QilError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return CancelledError()
    from .diffusion.loader import map_error  # no torch import

    hint = ("Try the classical engine, or another resolution. If it keeps happening, please report it "
            "with the image that caused it (the details are in the log file).")
    return map_error(exc, label=f"The {label} engine", doing=DOING[kind], info=None, mode=None, hint=hint)


class Job:
    """One run of ``work(job)`` with a state, a result or an error, progress and cancel.

    Qt-free on purpose: the GUI's ``JobThread`` calls :meth:`run` on its
    QThread and :meth:`cancel` from the UI thread; the CLI calls :meth:`run`
    directly. Every failure leaves as a :class:`QilError` (see
    :func:`user_error`), stored in :attr:`error` and raised.
    """

    def __init__(self, kind: JobKind, work: Callable[["Job"], Any], *, label: str,
                 request: DecomposeRequest | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> None:
        self.kind = JobKind(kind)
        self.work = work
        self.engine_label = label
        self.request = request
        self.progress_callback = progress
        self.token = cancel or CancelToken()
        self.state = JobState.PENDING
        self.engine = None
        self.result = None
        self.error: QilError | None = None
        self.last_progress: Progress | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None

    def cancel(self) -> None:
        self.token.cancel()

    def report(self, progress: Progress) -> None:
        self.last_progress = progress
        if self.progress_callback is not None:
            self.progress_callback(progress)

    def use_engine(self, engine) -> None:
        """Record the engine that runs (an 'auto' request learns which one was chosen)."""
        self.engine = engine
        self.engine_label = getattr(engine, "label", self.engine_label)

    def run(self):
        if self.state != JobState.PENDING:
            raise RuntimeError("a job runs once")
        self.state = JobState.RUNNING
        self.started_at = time.monotonic()
        try:
            self.token.raise_if_cancelled()
            result = self.work(self)
            self.token.raise_if_cancelled()  # a late cancel still leaves the document as it was
        except BaseException as exc:  # noqa: BLE001 - everything becomes a message, never a crash
            error = user_error(exc, self.kind, self.engine_label)
            self.error, self.result = error, None
            self.state = JobState.CANCELLED if isinstance(error, CancelledError) else JobState.FAILED
            if error is exc:
                raise
            raise error from exc
        else:
            self.result, self.state = result, JobState.DONE
            return result
        finally:
            self.finished_at = time.monotonic()


def decompose_job(resolver, request: DecomposeRequest, image, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None, kind: JobKind = JobKind.DECOMPOSE) -> Job:
    """Resolve ``request.engine`` (on the thread that runs the job: it may import torch) and
    decompose ``image``; the result is a Document."""
    def work(job: Job):
        engine = resolver.resolve(request.engine, request.options)
        job.use_engine(engine)
        job.token.raise_if_cancelled()
        return engine.decompose(image, request.options, job.report, job.token)

    return Job(kind, work, label=request.engine, request=request, progress=progress, cancel=cancel)


def split_job(resolver, request: DecomposeRequest, layer, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None) -> Job:
    """Decompose one layer into placed sub-layers; the result is a ``LayerSplit``."""
    def work(job: Job):
        from .edit.redecompose import redecompose_layer

        engine = resolver.resolve(request.engine, request.options)
        job.use_engine(engine)
        job.token.raise_if_cancelled()
        return redecompose_layer(layer, engine, request.options, job.report, job.token)

    return Job(JobKind.SPLIT, work, label=request.engine, request=request, progress=progress, cancel=cancel)


def edit_job(editor, layer, options, progress: ProgressCallback | None = None,
             cancel: CancelToken | None = None) -> Job:
    """Re-prompt one layer with ``editor`` (a ``QwenLayerEditor``); the result is a ``LayerEdit``."""
    def work(job: Job):
        job.use_engine(editor)
        return editor.edit_layer(layer, options, job.report, job.token)

    return Job(JobKind.EDIT, work, label=getattr(editor, "label", "edit"),
               request=DecomposeRequest(getattr(editor, "name", "edit"), options), progress=progress,
               cancel=cancel)


def run_decompose(registry, engine_name: str, image, options,
                  progress: ProgressCallback | None = None, cancel: CancelToken | None = None):
    """Resolve ``engine_name`` ('auto' included) and decompose; returns the Document."""
    return decompose_job(registry, DecomposeRequest(engine_name, options), image, progress, cancel).run()

"""Run short pure functions on a QThreadPool and get the result back on the UI thread.

Used for work that must not stall the UI but needs no progress or cancel
(thumbnails, autosave, recolor previews, the exact-blend fallback). Long
jobs with progress and cancel use :mod:`.worker` instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

Callback = Callable[[Any, BaseException | None], None]


class _Relay(QObject):
    """Lives on the UI thread; a queued signal carries the result across."""

    done = Signal(object, object)


class _Task(QRunnable):
    def __init__(self, fn: Callable, args: tuple, relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; see TaskRunner._live
        self.fn, self.args, self.relay = fn, args, relay

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except BaseException as exc:  # reported to the callback, never lost
            self.relay.done.emit(None, exc)
        else:
            self.relay.done.emit(result, None)


class TaskRunner(QObject):
    """A thread pool plus bookkeeping so tasks and relays outlive their run."""

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, max_threads))
        self._live: set[tuple[_Task, _Relay]] = set()

    def submit(self, fn: Callable, *args, callback: Callback | None = None) -> None:
        relay = _Relay()
        task = _Task(fn, args, relay)
        entry = (task, relay)
        self._live.add(entry)

        def finish(result, error):
            self._live.discard(entry)
            relay.deleteLater()
            if callback is not None:
                callback(result, error)
            elif error is not None:
                log.error("background task failed", exc_info=error)

        relay.done.connect(finish)
        self.pool.start(task)

    def future(self, fn: Callable, *args) -> asyncio.Future:
        """Submit and return an asyncio future (qasync loop) for ``await``."""
        fut = asyncio.get_event_loop().create_future()

        def resolve(result, error):
            if fut.done():
                return
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(result)

        self.submit(fn, *args, callback=resolve)
        return fut

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def wait(self, msecs: int = -1) -> bool:
        """Block until running tasks end (window close); queued results are dropped."""
        return self.pool.waitForDone(msecs)


"""Logging to a file and a last-resort handler for uncaught exceptions.

An exception nobody caught (a bug) is written to the log with its
traceback and shown as an error dialog; the editor keeps running, so open
work can still be saved. QilErrors that escape (a user-caused problem that
reached the top) show their message and hint, without "unexpected".
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Callable

from ..errors import QilError

LOG_NAME = "qil-editor.log"


def _file_handler(path: Path) -> logging.Handler:
    import logging.handlers  # brings socket, pickle and queue: ~8 ms

    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


class _HeldRecords(logging.Handler):
    """Keeps the records logged before the log file is opened (:func:`open_held_log`)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def setup_logging(folder: Path, *, hold: bool = False) -> Path:
    """Log to ``folder/qil-editor.log`` (rotated); returns the path.

    ``hold``: the file is opened by :func:`open_held_log` (the editor calls it after its first
    frame, which the file handler's imports would delay); what is logged until then is kept
    and written first.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    root = logging.getLogger()
    root.addHandler(_HeldRecords(path) if hold else _file_handler(path))
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path


def open_held_log() -> None:
    """Open the log file of ``setup_logging(..., hold=True)`` and write the records kept so far."""
    root = logging.getLogger()
    for held in [h for h in root.handlers if isinstance(h, _HeldRecords)]:
        handler = _file_handler(held.path)
        root.addHandler(handler)
        root.removeHandler(held)
        for record in held.records:
            handler.handle(record)


ShowError = Callable[[str, str, str], None]  # title, message, details


def make_excepthook(show: ShowError, log_path: Path | None) -> Callable:
    """An ``sys.excepthook`` that logs and shows, never exits."""

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        logging.getLogger("qil_editor").error("uncaught exception\n%s", details)
        if isinstance(exc, QilError):
            show("QIL Editor", exc.message, exc.hint)
            return
        where = f" The details were written to {log_path}." if log_path else ""
        show("Unexpected error",
             f"Something went wrong inside QIL Editor: {exc_type.__name__}: {exc}",
             "Your documents are still open; save your work. Please report this problem." + where)

    return hook


def asyncio_exception_handler(hook: Callable) -> Callable:
    """Route exceptions from asyncio tasks nobody awaited to the same hook."""

    def handler(loop, context) -> None:
        exc = context.get("exception")
        if exc is None:
            logging.getLogger("qil_editor").error("asyncio: %s", context.get("message"))
            return
        hook(type(exc), exc, exc.__traceback__)

    return handler

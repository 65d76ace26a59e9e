"""Fixtures for the editor's GUI tests (pytest-qt, offscreen).

- every test runs with the qasync loop marked running, as in the app, so
  UI code can ``await`` jobs while qtbot waits drive the Qt event loop;
- settings live in a per-test ini file, data (recovery, logs) in tmp_path;
- message boxes are answered by a recorder instead of blocking;
- after each test no QThread may still run, and no pool task may be active.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QSettings, QThread, QThreadPool
from PySide6.QtWidgets import QMessageBox

from qil_editor.engines.base import default_registry
from qil_editor.ui.app_window import MainWindow
from qil_editor.ui.settings import AppSettings

Button = QMessageBox.StandardButton


@pytest.fixture(scope="session")
def _qasync_loop(qapp):
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)
    yield loop


@pytest.fixture(autouse=True)
def qasync_loop(_qasync_loop):
    asyncio.set_event_loop(_qasync_loop)
    asyncio.events._set_running_loop(_qasync_loop)
    yield _qasync_loop
    asyncio.events._set_running_loop(None)


def _with_subclasses(kind) -> set[type]:
    found, todo = {kind}, [kind]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def _live(kind) -> list:
    """Every live Python wrapper of ``kind`` (exact type test: a heap of torch objects is big)."""
    kinds = _with_subclasses(kind)
    return [obj for obj in gc.get_objects() if type(obj) in kinds and shiboken6.isValid(obj)]


def _running_qthreads() -> list[QThread]:
    return [t for t in _live(QThread) if t.isRunning() and t is not QThread.currentThread()]


def _busy_pools() -> list[QThreadPool]:
    return [pool for pool in _live(QThreadPool) if pool.activeThreadCount() > 0]


@pytest.fixture(autouse=True)
def no_threads_left(qasync_loop):
    """Set up before qtbot, so this check runs after qtbot closed the test's widgets."""
    yield
    deadline = time.monotonic() + 2.0
    while (_running_qthreads() or _busy_pools()) and time.monotonic() < deadline:
        time.sleep(0.02)
    threads = [t.objectName() or repr(t) for t in _running_qthreads()]
    pools = _busy_pools()
    assert not threads, f"QThreads still running after the test: {threads}"
    assert not pools, f"thread pools still busy after the test: {pools}"


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@dataclass
class DialogRecorder:
    """Stands in for QMessageBox.exec: records each box and answers from a queue."""

    shown: list[tuple[str, str, str]] = field(default_factory=list)
    answers: list[Button] = field(default_factory=list)
    default: Button = Button.Discard

    def exec(self, box: QMessageBox) -> int:
        self.shown.append((box.windowTitle(), box.text(), box.informativeText()))
        buttons = box.standardButtons()
        answer = self.answers.pop(0) if self.answers else self.default
        if not buttons & answer:  # the default does not fit this box: take its Ok/Yes
            answer = next(b for b in (Button.Ok, Button.Yes, Button.Close) if buttons & b)
        return answer.value

    @property
    def texts(self) -> list[str]:
        return [f"{title}: {text} {info}" for title, text, info in self.shown]


@pytest.fixture
def dialogs(monkeypatch) -> DialogRecorder:
    recorder = DialogRecorder()
    monkeypatch.setattr(QMessageBox, "exec", lambda box: recorder.exec(box))
    monkeypatch.setattr(QMessageBox, "open", lambda box: recorder.exec(box) and None)
    return recorder


_REAL_EXEC, _REAL_OPEN = QMessageBox.exec, QMessageBox.open


def _exec_with_a_way_out(box: QMessageBox) -> int:
    """The real ``exec``; a box nobody clicks within 10 s (a failed test, or pytest-qt closing
    the window before fixtures are torn down) is answered with Escape instead of hanging."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(10_000, box, box.reject)
    return _REAL_EXEC(box)


@pytest.fixture
def real_message_boxes(dialogs):
    """Real, clickable message boxes for this test's body (``exec`` blocks until a button is
    clicked, ``open`` shows without blocking); the recorder is back afterwards."""
    recorded_exec, recorded_open = QMessageBox.exec, QMessageBox.open
    QMessageBox.exec, QMessageBox.open = _exec_with_a_way_out, lambda box: QMessageBox.show(box)
    yield
    QMessageBox.exec, QMessageBox.open = recorded_exec, recorded_open


@pytest.fixture(scope="session")
def engine_registry():
    """One registry for the session, so the tiny model loads once (engines keep it)."""
    return default_registry()


@pytest.fixture
def make_window(qtbot, settings, tmp_path, dialogs, engine_registry):
    windows: list[MainWindow] = []

    def make(data_dir=None, registry_factory=None) -> MainWindow:
        window = MainWindow(settings, data_dir or (tmp_path / "data"),
                            registry_factory or (lambda: engine_registry))
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:  # close while the dialog recorder still answers
        window.discard_all()
        window.close()


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


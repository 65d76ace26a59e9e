"""End-to-end editing sessions in the real main window, with the real engines."""

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QTransform
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from qil_editor.document import composite
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.recolor import Recolor
from qil_editor.io import open_image
from qil_editor.io.export import layer_on_canvas
from qil_editor.ui.layer_delegate import LayerDelegate
from qil_editor.ui.worker import DecomposeRequest
from ui_helpers import classical_request, tiny_request, wait_task


def state(doc):
    """What a person sees of each layer: order, name, offset, visibility, pixels."""
    return [(ly.id, ly.name, ly.x, ly.y, ly.visible, ly.opacity, ly.blend_mode, ly.pixels)
            for ly in doc.layers]


def same_state(a, b) -> bool:
    return len(a) == len(b) and all(x[:7] == y[:7] and np.array_equal(x[7], y[7]) for x, y in zip(a, b))


def drag_on_canvas(canvas, start: QPointF, delta: QPoint):
    vp = canvas.viewport()
    a = canvas.mapFromScene(start)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, 6):
        QTest.mouseMove(vp, a + QPoint(delta.x() * i // 5, delta.y() * i // 5))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a + delta)


def placed(layer, w, h):
    """The layer on the canvas, premultiplied (transparent pixels have no colour in a PSD)."""
    arr = layer_on_canvas(layer, w, h).astype(np.uint32)
    arr[..., :3] = arr[..., :3] * arr[..., 3:4] // 255
    return arr


@pytest.mark.parametrize("engine", ["classical", pytest.param("qwen", marks=pytest.mark.slow)])
def test_scripted_session(qtbot, window, dialogs, sample_poster, tmp_path, engine, request):
    """open → decompose → drag → recolor → hide → reorder → undo all → redo all → save → reopen."""
    req = (tiny_request(request.getfixturevalue("tiny_model_dir")) if engine == "qwen"
           else classical_request(4))
    tab = window.open_path(sample_poster)
    session, canvas = tab.session, tab.canvas
    doc = session.doc
    opened = state(doc)
    assert len(doc) == 1 and np.array_equal(doc.layers[0].pixels, open_image(sample_poster))
    assert window.windowTitle().startswith("poster.png") and not window.isWindowModified()

    assert wait_task(qtbot, window.start_decomposition(req, tab), 120_000) is True
    n = len(doc)
    assert n >= 2 and session.stack.count() == 1 and doc.size == (800, 560)
    assert window.isWindowModified() and "*" in window.tabs.tabText(0)
    if engine == "classical":  # the layers add up to the picture
        diff = np.abs(composite(doc).astype(int) - open_image(sample_poster).astype(int))
        assert diff[..., :3].mean() < 3.0
    decomposed = state(doc)
    assert tab.model.rowCount() == n

    # drag the layer under a point on the canvas, at 100 %
    canvas.setTransform(QTransform())
    canvas.centerOn(400, 280)
    visible = canvas.mapToScene(canvas.viewport().rect().adjusted(40, 40, -40, -40)).boundingRect()
    point = next(QPointF(x, y) for y in range(300, 40, -20) for x in range(400, 40, -20)
                 if visible.contains(x, y) and doc.topmost_at(x, y) not in (None, doc.layers[0]))
    target = doc.topmost_at(int(point.x()), int(point.y()))
    x0, y0 = target.x, target.y
    window.actions_by_name["auto_select"].trigger()  # the move tool picks the layer under the cursor
    window.actions_by_name["snap"].trigger()  # an exact drag, no snapping
    drag_on_canvas(canvas, point, QPoint(25, 15))
    assert (target.x, target.y) == (x0 + 25, y0 + 15)
    assert session.current_layer_id == target.id and session.stack.count() == 2
    assert canvas.item(target.id).pos() == QPointF(target.x, target.y)

    # recolor it with a live preview, then OK
    before = target.pixels
    dialog = window.recolor_dialog()
    dialog.set_params(Recolor(hue=120, saturation=20))
    qtbot.waitUntil(lambda: not dialog.preview_pending, timeout=10_000)
    assert target.pixels is before  # preview only
    assert canvas.item(target.id).shown_pixels is not before
    dialog.accept()
    assert np.array_equal(target.pixels, Recolor(hue=120, saturation=20).apply(before))
    assert session.stack.count() == 3

    # hide another layer with its eye in the layer panel
    other = next(ly for ly in doc.layers if ly.id != target.id)
    view = window.layer_panel.view
    row = tab.model.row_of(other.id)
    eye = LayerDelegate.eye_rect(view.visualRect(tab.model.index(row)))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, eye.center())
    assert not other.visible and session.stack.count() == 4

    # reorder: drop the target at the bottom of the list
    mime = tab.model.mimeData([tab.model.index(tab.model.row_of(target.id))])
    assert tab.model.dropMimeData(mime, Qt.DropAction.MoveAction, n, 0, tab.model.index(-1))
    assert doc.index_of(target.id) == 0 and session.stack.count() == 5
    edited = state(doc)

    # undo all (Ctrl+Z), redo all (Ctrl+Shift+Z); shortcuts need the window active again
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    canvas.setFocus()
    expected_back = [edited, None, None, None, decomposed, opened]
    for step in range(5):
        QTest.keySequence(window, "Ctrl+Z")
        if step == 3:
            assert same_state(state(doc), decomposed)
    assert same_state(state(doc), opened) and not window.isWindowModified()
    for _ in range(5):
        QTest.keySequence(window, "Ctrl+Shift+Z")
    assert same_state(state(doc), edited) and expected_back[0] is edited
    assert tab.model.row_of(target.id) == n - 1 and canvas.item(target.id).zValue() == 0

    # save: a PNG source saves as PSD through Save As
    out = tmp_path / "poster-layers.psd"
    window.ask_save_path = lambda title, suggested, flt: str(out)
    QTest.keySequence(window, "Ctrl+S")
    assert out.is_file() and not window.isWindowModified()
    assert session.save_path == str(out) and window.windowTitle().startswith("poster-layers.psd")

    # reopen in a fresh tab and compare
    window.close_tab(tab)
    assert not dialogs.shown  # it was saved: no prompt
    reopened = window.open_path(out)
    back = reopened.session.doc
    assert [ly.name for ly in back.layers] == [ly.name for ly in doc.layers]
    assert [ly.visible for ly in back.layers] == [ly.visible for ly in doc.layers]
    assert [(ly.x, ly.y) for ly in back.layers] == [(ly.x, ly.y) for ly in doc.layers]
    for mine, theirs in zip(doc.layers, back.layers):
        assert np.array_equal(placed(mine, *doc.size), placed(theirs, *doc.size)), mine.name


def test_decomposition_keeps_ui_responsive_and_cancel_changes_nothing(qtbot, window, sample_poster):
    tab = window.open_path(sample_poster)
    qtbot.waitExposed(window)
    qtbot.wait(200)  # let the first paint of the document finish
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = time.perf_counter()
    task = window.start_decomposition(classical_request(4), tab)
    qtbot.waitUntil(lambda: tab.session.job is not None)
    assert window.job_status.isVisible()
    tab.canvas.zoom_by(1.5)  # the window stays usable meanwhile
    assert wait_task(qtbot, task) is True
    timer.stop()
    assert len(gaps) > 20
    assert max(gaps) < 0.100, f"the UI thread stalled for {max(gaps) * 1000:.0f} ms"
    assert not window.job_status.isVisible()

    # cancel: the document stays exactly as it was, and the thread ends
    before = state(tab.session.doc)
    count = tab.session.stack.count()
    task = window.start_decomposition(classical_request(6), tab)
    qtbot.waitUntil(lambda: tab.session.job is not None)
    job = tab.session.job
    window.job_status.cancel.click()
    assert wait_task(qtbot, task) is False
    assert same_state(state(tab.session.doc), before) and tab.session.stack.count() == count
    assert not job.running and "cancelled" in window.statusBar().currentMessage().lower()


def test_split_one_layer_offsets_parts_and_is_one_step(qtbot, window, sample_poster):
    tab = window.open_path(sample_poster)
    session = tab.session
    assert wait_task(qtbot, window.start_decomposition(classical_request(3), tab)) is True
    # the biggest shape: the background is one object, which a split leaves alone
    biggest = max(session.doc.layers[1:], key=lambda ly: int((ly.pixels[..., 3] > 0).sum()))
    x0, y0 = biggest.x, biggest.y
    session.move_layer(biggest.id, 7, 5)
    count, n = session.stack.count(), len(session.doc)
    flat_before = composite(session.doc)
    task = window.start_decomposition(classical_request(2), tab, layer_id=biggest.id)
    assert wait_task(qtbot, task) is True
    assert biggest.id not in {ly.id for ly in session.doc.layers}
    assert len(session.doc) > n - 1 and session.stack.count() == count + 1
    diff = np.abs(composite(session.doc).astype(int) - flat_before.astype(int))
    assert diff[..., :3].mean() < 3.0  # parts sit where the layer was (offset applied)
    session.stack.undo()
    assert biggest.id in {ly.id for ly in session.doc.layers} and (biggest.x, biggest.y) == (x0 + 7, y0 + 5)


def test_engine_errors_show_message_and_hint(qtbot, window, dialogs, sample_poster, tmp_path):
    tab = window.open_path(sample_poster)
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    req = DecomposeRequest("qwen", DecomposeOptions(layers=3, model_dir=str(empty)))
    assert wait_task(qtbot, window.start_decomposition(req, tab)) is False
    assert len(tab.session.doc) == 1 and tab.session.stack.count() == 0
    title, message, hint = dialogs.shown[-1]
    assert title == "Decomposition failed" and "not available" in message and str(empty) in message + hint


def test_closing_a_document_during_a_run_cancels_it(qtbot, window, dialogs, sample_poster):
    tab = window.open_path(sample_poster)
    task = window.start_decomposition(classical_request(5), tab)
    qtbot.waitUntil(lambda: tab.session.job is not None)
    job = tab.session.job
    started = time.monotonic()
    assert window.close_tab(tab)  # unmodified: no question; the job is cancelled, never waited for
    assert time.monotonic() - started < 0.5 and not window.docs and job.token.cancelled
    qtbot.waitUntil(task.done)
    qtbot.waitUntil(lambda: not job.running)
    assert task.result() is False and not dialogs.shown


def test_closing_during_a_long_run_asks_first_and_cancel_keeps_it_running(qtbot, window, dialogs, sample_poster):
    """A run going for minutes (a model) is not thrown away by a stray Ctrl+W: the editor asks;
    Cancel keeps the tab and the run, Stop and Close stops it. A young run is stopped silently
    (test above)."""
    from qil_editor.ui.file_workflow import Button

    tab = window.open_path(sample_poster)
    task = window.start_decomposition(classical_request(5), tab)
    qtbot.waitUntil(lambda: tab.session.job is not None)
    job = tab.session.job
    job.started_at -= 120  # as if it had been running for two minutes
    dialogs.answers = [Button.Cancel]
    assert not window.close_tab(tab)  # (the run takes a second or more, as in the test above)
    assert tab in window.docs and job.running and not job.token.cancelled
    title, message, info = dialogs.shown[-1]
    assert title == "Stop the running job?" and "for 2 min" in message and "lost" in info
    dialogs.answers = [Button.Ok]
    assert window.close_tab(tab) and not window.docs and job.token.cancelled
    qtbot.waitUntil(task.done)
    qtbot.waitUntil(lambda: not job.running)

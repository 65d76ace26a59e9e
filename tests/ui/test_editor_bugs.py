"""Regressions for the bugs found in hands-on testing (issue #16), driven through the real window:
mouse and keys on the canvas and the layer panel, the window's actions."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QTransform
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from qil_editor.document import Document, Layer
from ui_helpers import classical_request, rgba

OUTLINE = QColor("#4aa3ff")


def text_doc() -> Document:
    """A background and a 'text' layer: a ring with a transparent gap in the middle."""
    ring = rgba(40, 40, (250, 250, 250))
    ring[10:30, 10:30, 3] = 0
    return Document(200, 150, [Layer(rgba(150, 200, (30, 60, 90)), name="Background"),
                               Layer(ring, name="Title", x=80, y=50)])


def at_100(canvas) -> None:
    canvas.setTransform(QTransform())
    canvas.centerOn(100, 75)


def drag(canvas, start: QPointF, delta: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    vp = canvas.viewport()
    a = canvas.mapFromScene(start)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifiers, a)
    for i in range(1, 4):
        QTest.mouseMove(vp, a + QPoint(delta.x() * i // 3, delta.y() * i // 3))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, modifiers, a + delta)


def test_move_tool_moves_the_selected_layer_unless_auto_select(qtbot, window):
    """Bug 3: a drag starting in the gap inside a text moves the text, not the background."""
    tab = window.add_document(text_doc(), name="poster")
    canvas, session = tab.canvas, tab.session
    bg, title = session.doc.layers
    session.set_current(title.id)
    at_100(canvas)
    action = window.actions_by_name["auto_select"]
    assert not action.isChecked() and action.objectName() == "actionAutoSelect"
    window.actions_by_name["snap"].trigger()  # exact drags here; snapping has its own test
    assert not canvas.snap
    drag(canvas, QPointF(100, 70), QPoint(10, 5))  # in the ring's hole: the background is under it
    assert (title.x, title.y) == (90, 55) and (bg.x, bg.y) == (0, 0)
    assert session.current_layer_id == title.id
    drag(canvas, QPointF(20, 20), QPoint(-5, 0), Qt.KeyboardModifier.ControlModifier)  # Ctrl picks once
    assert session.current_layer_id == bg.id and bg.x == -5
    session.set_current(title.id)
    action.trigger()  # Auto-Select on: the press picks the layer under the cursor
    drag(canvas, QPointF(30, 30), QPoint(5, 0))
    assert session.current_layer_id == bg.id and bg.x == 0 and (title.x, title.y) == (90, 55)


def test_space_pan_and_nudge_work_after_clicking_the_layer_panel(qtbot, window):
    """Bug 4: keys reach the canvas wherever the focus is (except in fields that type)."""
    tab = window.add_document(text_doc(), name="poster")
    canvas, session = tab.canvas, tab.session
    title = session.doc.layers[1]
    session.set_current(title.id)
    canvas.set_zoom(4.0)
    view = window.layer_panel.view
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.visualRect(tab.model.index_of_layer(title.id)).center())
    view.setFocus()
    assert QApplication.focusWidget() is view
    QTest.keyPress(view, Qt.Key.Key_Space)
    bars = (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value())
    drag(canvas, QPointF(100, 70), QPoint(-40, -30))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert (title.x, title.y) == (80, 50) and session.stack.count() == 0  # panned, not moved
    assert (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value()) != bars
    QTest.keyClick(view, Qt.Key.Key_Right)
    QTest.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert (title.x, title.y) == (81, 60)
    spin = window.layer_panel.opacity_spin
    spin.setFocus()
    QTest.keyClick(spin, Qt.Key.Key_Down)  # a spin box keeps its arrows
    assert (title.x, title.y) == (81, 60) and title.opacity == 0.99


def test_consecutive_nudges_are_one_step(qtbot, window):
    """Bug 10: a run of nudges of one layer is one undo step; anything in between starts a new one."""
    tab = window.add_document(text_doc(), name="poster")
    canvas, session = tab.canvas, tab.session
    title = session.doc.layers[1]
    session.set_current(title.id)
    canvas.setFocus()
    for _ in range(12):
        QTest.keyClick(canvas, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert title.x == 80 - 120 and session.stack.count() == 1
    session.set_opacity(title.id, 0.5)
    QTest.keyClick(canvas, Qt.Key.Key_Right)
    assert session.stack.count() == 3
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert title.x == 80 and session.stack.index() == 0


def _outline_pixels(canvas) -> np.ndarray:
    """Where the dashed outline colour is in what the screen shows (the window's backing store,
    not a fresh render: a trail is a region nobody repainted)."""
    QApplication.processEvents()
    top = canvas.window()
    screen = top.screen() or QApplication.primaryScreen()
    vp = canvas.viewport()
    origin = vp.mapTo(top, QPoint(0, 0))
    image = screen.grabWindow(top.winId(), origin.x(), origin.y(), vp.width(), vp.height())
    image = image.toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull()
    arr = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine())[:, : image.width() * 4].reshape(image.height(), image.width(), 4)
    b, g, r = arr[..., 0].astype(int), arr[..., 1].astype(int), arr[..., 2].astype(int)
    return (abs(r - OUTLINE.red()) < 8) & (abs(g - OUTLINE.green()) < 8) & (abs(b - OUTLINE.blue()) < 8)


def test_no_outline_trails_after_nudge_undo_and_drag_off_canvas(qtbot, window):
    """Bug 5: the dashed outline drawn in the grey margin is erased when the layer moves."""
    tab = window.add_document(text_doc(), name="poster")
    canvas, session = tab.canvas, tab.session
    title = session.doc.layers[1]
    session.set_current(title.id)
    at_100(canvas)
    qtbot.waitExposed(canvas)
    drag(canvas, QPointF(85, 55), QPoint(150, 0))  # mostly off the canvas, outline in the margin
    canvas.setFocus()
    for _ in range(3):
        QTest.keyClick(canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    window.actions_by_name["undo"].trigger()  # the nudges
    window.actions_by_name["undo"].trigger()  # the drag
    qtbot.wait(50)
    shown = _outline_pixels(canvas)
    rect = canvas.mapFromScene(QPointF(title.x, title.y)), canvas.mapFromScene(QPointF(title.x + 40, title.y + 40))
    allowed = np.zeros_like(shown)
    allowed[max(0, rect[0].y() - 3):rect[1].y() + 3, max(0, rect[0].x() - 3):rect[1].x() + 3] = True
    assert shown.any() and not (shown & ~allowed).any()


def test_opacity_control_is_blank_without_layers(qtbot, window):
    """Bug 6: after deleting every layer the disabled opacity box shows no stale value."""
    tab = window.add_document(text_doc(), name="poster")
    tab.session.set_opacity(tab.session.doc.layers[1].id, 0.37)
    panel = window.layer_panel
    assert panel.opacity_spin.text() == "37 %"
    while tab.session.doc.layers:
        window.actions_by_name["delete"].trigger()
    assert not panel.opacity_spin.isEnabled() and panel.opacity_spin.cleanText() == ""
    assert panel.opacity_slider.value() == 0 and panel.blend.currentIndex() == -1


def test_quitting_during_a_run_never_waits_on_the_ui_thread(qtbot, window, sample_poster):
    """Bug 13: quit cancels the job and returns at once; the window closes when the job has ended."""
    tab = window.open_path(sample_poster)
    task = window.start_decomposition(classical_request(6), tab)
    qtbot.waitUntil(lambda: tab.session.job is not None)
    job = tab.session.job
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 0.5 and job.token.cancelled and not window.docs
    qtbot.waitUntil(task.done, timeout=10_000)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not job.running and task.result() is False


def test_job_status_shows_loading_and_decoding_phases(qtbot, window):
    """Bug 14: no empty still bar while the model loads, no frozen "4/4 · ETA 00:00" while decoding."""
    from qil_editor.engines.jobs import Progress

    status = window.job_status
    status.show_progress(Progress(0, 4, "Loading the model"), "Qwen-Image-Layered")
    assert status.label.text() == "Loading the model…" and status.bar.maximum() == 0  # moving bar
    status.show_progress(Progress(2, 4, "Denoising", 3.0), "Qwen-Image-Layered")
    assert "step 2/4" in status.label.text() and status.bar.maximum() == 1000 and status.bar.value() == 500
    status.show_progress(Progress(4, 4, "Denoising", 0.0), "Qwen-Image-Layered")
    assert status.label.text() == "Decoding the layers…" and status.bar.maximum() == 0
    status.show_progress(Progress(4, 4, "Scaling layers to the image size"), "Qwen-Image-Layered")
    assert status.label.text() == "Scaling layers to the image size…"


def test_split_keeps_opacity_blend_visibility_and_coverage(qtbot, window, sample_poster):
    """Bug 2: Split layer goes through redecompose: parts keep the layer's opacity, blend mode and
    visibility and stay inside its coverage; the status names the engine that ran."""
    from qil_editor.document import BlendMode
    from qil_editor.io import open_image
    from ui_helpers import wait_task

    art = open_image(sample_poster)[100:300, 200:450].copy()
    art[:40, :60, 3] = 0  # a transparent corner the parts must leave transparent
    layer = Layer(art, name="Art", x=30, y=20, opacity=0.6, blend_mode=BlendMode.SCREEN)
    tab = window.add_document(Document(400, 300, [Layer(rgba(300, 400, (255, 255, 255)), name="Paper"), layer]),
                              name="poster")
    tab.session.set_current(layer.id)
    assert wait_task(qtbot, window.start_decomposition(classical_request(3), tab, layer.id)) is True
    parts = [ly for ly in tab.session.doc.layers if ly.name.startswith("Art")]
    assert len(parts) >= 2 and layer.id not in {ly.id for ly in tab.session.doc.layers}
    for part in parts:
        assert part.opacity == 0.6 and part.blend_mode == BlendMode.SCREEN and part.visible
        dx, dy = part.x - layer.x, part.y - layer.y
        hole = art[dy:dy + part.height, dx:dx + part.width, 3] == 0
        assert not part.pixels[..., 3][hole].any()
    assert "Classical" in window.statusBar().currentMessage()
    assert tab.session.stack.count() == 1


def test_missing_model_offers_classical_and_names_preferences(qtbot, window, real_message_boxes, sample_poster,
                                                             tmp_path):
    """Bug 16: the model error points to Preferences and its "Use Classical" button decomposes now."""
    from PySide6.QtWidgets import QMessageBox

    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.ui.worker import DecomposeRequest
    from ui_helpers import wait_task

    tab = window.open_path(sample_poster)
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    request = DecomposeRequest("qwen", DecomposeOptions(layers=3, model_dir=str(empty)))
    assert wait_task(qtbot, window.start_decomposition(request, tab)) is False
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.objectName() == "decomposeFailedBox" and w.isVisible())
    assert "Preferences" in box.informativeText() and str(empty) in box.text() + box.informativeText()
    assert box.defaultButton().text() == "Use Classical"
    box.defaultButton().click()
    qtbot.waitUntil(lambda: tab.task is not None)
    assert wait_task(qtbot, tab.task) is True
    assert len(tab.session.doc) >= 2 and "Classical" in window.statusBar().currentMessage()
    window.discard_all()  # closing the window would ask about the changes in a real box


def _luma(image, rect) -> np.ndarray:
    from qil_editor.ui.qimage import qimage_to_rgba

    arr = qimage_to_rgba(image.convertToFormat(QImage.Format.Format_RGBA8888))
    return arr[rect.top():rect.bottom(), rect.left():rect.right(), :3].astype(int).mean(axis=2)


def _bright(image, rect) -> int:
    """How many clearly bright pixels a rect of a grabbed widget holds."""
    return int((_luma(image, rect) > 150).sum())


def test_layer_panel_and_history_legibility(qtbot, window):
    """Bug 11: larger thumbnails with white text visible, a visible hidden-layer eye, a drop line
    while reordering, undone history steps greyed."""
    from qil_editor.ui.layer_delegate import LayerDelegate
    from qil_editor.ui.thumbnails import THUMB_BOX

    white = np.zeros((60, 200, 4), np.uint8)
    white[20:40, 10:190] = (255, 255, 255, 255)  # white "text" on transparency
    doc = Document(200, 150, [Layer(rgba(150, 200, (30, 60, 90)), name="Background"),
                              Layer(white, name="White title", x=0, y=40)])
    tab = window.add_document(doc, name="poster")
    session = tab.session
    title, bg = doc.layers[1], doc.layers[0]
    assert THUMB_BOX >= 56
    view = window.layer_panel.view
    qtbot.waitUntil(lambda: window.thumbnails.get(title, doc.size) is not None)
    thumb = window.thumbnails.get(title, doc.size)
    assert thumb is not None and thumb.light  # drawn over the dark checkerboard
    window.layer_panel.view.viewport().update()
    qtbot.wait(20)
    image = view.viewport().grab().toImage()
    row = view.visualRect(tab.model.index_of_layer(title.id))
    thumb_rect = LayerDelegate.thumb_rect(row)
    luma = _luma(image, thumb_rect)
    assert (luma > 200).sum() > 20 and np.median(luma) < 90  # white text on a dark checkerboard

    session.set_visible(bg.id, False)
    qtbot.wait(20)
    image = view.viewport().grab().toImage()
    eye = LayerDelegate.eye_rect(view.visualRect(tab.model.index_of_layer(bg.id)))
    assert _bright(image, eye) > 10  # the crossed-out eye is plainly there

    top = view.visualRect(tab.model.index(0))
    y = view.drop_y(top.center() + QPoint(0, top.height() // 3))
    assert y == top.bottom() + 1
    view.drop_line = y
    image = view.viewport().grab().toImage()
    assert QColor(image.pixel(top.center().x(), y)).blue() > 200
    view.drop_line = None

    session.rename(title.id, "A")
    session.rename(title.id, "B")
    window.actions_by_name["undo"].trigger()
    history = window.undo_view
    assert [history.is_undone(r) for r in range(4)] == [False, False, False, True]
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    history.itemDelegate().initStyleOption(option, history.model().index(3, 0))
    assert option.font.italic()


def test_decompose_dialog_without_weights_says_so_before_the_click(qtbot, window, settings, sample_poster,
                                                                   tmp_path):
    """Bugs 9 and 16: with no weights where the settings point, the remembered Qwen engine is not
    preselected; it is shown disabled with the reason, Auto is chosen, model-only options are off."""
    from qil_editor.ui.decompose_dialog import DecomposeDialog

    window.open_path(sample_poster)
    settings.engine = "qwen"
    settings.model_dir = str(tmp_path / "nowhere")
    task = window.decompose_dialog()
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, DecomposeDialog))
    dialog = window.active_dialog
    row = dialog.engine.findData("qwen")
    assert not dialog.engine.model().item(row).isEnabled()
    assert "nowhere" in dialog.engine.model().item(row).toolTip()
    assert dialog.engine.currentData() == "auto" and not dialog.steps.isEnabled() and not dialog.prompt.isEnabled()
    assert dialog.model_note.isVisibleTo(dialog) and "Preferences" in dialog.model_note.text()
    dialog.reject()
    qtbot.waitUntil(task.done)

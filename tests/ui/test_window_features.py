"""Dialogs, settings, tabs and shortcuts of the main window."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QNativeGestureEvent, QPointingDevice
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit

from qil_editor.document import Document, Layer
from qil_editor.engines.recolor import Recolor, colorize
from qil_editor.ui.decompose_dialog import DecomposeDialog
from qil_editor.ui.layer_delegate import LayerDelegate
from qil_editor.ui.settings_dialog import SettingsDialog
from ui_helpers import classical_request, rgba, wait_task


def test_decompose_dialog_runs_and_remembers_choices(qtbot, window, settings, sample_poster):
    tab = window.open_path(sample_poster)
    settings.engine = "classical"
    task = window.decompose_dialog()
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, DecomposeDialog))
    dialog = window.active_dialog
    assert dialog.engine.currentData() == "classical" and not dialog.steps.isEnabled()  # classical ignores steps
    dialog.layers.setCurrentIndex(dialog.layers.findData(3))
    dialog.random_seed.setChecked(False)
    dialog.seed.setValue(1234)
    dialog.accept()
    qtbot.waitUntil(task.done)
    qtbot.waitUntil(lambda: tab.task is not None)
    assert wait_task(qtbot, tab.task) is True
    assert 2 <= len(tab.session.doc) <= 3
    remembered = settings.decompose_request()
    assert remembered.engine == "classical" and remembered.options.layers == 3 and remembered.options.seed == 1234
    # the next dialog starts from those choices
    again = DecomposeDialog(remembered, [("classical", "Classical")])
    assert again.request() == remembered
    again.deleteLater()


def test_decompose_on_open_setting(qtbot, window, settings, sample_poster):
    settings.decompose_on_open = True
    settings.remember_request(classical_request(3))
    tab = window.open_path(sample_poster)
    assert tab.task is not None
    assert wait_task(qtbot, tab.task) is True
    assert len(tab.session.doc) >= 2 and tab.session.stack.count() == 1


def test_other_documents_stay_editable_while_one_decomposes(qtbot, window, sample_poster):
    first = window.open_path(sample_poster)
    task = window.start_decomposition(classical_request(4), first)
    qtbot.waitUntil(lambda: first.session.job is not None)
    second = window.add_document(Document(50, 50, [Layer(rgba(20, 20, (1, 2, 3)), name="A")]), name="b")
    assert window.current is second
    layer = second.session.doc.layers[0]
    QTest.keySequence(window, "Ctrl+J")  # duplicate in the other document meanwhile
    second.session.move_layer(layer.id, 4, 4)
    assert len(second.session.doc) == 2 and not task.done()
    assert not window.job_status.isVisible()  # the status strip follows the current tab
    window.tabs.setCurrentWidget(first.canvas)
    assert window.job_status.isVisible() or task.done()  # may have finished meanwhile
    assert wait_task(qtbot, task) is True
    assert len(first.session.doc) >= 2 and len(second.session.doc) == 2
    assert window.undo_view.stack() is first.session.stack


def test_recolor_colorize_preview_and_cancel(qtbot, window):
    pixels = np.zeros((20, 30, 4), np.uint8)
    pixels[..., 0] = np.arange(30) * 8
    pixels[..., 3] = 200
    tab = window.add_document(Document(30, 20, [Layer(pixels, name="Ramp")]), name="ramp")
    layer = tab.session.doc.layers[0]
    dialog = window.recolor_dialog()
    dialog.tabs.setCurrentIndex(1)
    dialog.set_color(QColor(0, 128, 255))
    qtbot.waitUntil(lambda: not dialog.preview_pending)
    shown = tab.canvas.item(layer.id).shown_pixels
    assert np.array_equal(shown, colorize(pixels, (0, 128, 255)))
    dialog.reject()
    assert tab.canvas.item(layer.id).shown_pixels is layer.pixels and tab.session.stack.count() == 0
    tab.session.set_locked(layer.id, True)
    assert window.recolor_dialog() is None  # locked layers refuse edits
    assert "locked" in window.statusBar().currentMessage()
    tab.session.set_locked(layer.id, False)
    dialog = window.recolor_dialog()
    dialog.set_params(Recolor(lightness=-50))
    dialog.accept()  # OK without waiting for the preview computes it directly
    assert np.array_equal(layer.pixels, Recolor(lightness=-50).apply(pixels))
    assert tab.session.stack.text(tab.session.stack.count() - 1) == "Recolor layer"


def test_rename_by_double_click(qtbot, window):
    tab = window.add_document(Document(20, 20, [Layer(rgba(20, 20, (9, 9, 9)), name="Old")]), name="x")
    view = window.layer_panel.view
    point = QPointF(LayerDelegate.name_rect(view.visualRect(tab.model.index(0))).center())
    vp = view.viewport()
    press, release = QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease
    for kind in (press, release, QEvent.Type.MouseButtonDblClick, release):  # what a real double-click sends
        buttons = Qt.MouseButton.NoButton if kind == release else Qt.MouseButton.LeftButton
        QApplication.sendEvent(vp, QMouseEvent(kind, point, vp.mapToGlobal(point), Qt.MouseButton.LeftButton,
                                               buttons, Qt.KeyboardModifier.NoModifier))
    editor = view.findChild(QLineEdit)
    assert editor is not None and editor.text() == "Old"
    editor.setText("New name")
    QTest.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on the next event loop turn
    qtbot.waitUntil(lambda: tab.session.doc.layers[0].name == "New name")
    assert tab.session.stack.count() == 1 and tab.model.index(0).data() == "New name"


def test_tools_shortcuts_and_native_zoom_gesture(qtbot, window):
    tab = window.add_document(Document(400, 300, [Layer(rgba(300, 400, (9, 9, 9)))]), name="x")
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    QTest.keyClick(window, Qt.Key.Key_H)
    assert tab.canvas.tool == "hand" and window.actions_by_name["tool_hand"].isChecked()
    QTest.keyClick(window, Qt.Key.Key_V)
    assert tab.canvas.tool == "move"
    QTest.keySequence(window, "Ctrl+1")
    assert tab.canvas.zoom == pytest.approx(1.0) and window.zoom_label.text() == "100 %"
    center = QPointF(tab.canvas.viewport().rect().center())
    gesture = QNativeGestureEvent(Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(),
                                  center, center, center, 0.5, 0, 0)
    QApplication.sendEvent(tab.canvas.viewport(), gesture)
    assert tab.canvas.zoom == pytest.approx(1.5) and window.zoom_label.text() == "150 %"
    QTest.keySequence(window, "Ctrl+0")
    assert tab.canvas.zoom != pytest.approx(1.5) and tab.canvas._auto_fit


def test_preferences_are_saved_to_the_settings_file(qtbot, window, settings, tmp_path, tiny_model_dir):
    task = window.preferences_dialog()
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, SettingsDialog))
    dialog = window.active_dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    dialog.model_dir.setText(str(tmp_path / "models"))  # #16 bug 16: checked when typed
    assert not ok.isEnabled() and "does not exist" in dialog.model_field.status.text()
    dialog.edit_model_dir.setText(str(tiny_model_dir))  # the Layered model is not the edit model
    assert "not Qwen-Image-Edit" in dialog.edit_model_field.status.text()
    dialog.edit_model_dir.clear()
    dialog.model_dir.setText(str(tiny_model_dir))
    assert ok.isEnabled() and "Found Qwen-Image-Layered" in dialog.model_field.status.text()
    dialog.device.setCurrentText("cpu")
    dialog.memory.setCurrentText("group-offload")
    dialog.engine.setCurrentIndex(dialog.engine.findData("classical"))
    dialog.on_open.setChecked(True)
    dialog.autosave.setValue(30)
    ok.click()
    qtbot.waitUntil(task.done)
    assert window.active_dialog is None and window.autosave_timer.interval() == 30_000
    request = settings.decompose_request()
    assert request.engine == "classical" and request.options.device == "cpu"
    assert request.options.memory == "group-offload" and request.options.model_dir == str(tiny_model_dir)
    assert settings.decompose_on_open
    text = (tmp_path / "settings.ini").read_text()
    assert "group-offload" in text  # the per-test file, never the user's settings


def test_cancelled_dialog_changes_nothing(qtbot, window, sample_poster):
    tab = window.open_path(sample_poster)
    task = window.decompose_dialog()
    qtbot.waitUntil(lambda: window.active_dialog is not None)
    window.active_dialog.done(QDialog.DialogCode.Rejected)
    qtbot.waitUntil(task.done)
    assert tab.task is None and len(tab.session.doc) == 1

"""Layer > Re-prompt… in the editor window, with the tiny random edit model.

See tests/test_edit_layer.py for why the pipeline's reference-image size
is shrunk in these tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from qil_editor.document import BlendMode, Document, Layer
from qil_editor.engines.edit import EditOptions, QwenLayerEditor
from qil_editor.engines.qwen import SearchPlaces
from qil_editor.ui.reprompt_dialog import open_reprompt

NOWHERE = SearchPlaces(env={}, project_dirs=(), use_hf_cache=False)


@pytest.fixture(scope="module")
def tiny_edit_dir(tmp_path_factory):
    from qil_editor.engines.tiny_edit_model import make_tiny_edit_model

    return make_tiny_edit_model(tmp_path_factory.mktemp("models") / "Qwen-Image-Edit-tiny")


@pytest.fixture(scope="module")
def tiny_editor():
    return QwenLayerEditor(NOWHERE)


@pytest.fixture
def small_reference(monkeypatch):
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as edit_plus

    monkeypatch.setattr(edit_plus, "VAE_IMAGE_SIZE", 128 * 128)


def make_doc() -> Document:
    bg = np.zeros((90, 120, 4), np.uint8)
    bg[...] = (240, 240, 230, 255)
    shape = np.zeros((40, 50, 4), np.uint8)
    shape[8:32, 10:40] = (200, 50, 40, 255)
    label = np.zeros((20, 20, 4), np.uint8)
    label[2:18, 2:18] = (20, 90, 200, 160)
    return Document(120, 90, [Layer(bg, name="Background"),
                              Layer(shape, name="Bottle", x=20, y=15, opacity=0.7,
                                    blend_mode=BlendMode.SCREEN),
                              Layer(label, name="Label", x=80, y=50)])


def snapshot(doc: Document):
    return [(ly.id, ly.name, ly.x, ly.y, ly.opacity, ly.blend_mode, ly.visible, ly.pixels.copy())
            for ly in doc.layers]


def same(a, b) -> bool:
    return all(x[:7] == y[:7] and np.array_equal(x[7], y[7]) for x, y in zip(a, b)) and len(a) == len(b)


def open_on_bottle(window, editor, model_dir, **base):
    tab = window.add_document(make_doc(), name="poster")
    bottle = tab.session.doc.layers[1]
    tab.session.set_current(bottle.id)
    options = EditOptions(prompt="edit", model_dir=str(model_dir), steps=2, seed=4, resolution=128,
                          device="cpu", **base)
    return tab, bottle, open_reprompt(window, editor, options)


@pytest.mark.slow
def test_preview_then_discard_then_apply_one_undo_step(window, qtbot, tiny_edit_dir, tiny_editor,
                                                       small_reference):
    tab, bottle, dialog = open_on_bottle(window, tiny_editor, tiny_edit_dir)
    doc = tab.session.doc
    before = snapshot(doc)
    assert dialog is not None and not dialog.generate_button.isEnabled()  # no prompt yet
    dialog.prompt.setText("make the bottle blue glass")
    dialog.keep_shape.setChecked(True)

    task = dialog.generate()
    assert tab.session.job is not None  # the document's one job slot: no decomposition meanwhile
    qtbot.waitUntil(task.done, timeout=60_000)
    assert dialog.result is not None and tab.session.job is None
    assert same(snapshot(doc), before) and tab.session.stack.count() == 0  # only a preview so far
    preview = tab.canvas.item(bottle.id).shown_pixels
    assert np.array_equal(preview, dialog.result.pixels)
    assert np.array_equal(preview[..., 3], bottle.pixels[..., 3])  # keep shape

    dialog.discard()
    assert dialog.result is None and tab.canvas.item(bottle.id).shown_pixels is doc.layers[1].pixels
    assert same(snapshot(doc), before) and not dialog.apply_button.isEnabled()

    dialog.new_shape.setChecked(True)
    task = dialog.generate()
    qtbot.waitUntil(task.done, timeout=60_000)
    result = dialog.result
    assert result is not None and dialog.apply()
    assert tab.session.stack.count() == 1
    after = doc.layers
    assert [ly.id for ly in after] == [b[0] for b in before]
    assert same(snapshot(doc)[0::2], before[0::2])  # the other layers, byte for byte
    edited = after[1]
    assert np.array_equal(edited.pixels, result.pixels) and edited.pixels[..., 3].any()
    assert (edited.name, edited.opacity, edited.blend_mode) == ("Bottle", pytest.approx(0.7), BlendMode.SCREEN)
    tab.session.stack.undo()
    assert same(snapshot(doc), before)
    dialog.reject()


@pytest.mark.slow
def test_cancel_leaves_the_layer_alone(window, qtbot, tiny_edit_dir, tiny_editor, small_reference):
    tab, bottle, dialog = open_on_bottle(window, tiny_editor, tiny_edit_dir)
    before = snapshot(tab.session.doc)
    dialog.prompt.setText("turn it into a cat")
    task = dialog.generate()
    dialog.cancel_run()
    qtbot.waitUntil(task.done, timeout=60_000)
    assert task.result() is None and dialog.result is None
    assert "Cancelled" in dialog.status_text
    assert same(snapshot(tab.session.doc), before) and tab.session.stack.count() == 0
    assert tab.session.job is None
    dialog.reject()


def test_without_edit_weights_the_action_explains_and_changes_nothing(window, dialogs):
    tab = window.add_document(make_doc(), name="poster")
    tab.session.set_current(tab.session.doc.layers[1].id)
    before = snapshot(tab.session.doc)
    assert open_reprompt(window, QwenLayerEditor(NOWHERE), EditOptions(prompt="edit")) is None
    (title, text, info), = dialogs.shown
    assert "edit model" in title and "Qwen-Image-Edit" in text
    assert "model/Qwen-Image-Edit-2509" in info and "QIL_EDIT_MODEL_DIR" in info and "hf download" in info
    assert same(snapshot(tab.session.doc), before) and tab.session.stack.count() == 0


def test_a_locked_layer_is_refused(window, dialogs):
    tab = window.add_document(make_doc(), name="poster")
    layer = tab.session.doc.layers[1]
    tab.session.set_locked(layer.id, True)
    tab.session.set_current(layer.id)
    assert open_reprompt(window, QwenLayerEditor(NOWHERE), EditOptions(prompt="edit")) is None
    assert dialogs.shown == []


def test_layer_menu_action_opens_reprompt_or_explains(window, qtbot, dialogs, monkeypatch, tmp_path):
    monkeypatch.setenv("QIL_EDIT_MODEL_DIR", str(tmp_path / "no-edit-model"))
    action = window.actions_by_name["reprompt"]
    layer_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Layer")
    assert action in layer_menu.actions()
    tab = window.add_document(make_doc(), name="poster")
    tab.session.set_current(tab.session.doc.layers[1].id)
    before = snapshot(tab.session.doc)
    # #16 bug 9: without the weights the action is disabled and says why before any click
    qtbot.waitUntil(lambda: not action.isEnabled())  # checked on the task pool, not the UI thread
    assert "Preferences" in action.toolTip() and "no-edit-model" in action.toolTip()
    action.trigger()
    assert dialogs.shown == [] and window.active_dialog is None
    assert same(snapshot(tab.session.doc), before) and tab.session.stack.count() == 0


@pytest.mark.slow
def test_buttons_follow_the_run_and_apply_by_clicking(window, qtbot, tiny_edit_dir, tiny_editor, small_reference):
    """#16 bugs 12 and 15: after the preview arrives Apply/Discard/Generate are enabled and Cancel is
    not; Apply updates the "before" picture; Discard says so; the dialog names its layer."""
    from PySide6.QtCore import Qt

    tab, bottle, dialog = open_on_bottle(window, tiny_editor, tiny_edit_dir)
    assert "Bottle" in dialog.target.text()
    dialog.prompt.setText("make the bottle blue glass")
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.generate_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)
    qtbot.waitUntil(lambda: dialog.task.done())
    assert dialog.apply_button.isEnabled() and dialog.discard_button.isEnabled()
    assert dialog.generate_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert window.actions_by_name["split"].isEnabled()  # the document's job slot is free again
    qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
    assert "Discarded" in dialog.status_text and not dialog.apply_button.isEnabled()
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None and dialog.task.done(), timeout=60_000)
    before = dialog.before.pixmap().toImage()
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert tab.session.stack.count() == 1 and dialog.before.pixmap().toImage() != before
    window.actions_by_name["undo"].trigger()
    assert tab.session.stack.index() == 0
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    again = open_reprompt(window, tiny_editor, dialog.base)  # remembered: prompt and shape
    assert again.prompt.text() == "make the bottle blue glass"
    again.reject()


@pytest.mark.slow
def test_closing_during_a_run_returns_at_once(window, qtbot, tiny_edit_dir, tiny_editor, small_reference):
    """#16 bug 13: Close cancels; the UI thread never waits for the job; the slot frees itself."""
    import time

    tab, bottle, dialog = open_on_bottle(window, tiny_editor, tiny_edit_dir)
    before = snapshot(tab.session.doc)
    dialog.prompt.setText("turn it into a cat")
    task = dialog.generate()
    job = dialog.job
    started = time.monotonic()
    dialog.close_button.click()
    assert time.monotonic() - started < 0.3 and not dialog.isVisible() and job.token.cancelled
    qtbot.waitUntil(task.done, timeout=60_000)
    qtbot.waitUntil(lambda: not job.running)
    assert tab.session.job is None and same(snapshot(tab.session.doc), before)
    assert tab.session.stack.count() == 0

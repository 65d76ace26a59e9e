import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest

from qil_editor.document import BlendMode, Document, Layer
from qil_editor.ui.layer_delegate import LayerDelegate
from qil_editor.ui.layer_model import LayerIdRole, ThumbnailRole
from ui_helpers import rgba


@pytest.fixture
def tab(window):
    doc = Document(60, 40, [Layer(rgba(40, 60, (10, 10, 10)), name="Background"),
                            Layer(rgba(10, 10, (255, 0, 0)), name="Red", x=5, y=5),
                            Layer(rgba(10, 10, (0, 0, 255)), name="Blue", x=30, y=20)])
    return window.add_document(doc, name="test.psd")


def names(model):
    return [model.index(r).data() for r in range(model.rowCount())]


def click_in(view, row, rect_of, modifiers=Qt.KeyboardModifier.NoModifier):
    rect = rect_of(view.visualRect(view.model().index(row)))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifiers, rect.center())


def test_rows_are_top_first_and_follow_document(qtbot, window, tab):
    model, session = tab.model, tab.session
    assert names(model) == ["Blue", "Red", "Background"]
    session.duplicate(session.doc.layers[1].id)
    assert names(model) == ["Blue", "Red copy", "Red", "Background"]
    session.reorder(session.doc.find("Blue").id, 0)
    assert names(model) == ["Red copy", "Red", "Background", "Blue"]
    session.stack.undo()
    session.stack.undo()
    assert names(model) == ["Blue", "Red", "Background"]
    view = window.layer_panel.view
    assert view.model() is model and view.currentIndex().data() == session.current_layer.name


def test_eye_alt_click_lock_and_rename(qtbot, window, tab):
    view, session = window.layer_panel.view, tab.session
    red = session.doc.find("Red")
    click_in(view, 1, LayerDelegate.eye_rect)
    assert not red.visible
    click_in(view, 1, LayerDelegate.eye_rect)
    assert red.visible
    click_in(view, 1, LayerDelegate.eye_rect, Qt.KeyboardModifier.AltModifier)
    assert [ly.visible for ly in session.doc.layers] == [False, True, False]
    click_in(view, 1, LayerDelegate.eye_rect, Qt.KeyboardModifier.AltModifier)
    assert all(ly.visible for ly in session.doc.layers)
    click_in(view, 1, LayerDelegate.lock_rect)
    assert red.locked
    assert tab.model.setData(tab.model.index(1), "Poppy")
    assert red.name == "Poppy" and tab.model.index(1).data() == "Poppy"
    assert session.stack.count() == 6
    assert session.stack.text(0) == "Hide layer"


def test_drag_and_drop_mime_reorders_as_one_step(qtbot, tab):
    model, session = tab.model, tab.session
    blue = session.doc.find("Blue")
    mime = model.mimeData([model.index(0)])
    assert model.canDropMimeData(mime, Qt.DropAction.MoveAction, 3, 0, QModelIndex())
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, 3, 0, QModelIndex())  # below the bottom row
    assert names(model) == ["Red", "Background", "Blue"] and session.doc.index_of(blue.id) == 0
    mime = model.mimeData([model.index(2)])
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, 0, 0, QModelIndex())  # back to the top
    assert names(model) == ["Blue", "Red", "Background"]
    assert session.stack.count() == 2
    foreign = model.mimeData([model.index(0)])
    session_id, session.id = session.id, "another-document"
    assert not model.canDropMimeData(foreign, Qt.DropAction.MoveAction, 2, 0, QModelIndex())
    session.id = session_id


def test_opacity_slider_drag_is_one_step_and_blend_box(qtbot, window, tab):
    panel, session = window.layer_panel, tab.session
    red = session.doc.find("Red")
    session.set_current(red.id)
    slider = panel.opacity_slider
    slider.setSliderDown(True)
    panel._start_gesture()
    for value in (90, 70, 50):
        slider.setValue(value)
    slider.setSliderDown(False)
    panel._end_gesture()
    assert red.opacity == pytest.approx(0.5) and session.stack.count() == 1
    panel.blend.setCurrentIndex(panel.blend.findData(BlendMode.MULTIPLY))
    panel.blend.activated.emit(panel.blend.currentIndex())
    assert red.blend_mode is BlendMode.MULTIPLY
    assert "Multiply" in tab.model.index(1).data(Qt.ItemDataRole.ToolTipRole)
    session.set_locked(red.id, True)
    assert not panel.opacity_slider.isEnabled()
    assert not session.set_opacity(red.id, 0.1) and red.opacity == pytest.approx(0.5)


def test_layer_shortcuts_duplicate_merge_delete(qtbot, window, tab):
    session = tab.session
    session.set_current(session.doc.find("Blue").id)
    tab.canvas.setFocus()
    QTest.keySequence(window, "Ctrl+J")
    assert [ly.name for ly in session.doc.layers] == ["Background", "Red", "Blue", "Blue copy"]
    QTest.keySequence(window, "Ctrl+E")
    assert [ly.name for ly in session.doc.layers] == ["Background", "Red", "Blue"]
    window.actions_by_name["delete"].trigger()
    assert [ly.name for ly in session.doc.layers] == ["Background", "Red"]
    assert session.current_layer.name == "Red"
    for _ in range(3):
        QTest.keySequence(window, "Ctrl+Z")
    assert [ly.name for ly in session.doc.layers] == ["Background", "Red", "Blue"]
    QTest.keySequence(window, "Ctrl+Shift+Z")
    assert [ly.name for ly in session.doc.layers] == ["Background", "Red", "Blue", "Blue copy"]
    assert window.undo_view.stack() is session.stack


def test_thumbnails_arrive_from_the_pool(qtbot, window, tab):
    model = tab.model
    index = model.index(1)
    first = index.data(ThumbnailRole)  # starts the background job (or returns a fresh one)
    qtbot.waitUntil(lambda: index.data(ThumbnailRole) is not None and not window.thumbnails.pending)
    thumb = index.data(ThumbnailRole)
    assert first is None or first is thumb
    # 60 px canvas in a 56 px box: the 10 px red square becomes ~9 px, red
    assert 8 <= thumb.image.width() <= 10
    color = thumb.image.pixelColor(thumb.image.width() // 2, thumb.image.height() // 2)
    assert color.red() > 240 and color.blue() < 10
    red = tab.session.doc.find("Red")
    tab.session.move_layer(red.id, 3, 0)
    assert index.data(ThumbnailRole) is thumb  # moving never re-renders thumbnails
    assert model.index(1).data(LayerIdRole) == red.id
    window.layer_panel.view.viewport().grab()  # the delegate paints thumbnails, eyes and locks

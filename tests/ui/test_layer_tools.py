"""Layer tools of issue #16, through the window's actions, the layer panel and the canvas:
new empty layer, copy / paste as layer, dropping a file onto the document, multi-select (move, hide,
delete, merge) and align / distribute."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QTransform
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from qil_editor.document import Document, Layer
from qil_editor.document.layer_ops import align_deltas, distribute_deltas
from qil_editor.io import open_document
from ui_helpers import rgba


def three_boxes() -> Document:
    return Document(300, 200, [Layer(rgba(200, 300, (240, 240, 240)), name="Paper"),
                               Layer(rgba(20, 30, (200, 0, 0)), name="Red", x=10, y=20),
                               Layer(rgba(40, 20, (0, 150, 0)), name="Green", x=100, y=60),
                               Layer(rgba(30, 30, (0, 0, 200)), name="Blue", x=250, y=130)])


def click_rows(window, tab, names, modifier=Qt.KeyboardModifier.ControlModifier) -> None:
    view = window.layer_panel.view
    for i, name in enumerate(names):
        layer = next(ly for ly in tab.session.doc.layers if ly.name == name)
        rect = view.visualRect(tab.model.index_of_layer(layer.id))
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier if i == 0 else modifier, rect.center() + QPoint(20, 0))


def by_name(doc, name):
    return next(ly for ly in doc.layers if ly.name == name)


def test_new_empty_layer_above_the_current_one(qtbot, window, tmp_path):
    tab = window.add_document(three_boxes(), name="boxes")
    session = tab.session
    session.set_current(by_name(session.doc, "Red").id)
    action = window.actions_by_name["new_layer"]
    assert action.objectName() == "actionNewLayer" and action.shortcut().toString() == "Ctrl+Shift+N"
    action.trigger()
    action.trigger()
    names = [ly.name for ly in session.doc.layers]
    assert names == ["Paper", "Red", "Layer 1", "Layer 2", "Green", "Blue"]
    new = session.current_layer
    assert new.name == "Layer 2" and new.pixels.shape == (200, 300, 4) and not new.pixels.any()
    assert session.stack.count() == 2
    window.actions_by_name["undo"].trigger()
    assert "Layer 2" not in [ly.name for ly in session.doc.layers]


def test_copy_and_paste_as_layer_in_place_and_from_outside(qtbot, window):
    tab = window.add_document(three_boxes(), name="boxes")
    session = tab.session
    green = by_name(session.doc, "Green")
    session.set_current(green.id)
    window.actions_by_name["copy"].trigger()
    window.actions_by_name["paste_as_layer"].trigger()
    pasted = session.current_layer
    assert pasted.name == "Green copy" and (pasted.x, pasted.y) == (100, 60)
    assert np.array_equal(pasted.pixels, green.pixels)
    assert session.doc.index_of(pasted.id) == session.doc.index_of(green.id) + 1
    # an image copied elsewhere lands centred
    from qil_editor.ui.qimage import rgba_to_qimage

    QApplication.clipboard().setImage(rgba_to_qimage(rgba(10, 50, (9, 9, 9))).copy())
    window.actions_by_name["paste_as_layer"].trigger()
    outside = session.current_layer
    assert outside.name == "Pasted" and (outside.x, outside.y) == (125, 95) and outside.pixels.shape == (10, 50, 4)
    QApplication.clipboard().setText("just text")
    count = session.stack.count()
    window.actions_by_name["paste_as_layer"].trigger()
    assert session.stack.count() == count  # nothing to paste: nothing changes


def test_dropping_an_image_onto_the_document_adds_a_layer(qtbot, window, tmp_path):
    tab = window.add_document(three_boxes(), name="boxes")
    png = tmp_path / "logo.png"
    Image.fromarray(rgba(20, 40, (1, 2, 3))).save(png)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png))])
    canvas = tab.canvas
    pos = canvas.viewport().mapTo(window, canvas.viewport().rect().center())
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert window.docs == [tab]  # not opened in a tab
    logo = tab.session.current_layer
    assert logo.name == "logo" and (logo.x, logo.y) == (130, 90) and tab.session.stack.count() == 1
    # onto the layer panel (outside the canvas): it opens as a document
    pos = window.layer_panel.mapTo(window, window.layer_panel.rect().center())
    QApplication.sendEvent(window, QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                                   Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(window, QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert len(window.docs) == 2


def test_multi_select_move_hide_merge_delete(qtbot, window):
    tab = window.add_document(three_boxes(), name="boxes")
    session, canvas = tab.session, tab.canvas
    click_rows(window, tab, ["Red", "Green"])
    red, green, blue = (by_name(session.doc, n) for n in ("Red", "Green", "Blue"))
    assert set(session.selected_ids) == {red.id, green.id}
    assert window.actions_by_name["merge_down"].text() == "&Merge Layers"
    # drag on the canvas moves both (one step)
    window.actions_by_name["snap"].trigger()  # off: an exact drag
    canvas.setTransform(QTransform())
    canvas.centerOn(150, 100)
    vp = canvas.viewport()
    start = canvas.mapFromScene(QPointF(105, 65))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(5, 3))
    QTest.mouseMove(vp, start + QPoint(10, 6))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(10, 6))
    assert (red.x, red.y, green.x, green.y) == (20, 26, 110, 66) and (blue.x, blue.y) == (250, 130)
    assert session.stack.count() == 1
    # arrows nudge the selection, the eye action hides both
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Left)
    assert (red.x, green.x) == (19, 109)
    window.actions_by_name["toggle_visible"].trigger()
    assert not red.visible and not green.visible and blue.visible
    window.actions_by_name["toggle_visible"].trigger()
    # merge the two into one layer where the top one was
    window.actions_by_name["merge_down"].trigger()
    names = [ly.name for ly in session.doc.layers]
    assert names == ["Paper", "Green", "Blue"] and session.selected_ids == [session.current_layer_id]
    merged = session.current_layer
    assert merged.pixels[..., 3].sum() == 255 * (20 * 30 + 40 * 20)
    window.actions_by_name["undo"].trigger()
    click_rows(window, tab, ["Paper", "Blue"])
    window.actions_by_name["delete"].trigger()
    assert [ly.name for ly in session.doc.layers] == ["Red", "Green"]
    window.actions_by_name["undo"].trigger()
    assert [ly.name for ly in session.doc.layers] == ["Paper", "Red", "Green", "Blue"]


def test_align_and_distribute_through_the_menu(qtbot, window):
    tab = window.add_document(three_boxes(), name="boxes")
    session = tab.session
    click_rows(window, tab, ["Red", "Green", "Blue"])
    red, green, blue = (by_name(session.doc, n) for n in ("Red", "Green", "Blue"))
    align = next(a for a in window.actions_by_name.values() if a.objectName() == "actionAlignLeft")
    align.trigger()
    assert red.x == green.x == blue.x == 10 and session.stack.count() == 1
    window.actions_by_name["align_bottom"].trigger()
    assert red.y + 20 == green.y + 40 == blue.y + 30 == 160
    window.actions_by_name["align_hcenter"].trigger()
    assert red.x + 15 == green.x + 10 == blue.x + 15
    session.move_layers({red.id: (-40, 0), blue.id: (100, 0)}, "spread")
    window.actions_by_name["distribute_horizontally"].trigger()
    gaps = sorted([(ly.x, ly.x + ly.width) for ly in (red, green, blue)])
    assert gaps[1][0] - gaps[0][1] == gaps[2][0] - gaps[1][1]
    undo_to = session.stack.count()
    click_rows(window, tab, ["Green"])
    window.actions_by_name["align_right"].trigger()  # one layer: to the canvas
    assert green.x + green.width == 300 and session.stack.count() == undo_to + 1
    assert not window.actions_by_name["distribute_vertically"].isEnabled()


def test_align_helpers_ignore_transparent_margins():
    a = np.zeros((20, 20, 4), np.uint8)
    a[5:10, 5:10] = 255  # content 5..10 inside a 20 px layer
    layers = [Layer(a, name="a", x=0, y=0), Layer(rgba(5, 5, (1, 1, 1)), name="b", x=50, y=30)]
    assert align_deltas(layers, "left") == {layers[1].id: (-45, 0)}
    assert align_deltas(layers, "top", (0, 0, 100, 100)) == {layers[0].id: (0, -5), layers[1].id: (0, -30)}
    assert distribute_deltas(layers, "horizontal") == {}  # needs three


def test_saved_and_reopened_after_tools(qtbot, window, tmp_path):
    tab = window.add_document(three_boxes(), name="boxes")
    click_rows(window, tab, ["Red", "Blue"])
    window.actions_by_name["align_top"].trigger()
    window.actions_by_name["new_layer"].trigger()
    window.ask_save_path = lambda *a: str(tmp_path / "tools.psd")
    assert window.save()
    back = open_document(tmp_path / "tools.psd")
    names = [ly.name for ly in back.layers]
    assert names[:3] == ["Paper", "Red", "Green"] and "Layer 1" in names
    assert by_name(back, "Red").y == by_name(back, "Blue").y == 20


def test_moving_snaps_to_the_canvas_and_other_layers_with_a_guide(qtbot, window):
    """Tool 5: a drag snaps an edge or centre to the canvas or another layer within a few screen
    pixels and shows a guide; View > Snap (Ctrl+Shift+;) turns it off."""
    from qil_editor.document.layer_ops import snap_offset

    tab = window.add_document(three_boxes(), name="boxes")
    session, canvas = tab.session, tab.canvas
    red, green = by_name(session.doc, "Red"), by_name(session.doc, "Green")
    session.set_current(green.id)
    canvas.setTransform(QTransform())
    canvas.centerOn(150, 100)
    action = window.actions_by_name["snap"]
    assert action.isChecked() and action.objectName() == "actionSnap" and action.shortcut().toString() == "Ctrl+Shift+;"
    vp = canvas.viewport()
    start = canvas.mapFromScene(QPointF(110, 70))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    # green's left edge (100) dragged to 42: within 6 px of red's right edge (40) -> snaps to 40
    QTest.mouseMove(vp, start + QPoint(-30, 0))
    QTest.mouseMove(vp, start + QPoint(-58, 0))
    assert green.x == 40 and canvas._guides[0] == 40
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(-58, 0))
    assert canvas._guides == (None, None) and session.stack.count() == 1
    action.trigger()  # off: the same drag lands where the mouse goes
    assert not canvas.snap
    start = canvas.mapFromScene(QPointF(50, 70))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(3, 0))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(3, 0))
    assert green.x == 43 and red.x == 10
    assert snap_offset((0, 0, 10, 10), 0, 0, [100], [100], 5) == (0, 0, None, None)
    assert snap_offset((0, 0, 10, 10), 92, 0, [100], [], 5) == (90, 0, 100, None)  # right edge
    assert snap_offset((0, 0, 10, 10), 93, 0, [100], [], 5) == (95, 0, 100, None)  # nearer: the centre

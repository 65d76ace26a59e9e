"""Snapping while free-transforming (issue #16, tools 5), and the move / transform / flip / nudge /
align tools acting on a group row (its layers together, one undo step, masks carried), driven with
real mouse events and the window's actions."""

from __future__ import annotations

import numpy as np
from pytest import approx
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QTransform
from PySide6.QtTest import QTest

from qil_editor.document import Document, Group, Layer, LayerMask, composite
from qil_editor.document.layer_ops import content_box
from qil_editor.io import open_document, save_psd
from qil_editor.ui.qimage import qimage_to_rgba
from PySide6.QtCore import QEvent
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from test_transform import drag
from ui_helpers import rgba

NONE = Qt.KeyboardModifier.NoModifier
GUIDE = QColor("#ff3df2")


def boxes() -> Document:
    """Paper; Red content (10, 20)..(40, 40); Green (100, 60)..(140, 80)."""
    return Document(300, 200, [Layer(rgba(200, 300, (240, 240, 240)), name="Paper"),
                               Layer(rgba(20, 30, (200, 0, 0)), name="Red", x=10, y=20),
                               Layer(rgba(20, 40, (0, 150, 0)), name="Green", x=100, y=60)])


def by_name(doc, name):
    return next(ly for ly in doc.layers if ly.name == name)


def at_100(canvas, centre=(150, 100)) -> None:
    canvas.setTransform(QTransform())
    canvas.centerOn(*centre)


def guide_drawn_at_x(canvas, x: float) -> bool:
    """The magenta guide is on screen: the viewport's column at document x, above the canvas."""
    image = canvas.viewport().grab().toImage()
    p = canvas.mapFromScene(QPointF(x, 0))
    return any(image.pixelColor(p.x() + dx, p.y() - 5) == GUIDE for dx in (-1, 0, 1))


def press_and_move(canvas, a: QPointF, b: QPointF, modifiers) -> QPoint:
    """Press at ``a`` and move to ``b`` with ``modifiers`` held (the guides show until the release)."""
    vp = canvas.viewport()
    pa, pb = canvas.mapFromScene(a), canvas.mapFromScene(b)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifiers, pa)
    for p in (QPointF(pa + (pb - pa) / 2), QPointF(pb)):
        QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, p, vp.mapToGlobal(p), Qt.MouseButton.NoButton,
                                               Qt.MouseButton.LeftButton, modifiers))
    return pb


def test_free_transform_snaps_moved_box_and_dragged_edges_with_guides(qtbot, window):
    tab = window.add_document(boxes(), name="boxes")
    session, canvas = tab.session, tab.canvas
    green = by_name(session.doc, "Green")
    session.set_current(green.id)
    at_100(canvas)
    window.actions_by_name["free_transform"].trigger()
    tool = canvas.tools["transform"]
    vp = canvas.viewport()
    # move inside the box: its left edge (100) dragged to 42 snaps to Red's right edge (40)
    start = canvas.mapFromScene(QPointF(120, 70))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, NONE, start)
    QTest.mouseMove(vp, start + QPoint(-30, 0))
    QTest.mouseMove(vp, start + QPoint(-58, 0))
    assert tool.box.bounds() == approx((40, 60, 80, 80)) and canvas._guides == (40, None)
    assert guide_drawn_at_x(canvas, 40)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, NONE, start + QPoint(-58, 0))
    assert canvas._guides == (None, None) and not guide_drawn_at_x(canvas, 40)
    # the right edge's handle dragged to 147 snaps to the canvas centre (150); the left stays
    drag(canvas, QPointF(80, 70), QPointF(147, 70))
    assert tool.box.bounds() == approx((40, 60, 150, 80))
    # Alt: the bottom handle dragged to 97 snaps to the canvas middle (100), the top follows about the centre
    drag(canvas, QPointF(95, 80), QPointF(95, 97), Qt.KeyboardModifier.AltModifier)
    assert tool.box.bounds() == approx((40, 40, 150, 100))
    # rotation is not snapped to edges (only to 15° steps with Shift)
    before = tool.box.angle
    drag(canvas, QPointF(160, 30), QPointF(170, 45))
    assert tool.box.angle != before and canvas._guides == (None, None)
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert not canvas.transforming and (green.x, green.y) == (100, 60)
    # Snap off (View > Snap): the same move lands where the mouse goes
    window.actions_by_name["free_transform"].trigger()
    window.actions_by_name["snap"].trigger()
    assert not canvas.snap
    drag(canvas, QPointF(120, 70), QPointF(62, 70))
    assert tool.box.bounds() == approx((42, 60, 82, 80)) and canvas._guides == (None, None)
    window.actions_by_name["snap"].trigger()
    # Enter applies the snapped result as one step
    drag(canvas, QPointF(60, 70), QPointF(61, 70))  # inside: the left edge 43 snaps onto 40
    assert tool.box.bounds() == approx((40, 60, 80, 80))
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.stack.count() == 1)
    assert content_box(green) == (40, 60, 80, 80) and session.stack.undoText() == "Free transform"


def test_shift_corner_snap_keeps_the_ratio(qtbot, window):
    tab = window.add_document(boxes(), name="boxes")
    session, canvas = tab.session, tab.canvas
    session.set_current(by_name(session.doc, "Green").id)
    at_100(canvas)
    window.actions_by_name["free_transform"].trigger()
    tool = canvas.tools["transform"]
    # the bottom-right corner (140, 80) to (178, 97): the bottom snaps to 100, the ratio 2:1 holds
    end = press_and_move(canvas, QPointF(140, 80), QPointF(178, 97), Qt.KeyboardModifier.ShiftModifier)
    left, top, right, bottom = tool.box.bounds()
    assert (left, top, bottom) == approx((100, 60, 100)) and abs((right - left) / (bottom - top) - 2) < 1e-9
    assert canvas._guides == (None, 100)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, end)
    assert canvas._guides == (None, None)
    QTest.keyClick(canvas, Qt.Key.Key_Escape)


# ----- a group row -------------------------------------------------------------------------------------

def grouped() -> Document:
    """Paper | group "Title" (Red (10, 20)..(30, 50), Green (30, 30)..(50, 60), a group mask
    hiding x < 20) | Blue (90, 50) on top."""
    plane = np.zeros((80, 120), np.uint8)
    plane[:, 20:] = 255
    title = Group("Title", mask=LayerMask(plane, 0, 0, default=255))
    red = rgba(30, 20, (200, 0, 0))
    return Document(120, 80, [Layer(rgba(80, 120, (240, 240, 240)), name="Paper"),
                              Layer(red, name="Red", x=10, y=20, group=title.id,
                                    mask=LayerMask(np.full((30, 10), 255, np.uint8), 10, 20, default=0)),
                              Layer(rgba(30, 20, (0, 150, 0)), name="Green", x=30, y=30, group=title.id),
                              Layer(rgba(10, 10, (0, 0, 200)), name="Blue", x=90, y=50)], groups=[title])


def select_group_row(window, tab):
    gid = next(iter(tab.session.doc.groups))
    view = window.layer_panel.view
    rect = view.visualRect(tab.model.index_of_layer(gid))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, NONE, rect.center() + QPoint(20, 0))
    assert tab.session.current_group_id == gid and tab.session.current_layer is None
    return tab.session.doc.group(gid)


def positions(doc):
    return {ly.name: (ly.x, ly.y) for ly in doc.layers}


def test_move_tool_drags_a_group_row_with_its_masks_as_one_step(qtbot, window):
    tab = window.add_document(grouped(), name="grouped")
    session, canvas = tab.session, tab.canvas
    group = select_group_row(window, tab)
    canvas.set_tool("move")
    at_100(canvas, (60, 40))
    vp = canvas.viewport()
    start = canvas.mapFromScene(QPointF(60, 70))  # outside the group's layers: the selection still moves
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, NONE, start)
    QTest.mouseMove(vp, start + QPoint(10, 0))
    QTest.mouseMove(vp, start + QPoint(20, -30))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, NONE, start + QPoint(20, -30))
    doc = session.doc
    # the group's box (10, 20)..(50, 60) moved by (20, -30): no edge or centre within 6 px of a target
    assert positions(doc) == {"Paper": (0, 0), "Red": (30, -10), "Green": (50, 0), "Blue": (90, 50)}
    assert (by_name(doc, "Red").mask.x, by_name(doc, "Red").mask.y) == (30, -10)
    assert (doc.group(group.id).mask.x, doc.group(group.id).mask.y) == (20, -30)
    assert session.stack.count() == 1 and session.stack.undoText() == "Move group"
    window.actions_by_name["undo"].trigger()
    assert positions(doc)["Red"] == (10, 20) and doc.group(group.id).mask.x == 0
    # arrow nudges on the group row carry the group mask too, one step
    QTest.keyClick(canvas, Qt.Key.Key_Right)
    QTest.keyClick(canvas, Qt.Key.Key_Right)
    assert positions(doc)["Green"] == (32, 30) and doc.group(group.id).mask.x == 2
    assert session.stack.count() == 1


def test_free_transform_flip_and_align_on_a_group_row(qtbot, window, tmp_path):
    tab = window.add_document(grouped(), name="grouped")
    session, canvas = tab.session, tab.canvas
    doc = session.doc
    group = select_group_row(window, tab)
    red, green = by_name(doc, "Red"), by_name(doc, "Green")
    picture = composite(doc)
    # Flip horizontal: both layers mirrored about the group's bounds (10..50), masks too, one step
    assert window.actions_by_name["flip_horizontal"].isEnabled()
    window.actions_by_name["flip_horizontal"].trigger()
    assert (red.x, green.x) == (30, 10) and red.mask.x == 40 and doc.group(group.id).mask.x == -60
    assert session.stack.count() == 1
    flipped = composite(doc)
    assert np.array_equal(flipped[:, 10:50], picture[:, 10:50][:, ::-1])  # the group mask flipped too
    assert np.array_equal(flipped[:, 50:], picture[:, 50:])
    window.actions_by_name["undo"].trigger()
    assert (red.x, green.x) == (10, 30) and np.array_equal(composite(doc), picture)
    # Align left with only the group selected: the group goes to the canvas edge as one
    window.actions_by_name["align_left"].trigger()
    assert positions(doc) == {"Paper": (0, 0), "Red": (0, 20), "Green": (20, 30), "Blue": (90, 50)}
    assert doc.group(group.id).mask.x == -10 and session.stack.count() == 1
    window.actions_by_name["undo"].trigger()
    # Ctrl+T on the group row: one box around both layers; moving it moves both, Enter is one step
    at_100(canvas, (60, 40))
    action = window.actions_by_name["free_transform"]
    assert action.isEnabled()
    action.trigger()
    tool = canvas.tools["transform"]
    assert canvas.transforming and tool.box.bounds() == (10, 20, 50, 60)
    drag(canvas, QPointF(30, 40), QPointF(50, 30))  # by (20, -10); the top 10 snaps to nothing
    assert tool.box.bounds() == approx((30, 10, 70, 50))
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.stack.undoText() == "Free transform")
    assert session.stack.index() == 1
    assert content_box(red) == (30, 10, 50, 40) and content_box(green) == (50, 20, 70, 50)
    assert (red.mask.x, red.mask.y) == (30, 10)
    gmask = doc.group(group.id).mask
    assert (gmask.x, gmask.y, gmask.default) == (20, -10, 255)  # the group mask moved with the box
    # saved and reopened: the same tree, layers, masks and picture
    save_psd(doc, tmp_path / "moved.psd")
    back = open_document(tmp_path / "moved.psd")
    again = {ly.name: ly for ly in back.layers}
    assert content_box(again["Red"]) == (30, 10, 50, 40) and again["Red"].group == again["Green"].group
    assert np.array_equal(composite(back), composite(doc))
    window.actions_by_name["undo"].trigger()
    assert content_box(red) == (10, 20, 30, 50) and content_box(green) == (30, 30, 50, 60)
    assert np.array_equal(composite(doc), picture)


def test_group_row_transform_is_refused_with_a_locked_layer(qtbot, window):
    tab = window.add_document(grouped(), name="grouped")
    session, canvas = tab.session, tab.canvas
    session.set_locked(by_name(session.doc, "Green").id, True)
    select_group_row(window, tab)
    said = []
    session.refused.connect(said.append)
    window.actions_by_name["free_transform"].trigger()
    assert not canvas.transforming and "locked" in said[-1]
    window.actions_by_name["flip_vertical"].trigger()
    assert session.stack.count() == 1 and "locked" in said[-1]  # only the lock itself


def test_brush_and_eraser_on_a_layer_inside_a_group(qtbot, window):
    tab = window.add_document(grouped(), name="grouped")
    session, canvas = tab.session, tab.canvas
    doc = session.doc
    green = by_name(doc, "Green")
    session.set_current(green.id)
    at_100(canvas, (60, 40))
    vp = canvas.viewport()
    window.actions_by_name["tool_eraser"].trigger()
    canvas.brush.size, canvas.brush.hardness, canvas.brush.opacity = 6, 1.0, 1.0
    a, b = canvas.mapFromScene(QPointF(32, 45)), canvas.mapFromScene(QPointF(48, 45))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, NONE, a)
    QTest.mouseMove(vp, b)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, NONE, b)
    assert green.pixels[15, 10, 3] == 0 and green.pixels[2, 10, 3] == 255
    assert session.stack.undoText() == "Eraser"
    qtbot.waitUntil(lambda: not canvas.tasks.busy)
    # the canvas shows the layer under it (Red at x < 30 is covered; here Paper): as the core composite
    shown = qimage_to_rgba(vp.grab().toImage())
    p = canvas.mapFromScene(QPointF(40.5, 45.5))
    assert np.abs(shown[p.y(), p.x()].astype(int) - composite(doc)[45, 40].astype(int)).max() <= 2
    window.actions_by_name["undo"].trigger()
    assert green.pixels[15, 10, 3] == 255


def test_transform_preview_of_layers_the_core_compositor_draws(qtbot, window):
    """A group with a mask is drawn by the core compositor (its items are hidden): the free
    transform's preview recomposites with the layers (and the group mask) moved."""
    tab = window.add_document(grouped(), name="grouped")
    session, canvas = tab.session, tab.canvas
    select_group_row(window, tab)
    canvas.setTransform(QTransform())
    canvas.centerOn(60, 40)
    qtbot.waitUntil(lambda: not canvas.tasks.busy)

    def shown(x, y):
        qtbot.waitUntil(lambda: not canvas.tasks.busy)
        p = canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
        return tuple(qimage_to_rgba(canvas.viewport().grab().toImage())[p.y(), p.x()][:3])

    assert shown(40, 55) == (0, 150, 0) and shown(70, 55) == (240, 240, 240)
    window.actions_by_name["free_transform"].trigger()
    drag(canvas, QPointF(30, 40), QPointF(55, 40))  # by 25 to the right: (35..75); no snap nearby
    assert canvas.tools["transform"].box.bounds() == approx((35, 20, 75, 60), abs=0.05)
    assert shown(70, 55) == (0, 150, 0) and shown(40, 55) == (240, 240, 240)  # Green moved, not applied
    assert session.stack.count() == 0
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert shown(40, 55) == (0, 150, 0) and shown(70, 55) == (240, 240, 240)


def test_layers_in_a_hidden_group_are_no_snap_targets():
    from qil_editor.document.layer_ops import snap_targets

    doc = grouped()
    blue = by_name(doc, "Blue")
    xs, _ys = snap_targets(doc, [blue.id])
    assert 10 in xs and 50 in xs  # Red's left, Green's right
    doc.update_group(next(iter(doc.groups)), visible=False)
    xs, _ys = snap_targets(doc, [blue.id])
    assert 10 not in xs and 50 not in xs and xs[:3] == [0, 60, 120]


def test_content_box_is_remembered_only_for_arrays_nobody_can_write():
    frozen = np.zeros((10, 10, 4), np.uint8)
    frozen[2:4, 3:5, 3] = 255
    layer = Layer(frozen, x=100)
    assert content_box(layer) == (103, 2, 105, 4) and content_box(layer) == (103, 2, 105, 4)
    base = np.zeros((10, 10, 4), np.uint8)
    view = base[:]
    view.flags.writeable = False  # read-only, but its base is not
    layer = Layer.__new__(Layer)
    object.__setattr__(layer, "pixels", view)
    layer.x = layer.y = 0
    assert content_box(layer) is None
    base[5, 6, 3] = 9
    assert content_box(layer) == (6, 5, 7, 6)


def test_painting_a_layer_in_a_hidden_group_is_refused_with_the_reason(qtbot, window):
    tab = window.add_document(grouped(), name="grouped")
    session, canvas = tab.session, tab.canvas
    green = by_name(session.doc, "Green")
    session.set_current(green.id)
    session.set_group_visible(green.group, False)
    said = []
    session.refused.connect(said.append)
    at_100(canvas, (60, 40))
    window.actions_by_name["tool_eraser"].trigger()
    p = canvas.mapFromScene(QPointF(40, 45))
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, NONE, p)
    assert green.pixels[15, 10, 3] == 255 and "hidden group “Title”" in said[-1]
    assert session.stack.undoText() != "Eraser"

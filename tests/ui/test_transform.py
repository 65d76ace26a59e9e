"""Free transform (Ctrl+T) through the window's actions, the canvas handles and keys (issue #16, tool 1)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QTransform
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from qil_editor.document import Document, Layer
from qil_editor.document.layer_ops import transform_pixels
from qil_editor.io import open_document
from ui_helpers import rgba


def doc_with_box() -> Document:
    box = np.zeros((60, 100, 4), np.uint8)
    box[10:50, 20:80] = (200, 40, 40, 255)  # content 60x40 at (20, 10) inside the layer
    box[10:30, 20:50] = (20, 40, 220, 255)  # a blue quarter: orientation shows
    return Document(400, 300, [Layer(rgba(300, 400, (250, 250, 250)), name="Paper"),
                               Layer(box, name="Box", x=100, y=100)])


def start(window, tab):
    canvas = tab.canvas
    canvas.setTransform(QTransform())
    canvas.centerOn(200, 150)
    tab.session.set_current(tab.session.doc.layers[1].id)
    action = window.actions_by_name["free_transform"]
    assert action.objectName() == "actionFreeTransform" and action.shortcut().toString() == "Ctrl+T"
    action.trigger()
    assert canvas.transforming and window.actions_by_name["apply_transform"].isEnabled()
    return canvas


def drag(canvas, a: QPointF, b: QPointF, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Press, move and release with ``modifiers`` held throughout (QTest's moves carry none)."""
    vp = canvas.viewport()
    pa, pb = canvas.mapFromScene(a), canvas.mapFromScene(b)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, modifiers, pa)
    for i in range(1, 5):
        p = QPointF(pa + (pb - pa) * i / 4)
        move = QMouseEvent(QEvent.Type.MouseMove, p, vp.mapToGlobal(p), Qt.MouseButton.NoButton,
                           Qt.MouseButton.LeftButton, modifiers)
        QApplication.sendEvent(vp, move)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, modifiers, pb)


def test_scale_by_corner_keeps_the_opposite_corner_and_enter_applies_one_step(qtbot, window):
    tab = window.add_document(doc_with_box(), name="box")
    canvas = start(window, tab)
    box = tab.session.doc.layers[1]
    original = box.pixels
    # content spans (120, 110)..(180, 150); drag the bottom-right handle by (+60, +40): 2x
    drag(canvas, QPointF(180, 150), QPointF(240, 190))
    assert box.pixels is original and tab.session.stack.count() == 0  # only a preview so far
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert not canvas.transforming and canvas.tool == "move"
    qtbot.waitUntil(lambda: tab.session.stack.count() == 1)  # resampled on the task pool
    # the content (120, 110)..(180, 150) became (120, 110)..(240, 190); edges soften by a pixel or two
    left, top = box.x, box.y
    assert abs(left - 120) <= 3 and abs(top - 110) <= 3
    assert abs(box.x + box.width - 240) <= 3 and abs(box.y + box.height - 190) <= 3
    at = lambda x, y: tuple(box.pixels[y - top, x - left])  # noqa: E731 - document coordinates
    assert at(125, 115) == (20, 40, 220, 255) and at(230, 180) == (200, 40, 40, 255)
    window.actions_by_name["undo"].trigger()
    assert box.pixels is original and (box.x, box.y) == (100, 100)


def test_shift_keeps_ratio_alt_scales_about_the_centre_and_escape_cancels(qtbot, window):
    tab = window.add_document(doc_with_box(), name="box")
    canvas = start(window, tab)
    tool = canvas.tools["transform"]
    drag(canvas, QPointF(180, 130), QPointF(210, 160), Qt.KeyboardModifier.ShiftModifier)  # right edge
    # the left edge stays at x=120 and the height follows the width (60x40 -> 90x60)
    assert (tool.box.w, tool.box.h, tool.box.cx, tool.box.cy) == (90, 60, 165, 130)
    drag(canvas, QPointF(210, 160), QPointF(220, 160), Qt.KeyboardModifier.AltModifier)
    assert (tool.box.w, tool.box.h, tool.box.cx, tool.box.cy) == (110, 60, 165, 130)  # about the centre
    before = tab.session.doc.layers[1].pixels
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert not canvas.transforming and tab.session.stack.count() == 0
    assert tab.session.doc.layers[1].pixels is before and canvas.item(tab.session.doc.layers[1].id).transform().isIdentity()


def test_rotate_with_shift_snaps_and_flip_then_apply_from_the_original(qtbot, window, tmp_path):
    tab = window.add_document(doc_with_box(), name="box")
    canvas = start(window, tab)
    tool = canvas.tools["transform"]
    # outside the box, to the right of the centre (150, 130): drag a quarter turn clockwise
    drag(canvas, QPointF(230, 130), QPointF(150 + 5, 210), Qt.KeyboardModifier.ShiftModifier)
    assert tool.box.angle == 90.0
    window.actions_by_name["flip_horizontal"].trigger()
    assert tool.box.w < 0
    window.actions_by_name["apply_transform"].trigger()
    qtbot.waitUntil(lambda: tab.session.stack.count() == 1)
    layer = tab.session.doc.layers[1]
    assert (layer.width, layer.height) == (40, 60) and tab.session.stack.count() == 1
    content = doc_with_box().layers[1].pixels[10:50, 20:80]
    expected = np.rot90(content[:, ::-1], k=-1)  # flipped in the box, then a quarter turn clockwise
    assert np.array_equal(expected, layer.pixels)  # exact: no resampling blur on right angles
    assert (layer.x, layer.y) == (130, 100)  # about the centre (150, 130)
    window.ask_save_path = lambda *a: str(tmp_path / "t.psd")
    assert window.save()
    back = open_document(tmp_path / "t.psd").layers[1]
    assert (back.x, back.y, back.width, back.height) == (layer.x, layer.y, 40, 60)


def test_flip_without_transform_is_one_step(qtbot, window):
    tab = window.add_document(doc_with_box(), name="box")
    layer = tab.session.doc.layers[1]
    arrow = np.zeros((10, 20, 4), np.uint8)
    arrow[:, :5] = (0, 0, 0, 255)
    arrow[:, 5:] = (0, 0, 0, 100)
    tab.session.replace_pixels(layer.id, arrow)
    tab.session.set_current(layer.id)
    window.actions_by_name["flip_horizontal"].trigger()
    flipped = tab.session.doc.layers[1]
    assert np.array_equal(flipped.pixels, arrow[:, ::-1]) and (flipped.x, flipped.y) == (100, 100)
    window.actions_by_name["flip_vertical"].trigger()
    assert tab.session.stack.count() == 3


def test_transform_helper_rotation_keeps_area_and_colour():
    a = np.zeros((20, 30, 4), np.uint8)
    a[...] = (10, 200, 30, 255)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    pixels, x, y = transform_pixels(a, [[c, -s, 50], [s, c, 20]])
    assert abs(pixels[..., 3].sum() / 255 - 600) < 3
    solid = pixels[..., 3] == 255
    assert (pixels[solid][:, :3] == (10, 200, 30)).all()


def test_scaling_a_flipped_box_follows_the_handle_under_the_mouse(qtbot, window):
    tab = window.add_document(doc_with_box(), name="box")
    canvas = start(window, tab)
    tool = canvas.tools["transform"]
    window.actions_by_name["flip_horizontal"].trigger()  # the (1, 1) handle is now on the left
    handle = tool.box.handles()[(1, 1)]
    assert abs(handle.x() - 120) < 1e-6
    drag(canvas, handle, handle + QPointF(-30, 0))  # widen to the left; the right edge stays at 180
    left = min(p.x() for p in tool.box.handles().values())
    right = max(p.x() for p in tool.box.handles().values())
    assert abs(left - 90) < 1e-6 and abs(right - 180) < 1e-6 and tool.box.w < 0
    QTest.keyClick(canvas, Qt.Key.Key_Escape)


def doc_with_three_blocks() -> Document:
    def block(color):
        pixels = np.zeros((120, 160, 4), np.uint8)
        pixels[:, :] = color + (255,)
        return pixels

    return Document(800, 600, [Layer(rgba(600, 800, (250, 250, 250)), name="Paper"),
                               Layer(block((200, 40, 40)), name="Red", x=100, y=100),
                               Layer(block((20, 40, 220)), name="Blue", x=180, y=160),
                               Layer(block((30, 180, 60)), name="Green", x=520, y=100)])


def shown_at(canvas, image, x, y):
    """The viewport's colour at document point (x, y)."""
    p = canvas.mapFromScene(QPointF(x, y))
    c = image.pixelColor(p.x(), p.y())
    return c.red(), c.green(), c.blue()


def near(a, b, tol=6) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b))


def test_multi_layer_transform_preview_is_one_picture_at_the_moved_place(qtbot, window):
    """Zoomed out, Ctrl+T on two adjacent Normal layers draws them as one cached picture moved by
    the box; the viewport shows them at the previewed place, under the unselected layer above, and
    it matches what the applied transform then shows."""
    tab = window.add_document(doc_with_three_blocks(), name="blocks")
    canvas, session = tab.canvas, tab.session
    canvas.set_zoom(0.25)  # below MIP_BELOW: the picture path
    canvas.centerOn(400, 300)
    canvas.snap = False  # the box lands exactly where it is dragged
    red, blue, green = session.doc.layers[1:]
    session.set_selection([red.id, blue.id], current=blue.id)
    window.actions_by_name["free_transform"].trigger()
    assert canvas.transforming and canvas._picture.isVisible()
    assert canvas._picture.layer_ids == (red.id, blue.id)
    drag(canvas, QPointF(200, 200), QPointF(500, 200))  # move the box by +300 in x
    QApplication.processEvents()
    assert canvas.zoom == 0.25 and canvas._picture.isVisible()
    assert not canvas._items[red.id].isVisible() and not canvas._items[blue.id].isVisible()
    image = canvas.viewport().grab().toImage()
    paper = (250, 250, 250)
    assert near(shown_at(canvas, image, 140, 120), paper)  # the old place is empty now
    assert near(shown_at(canvas, image, 440, 130), (200, 40, 40))  # red alone, moved
    assert near(shown_at(canvas, image, 500, 200), (20, 40, 220))  # blue over red, moved
    assert near(shown_at(canvas, image, 600, 250), (20, 40, 220))  # blue alone, moved
    assert near(shown_at(canvas, image, 600, 190), (30, 180, 60))  # green (unselected) stays above blue
    preview = image
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.stack.count() == 1)
    assert not canvas._picture.isVisible() and red.id not in canvas._picture.layer_ids
    QApplication.processEvents()
    applied = canvas.viewport().grab().toImage()
    assert (session.doc.layers[1].x, session.doc.layers[2].x) == (400, 480)
    a = np.frombuffer(preview.convertToFormat(preview.Format.Format_RGB32).constBits(), np.uint8)
    b = np.frombuffer(applied.convertToFormat(applied.Format.Format_RGB32).constBits(), np.uint8)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.mean() < 1.0  # the preview looks like the result (handles drawn only in the preview)


def test_multi_layer_transform_keeps_items_when_one_picture_would_be_wrong(qtbot, window):
    """A Multiply layer among them, or an unselected layer between them, or 100 %: the items
    draw themselves transformed (a SourceOver picture would change the look)."""
    from qil_editor.document import BlendMode

    doc = doc_with_three_blocks()
    tab = window.add_document(doc, name="blocks")
    canvas, session = tab.canvas, tab.session
    canvas.set_zoom(0.25)
    red, blue, green = session.doc.layers[1:]
    session.set_selection([red.id, green.id], current=green.id)  # blue lies between
    window.actions_by_name["free_transform"].trigger()
    assert canvas.transforming and not canvas._picture.isVisible()
    canvas.cancel_transform()
    session.set_selection([red.id, blue.id], current=blue.id)
    window.actions_by_name["free_transform"].trigger()
    assert canvas._picture.isVisible()
    canvas.set_zoom(1.0)  # 100 %: the items (pixel-exact)
    assert not canvas._picture.isVisible() and canvas._items[red.id].isVisible()
    canvas.cancel_transform()
    assert session.set_blend_mode(blue.id, BlendMode.MULTIPLY)
    canvas.set_zoom(0.25)
    window.actions_by_name["free_transform"].trigger()
    assert canvas.transforming and not canvas._picture.isVisible()
    assert canvas._items[red.id].isVisible() and canvas._items[blue.id].isVisible()

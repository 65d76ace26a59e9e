"""Layer masks, the brush and the eraser in the real window (issue #16, tools item 2).

Everything is driven as a person would: the window's actions (by objectName), the keys (B, E,
X, [ and ]), mouse strokes on the canvas viewport, clicks in the Layers panel; what the canvas
shows is read back from the viewport.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTransform
from PySide6.QtTest import QTest

from qil_editor.document import Document, Layer, composite
from qil_editor.io import open_document
from ui_helpers import rgba

RED, WHITE = (220, 30, 30), (255, 255, 255)


def make_doc() -> Document:
    return Document(240, 160, [Layer(rgba(160, 240, WHITE), name="Paper"),
                               Layer(rgba(120, 200, RED), name="Red", x=20, y=20)])


def open_tab(window):
    tab = window.add_document(make_doc(), name="masks")
    canvas = tab.canvas
    canvas.setTransform(QTransform())  # 100 %: one document pixel per screen pixel
    canvas.centerOn(120, 80)
    tab.session.set_current(tab.session.doc.layers[1].id)
    return tab, canvas


def shown(canvas, x: float, y: float) -> tuple[int, int, int]:
    """The colour the canvas shows at document point (x, y)."""
    image = canvas.viewport().grab().toImage()
    c = image.pixelColor(canvas.mapFromScene(QPointF(x, y)))
    return (c.red(), c.green(), c.blue())


def near(a, b, tol=6) -> bool:
    return all(abs(int(p) - int(q)) <= tol for p, q in zip(a, b))


def stroke(canvas, points, release=True) -> None:
    vp = canvas.viewport()
    device = [canvas.mapFromScene(QPointF(*p)) for p in points]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, device[0])
    for a, b in zip(device, device[1:]):
        for i in range(1, 5):  # several move events per segment, as a real drag sends
            QTest.mouseMove(vp, a + (b - a) * i / 4)
    if release:
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, device[-1])


def trigger(window, name: str, object_name: str) -> None:
    action = window.actions_by_name[name]
    assert action.objectName() == object_name
    assert action.isEnabled(), f"{object_name} is disabled"
    action.trigger()


def test_add_paint_undo_disable_apply_delete(qtbot, window):
    tab, canvas = open_tab(window)
    session, layer = tab.session, tab.session.doc.layers[1]
    A = window.actions_by_name
    assert not A["apply_layer_mask"].isEnabled() and not A["delete_layer_mask"].isEnabled()
    from PySide6.QtWidgets import QMenu

    layer_menu = window.menuBar().findChild(QMenu, "layerMaskMenu")  # Layer > Layer Mask
    assert [a.objectName() for a in layer_menu.actions() if not a.isSeparator()] == [
        "actionAddLayerMask", "actionAddLayerMaskHideAll", "actionDisableLayerMask", "actionApplyLayerMask",
        "actionDeleteLayerMask", "actionEditLayerMask"]
    menu = window.layer_panel.view.actions()  # the Layers panel's context menu
    assert [a.objectName() for a in menu if "Mask" in a.objectName()][:5] == [
        "actionAddLayerMask", "actionAddLayerMaskHideAll", "actionDisableLayerMask", "actionApplyLayerMask",
        "actionDeleteLayerMask"]
    trigger(window, "add_layer_mask", "actionAddLayerMask")
    assert layer.mask is not None and layer.mask.default == 255 and session.edit_mask
    assert not A["add_layer_mask"].isEnabled() and A["edit_layer_mask"].isChecked()
    QTest.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.tool == "brush" and A["tool_brush"].isChecked()
    window.masks.size_box.setValue(20)
    window.masks.hardness_box.setValue(100)
    steps = session.stack.count()
    # live: while the button is held the canvas already shows the hidden part, the document not yet
    stroke(canvas, [(60, 80), (180, 80)], release=False)
    assert near(shown(canvas, 120, 80), WHITE) and layer.mask.pixels.size == 0
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       canvas.mapFromScene(QPointF(180, 80)))
    assert session.stack.count() == steps + 1 and session.stack.undoText() == "Brush on mask: hide"
    assert layer.pixels[60, 100, 3] == 255  # the pixels are untouched: only the mask hides
    cov = layer.mask.coverage((120, 80, 121, 81))
    assert cov is not None and cov[0, 0] == 0.0
    assert layer.mask.coverage((120, 40, 121, 41)) is None  # far from the stroke: shown
    assert near(shown(canvas, 120, 80), WHITE) and near(shown(canvas, 120, 40), RED)
    assert composite(session.doc)[80, 120, 0] == 255 and composite(session.doc)[40, 120, 1] == 30

    trigger(window, "undo", "actionUndo")
    assert near(shown(canvas, 120, 80), RED)
    trigger(window, "redo", "actionRedo")
    assert near(shown(canvas, 120, 80), WHITE)

    trigger(window, "disable_layer_mask", "actionDisableLayerMask")
    assert layer.mask.disabled and A["disable_layer_mask"].isChecked()
    assert near(shown(canvas, 120, 80), RED)
    trigger(window, "disable_layer_mask", "actionDisableLayerMask")  # a toggle: enabled again
    assert not layer.mask.disabled and near(shown(canvas, 120, 80), WHITE)

    trigger(window, "apply_layer_mask", "actionApplyLayerMask")
    assert layer.mask is None and layer.pixels[60, 100, 3] == 0 and layer.pixels[20, 100, 3] == 255
    assert near(shown(canvas, 120, 80), WHITE)
    trigger(window, "undo", "actionUndo")
    assert layer.mask is not None and layer.pixels[60, 100, 3] == 255

    trigger(window, "delete_layer_mask", "actionDeleteLayerMask")
    assert layer.mask is None and near(shown(canvas, 120, 80), RED)
    assert session.stack.undoText() == "Delete layer mask"


def test_x_swaps_to_reveal_and_a_stroke_does_not_build_up(qtbot, window):
    tab, canvas = open_tab(window)
    layer = tab.session.doc.layers[1]
    window.actions_by_name["add_layer_mask"].trigger()
    window.set_tool("brush")
    window.masks.size_box.setValue(30)
    window.masks.opacity_box.setValue(50)
    stroke(canvas, [(50, 80), (190, 80), (50, 80), (190, 80)])  # back and forth in one stroke
    cov = layer.mask.coverage((120, 80, 121, 81))
    assert abs(cov[0, 0] - 0.5) < 0.01  # 50 %, not 75 % or more
    QTest.keyClick(canvas, Qt.Key.Key_X)
    assert window.masks.brush.foreground == 255
    window.masks.opacity_box.setValue(100)
    stroke(canvas, [(100, 80), (140, 80)])
    assert tab.session.stack.undoText() == "Brush on mask: reveal"
    assert layer.mask.coverage((120, 80, 121, 81)) is None or layer.mask.coverage((120, 80, 121, 81))[0, 0] == 1.0
    assert near(shown(canvas, 120, 80), RED) and not near(shown(canvas, 170, 80), RED, 20)


def test_eraser_erases_pixels_and_brackets_change_the_size(qtbot, window):
    tab, canvas = open_tab(window)
    session, layer = tab.session, tab.session.doc.layers[1]
    QTest.keyClick(canvas, Qt.Key.Key_E)
    assert canvas.tool == "eraser" and window.actions_by_name["tool_eraser"].isChecked()
    window.masks.size_box.setValue(20)
    QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert window.masks.brush.size == 25
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert window.masks.brush.size == 15
    assert canvas.viewport().cursor().pixmap().width() == 15 + 4  # the circle follows the size
    before = layer.pixels
    stroke(canvas, [(60, 70), (180, 70)])
    assert session.stack.undoText() == "Eraser" and layer.pixels is not before
    assert layer.pixels[50, 100, 3] == 0 and layer.pixels[10, 100, 3] == 255
    assert near(shown(canvas, 120, 70), WHITE) and near(shown(canvas, 120, 40), RED)
    steps = session.stack.count()
    window.masks.size_box.setValue(2)
    stroke(canvas, [(80, 70), (160, 70)])  # in the middle of what is already erased: nothing changes, no undo step
    assert session.stack.count() == steps
    window.actions_by_name["undo"].trigger()
    assert layer.pixels is before and near(shown(canvas, 120, 70), RED)


def test_brush_paints_pixels_unless_the_mask_is_chosen_in_the_panel(qtbot, window):
    tab, canvas = open_tab(window)
    session, layer = tab.session, tab.session.doc.layers[1]
    window.actions_by_name["add_layer_mask"].trigger()
    panel_view = window.layer_panel.view
    row = panel_view.visualRect(tab.model.index_of_layer(layer.id))
    delegate = window.layer_panel.delegate
    thumb = delegate.thumb_rect(row)
    from qil_editor.ui.masks import mask_thumb_rect

    QTest.mouseClick(panel_view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     thumb.center())
    assert not session.edit_mask and not window.actions_by_name["edit_layer_mask"].isChecked()
    window.set_tool("brush")
    window.masks.size_box.setValue(10)
    stroke(canvas, [(100, 80), (140, 80)])  # black paint on the pixels
    assert session.stack.undoText() == "Brush"
    # painting may reach the whole canvas: the layer grew to it (it was 200x120 at 20, 20)
    assert (layer.x, layer.y, layer.width, layer.height) == (0, 0, 240, 160)
    assert tuple(layer.pixels[80, 120, :3]) == (0, 0, 0) and tuple(layer.pixels[40, 120, :3]) == RED
    QTest.mouseClick(panel_view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     mask_thumb_rect(thumb).center())
    assert session.edit_mask and window.actions_by_name["edit_layer_mask"].isChecked()
    stroke(canvas, [(100, 40), (140, 40)])
    assert session.stack.undoText() == "Brush on mask: hide"
    QTest.mouseClick(panel_view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     mask_thumb_rect(thumb).center())  # Shift-click: the mask off, and on again
    assert layer.mask.disabled and window.actions_by_name["disable_layer_mask"].isChecked()
    QTest.mouseClick(panel_view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     mask_thumb_rect(thumb).center())
    assert not layer.mask.disabled and session.stack.undoText() == "Enable layer mask"


def test_masked_layer_moves_flips_and_transforms_with_its_mask(qtbot, window):
    tab, canvas = open_tab(window)
    session, layer = tab.session, tab.session.doc.layers[1]
    window.actions_by_name["add_layer_mask"].trigger()
    window.set_tool("brush")
    window.masks.size_box.setValue(20)
    window.masks.hardness_box.setValue(100)
    stroke(canvas, [(30, 80), (50, 80)])  # hide the layer's left end: x 20..60
    assert near(shown(canvas, 40, 80), WHITE) and near(shown(canvas, 65, 80), RED)
    window.set_tool("move")
    canvas.nudge(10, 0)  # layer 30..230, hidden 30..70
    assert near(shown(canvas, 65, 80), WHITE) and near(shown(canvas, 75, 80), RED)
    window.actions_by_name["flip_horizontal"].trigger()
    # mirrored about the content's middle (x -> 259 - x): hidden 189..229
    assert near(shown(canvas, 40, 80), RED) and near(shown(canvas, 210, 80), WHITE)
    assert session.stack.undoText() == "Flip horizontal"
    window.actions_by_name["undo"].trigger()
    assert near(shown(canvas, 50, 80), WHITE) and near(shown(canvas, 210, 80), RED)
    # free transform: move the box by 20 px; the hidden end goes along
    before = layer.mask.bbox
    canvas.begin_transform()
    box = canvas.tools["transform"].box
    box.cy += 20
    canvas.tools["transform"]._show()
    assert canvas.apply_transform()
    qtbot.waitUntil(lambda: session.stack.undoText() == "Free transform")
    assert near(shown(canvas, 50, 100), WHITE) and near(shown(canvas, 100, 100), RED)
    assert near(shown(canvas, 50, 30), WHITE)  # above the moved layer: the paper
    assert layer.mask.bbox == (before[0], before[1] + 20, before[2], before[3] + 20)


def test_mask_saved_and_reopened_in_the_window(qtbot, window, tmp_path):
    tab, canvas = open_tab(window)
    layer = tab.session.doc.layers[1]
    window.actions_by_name["add_layer_mask"].trigger()
    window.set_tool("brush")
    window.masks.size_box.setValue(24)
    window.masks.hardness_box.setValue(0)
    stroke(canvas, [(60, 80), (180, 80)])
    path = tmp_path / "masked.psd"
    assert window.save_to(tab, str(path))
    back = open_document(path)
    mask = back.layers[1].mask
    assert mask is not None and mask.default == 255 and mask.bbox == layer.mask.bbox
    assert np.array_equal(mask.pixels, layer.mask.pixels)
    assert window.close_tab(tab)
    reopened = window.open_path(str(path))
    assert reopened is not None
    c2 = reopened.canvas
    c2.setTransform(QTransform())
    c2.centerOn(120, 80)
    assert near(shown(c2, 120, 80), WHITE) and near(shown(c2, 120, 40), RED)
    assert reopened.session.doc.layers[1].mask is not None


def test_painting_refuses_a_locked_or_hidden_layer(qtbot, window):
    tab, canvas = open_tab(window)
    session, layer = tab.session, tab.session.doc.layers[1]
    messages = []
    session.refused.connect(messages.append)
    window.set_tool("eraser")
    session.set_locked(layer.id, True)
    steps = session.stack.count()
    stroke(canvas, [(60, 70), (180, 70)])
    assert session.stack.count() == steps and messages[-1] == "“Red” is locked. Unlock it to erase it."
    session.set_locked(layer.id, False)
    session.set_visible(layer.id, False)
    stroke(canvas, [(60, 70), (180, 70)])
    assert "hidden" in messages[-1] and layer.pixels[50, 100, 3] == 255


def on_screen(canvas, x: float, y: float) -> tuple[int, int, int]:
    """The colour the screen shows at document point (x, y): the window's backing store, not a fresh
    render, so a part the live stroke forgot to repaint would show the old picture."""
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    top = canvas.window()
    screen = top.screen() or QApplication.primaryScreen()
    p = canvas.viewport().mapTo(top, canvas.mapFromScene(QPointF(x, y)))
    image = screen.grabWindow(top.winId(), p.x(), p.y(), 1, 1).toImage()
    c = image.pixelColor(0, 0)
    return (c.red(), c.green(), c.blue())


def test_live_stroke_repaints_the_zoomed_out_view(qtbot, window):
    """At 25 % the canvas draws mip levels; a stroke updates them in the dirty box only."""
    doc = Document(960, 640, [Layer(rgba(640, 960, WHITE), name="Paper"),
                              Layer(rgba(560, 880, RED), name="Red", x=40, y=40)])
    tab = window.add_document(doc, name="big")
    canvas, layer = tab.canvas, doc.layers[1]
    tab.session.set_current(layer.id)
    canvas.set_zoom(0.25)
    canvas.centerOn(480, 320)
    qtbot.waitExposed(canvas)
    window.actions_by_name["add_layer_mask"].trigger()
    window.set_tool("eraser")
    window.masks.size_box.setValue(80)
    window.masks.hardness_box.setValue(100)
    assert near(on_screen(canvas, 480, 320), RED, 12)
    stroke(canvas, [(200, 320), (760, 320)], release=False)
    assert near(on_screen(canvas, 480, 320), WHITE, 12) and near(on_screen(canvas, 480, 160), RED, 12)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       canvas.mapFromScene(QPointF(760, 320)))
    window.set_tool("brush")
    assert tab.session.edit_mask and window.actions_by_name["edit_layer_mask"].isChecked()
    stroke(canvas, [(480, 100), (480, 540)], release=False)  # hide a vertical band on the mask
    assert near(on_screen(canvas, 480, 200), WHITE, 12) and near(on_screen(canvas, 300, 200), RED, 12)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       canvas.mapFromScene(QPointF(480, 540)))
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert near(on_screen(canvas, 480, 320), RED, 12) and near(on_screen(canvas, 480, 200), RED, 12)


def test_a_dialog_preview_of_a_masked_layer_stays_masked(qtbot, window):
    """Recolor and re-prompt preview a layer's new pixels: what its mask hides stays hidden."""
    from qil_editor.document.layer_ops import SetLayerMask
    from qil_editor.document.paint import hide_all_mask

    tab, canvas = open_tab(window)
    layer = tab.session.doc.layers[1]
    tab.session.push(SetLayerMask(layer.id, hide_all_mask(), "Hide all"))
    assert near(shown(canvas, 120, 80), WHITE)
    canvas.set_preview(layer.id, rgba(120, 200, (20, 200, 20)))
    assert near(shown(canvas, 120, 80), WHITE)
    canvas.set_preview(layer.id, None)
    tab.session.push(SetLayerMask(layer.id, None, "Delete"))
    canvas.set_preview(layer.id, rgba(120, 200, (20, 200, 20)))
    assert near(shown(canvas, 120, 80), (20, 200, 20))


def test_shift_click_paints_a_straight_line_from_the_last_stroke(qtbot, window):
    tab, canvas = open_tab(window)
    layer = tab.session.doc.layers[1]
    window.actions_by_name["add_layer_mask"].trigger()
    window.set_tool("brush")
    window.masks.size_box.setValue(10)
    window.masks.hardness_box.setValue(100)
    stroke(canvas, [(40, 40), (41, 40)])
    vp = canvas.viewport()
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     canvas.mapFromScene(QPointF(200, 120)))
    assert tab.session.stack.count() == 3  # add mask, stroke, line
    on_line = layer.mask.coverage((120, 80, 121, 81))
    assert on_line is not None and on_line[0, 0] == 0.0  # the middle of (40, 40)-(200, 120)
    assert layer.mask.coverage((120, 40, 121, 41)) is None


def test_a_brush_too_big_for_a_cursor_is_outlined_on_the_canvas(qtbot, window):
    tab, canvas = open_tab(window)
    qtbot.waitExposed(canvas)
    canvas.actual_size()  # 100 % (no fit on a later resize)
    canvas.centerOn(120, 80)
    window.set_tool("brush")
    window.masks.size_box.setValue(100)
    assert canvas.viewport().cursor().pixmap().width() == 104  # small enough: the cursor is the circle
    before = on_screen(canvas, 120 + 150, 80)
    window.masks.size_box.setValue(300)  # 300 screen px at 100 %
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    QTest.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF(120, 80)))
    ring = canvas._ring
    assert ring is not None and abs(ring.x() - 120) < 1 and abs(ring.y() - 80) < 1
    assert on_screen(canvas, 120 + 150, 80) != on_screen(canvas, 120 + 140, 80)  # the ring is drawn
    window.set_tool("move")
    assert canvas._ring is None
    assert on_screen(canvas, 120 + 150, 80) == before  # and erased


def test_hide_all_then_reveal_with_white(qtbot, window):
    tab, canvas = open_tab(window)
    layer = tab.session.doc.layers[1]
    trigger(window, "add_layer_mask_hide_all", "actionAddLayerMaskHideAll")
    assert layer.mask.default == 0 and near(shown(canvas, 120, 80), WHITE)
    assert window.masks.brush.foreground == 255  # white: the brush reveals
    window.set_tool("brush")
    window.masks.size_box.setValue(20)
    stroke(canvas, [(100, 80), (140, 80)])
    assert near(shown(canvas, 120, 80), RED) and near(shown(canvas, 120, 40), WHITE)


def test_live_stroke_on_a_layer_the_core_compositor_draws(qtbot, window):
    """Under a blend mode QPainter lacks, the layers below are one flattened picture made on the
    task pool; a stroke there is recomposited in its region and patched in while painting."""
    from qil_editor.document import BlendMode

    doc = make_doc()
    top = rgba(20, 20, (10, 10, 10))
    doc.add_layer(Layer(top, name="Linear burn", x=0, y=0, blend_mode=BlendMode.LINEAR_BURN))
    tab = window.add_document(doc, name="flat")
    canvas, layer = tab.canvas, doc.layers[1]
    canvas.setTransform(QTransform())
    canvas.centerOn(120, 80)
    tab.session.set_current(layer.id)
    qtbot.waitUntil(lambda: canvas._flat.shown_pixels is not None and not canvas.flatten_pending)
    assert canvas._flat_upto == 2 and near(shown(canvas, 120, 80), RED)
    window.actions_by_name["add_layer_mask"].trigger()
    qtbot.waitUntil(lambda: not canvas.flatten_pending)
    window.set_tool("brush")
    window.masks.size_box.setValue(20)
    stroke(canvas, [(60, 80), (180, 80)], release=False)
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), WHITE), timeout=10_000)  # live, before release
    assert layer.mask.pixels.size == 0 and near(shown(canvas, 120, 40), RED)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       canvas.mapFromScene(QPointF(180, 80)))
    qtbot.waitUntil(lambda: not canvas.flatten_pending)
    assert near(shown(canvas, 120, 80), WHITE) and layer.mask.coverage((120, 80, 121, 81))[0, 0] == 0.0
    window.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), RED), timeout=10_000)
    window.set_tool("eraser")
    stroke(canvas, [(60, 50), (180, 50)], release=False)  # the pixels' path of the same patching
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 50), WHITE), timeout=10_000)
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       canvas.mapFromScene(QPointF(180, 50)))
    qtbot.waitUntil(lambda: not canvas.flatten_pending)
    assert near(shown(canvas, 120, 50), WHITE) and tab.session.stack.undoText() == "Eraser"


def test_brush_paints_a_new_empty_layer_and_an_empty_layer_with_a_mask(qtbot, window):
    tab, canvas = open_tab(window)
    session = tab.session
    window.actions_by_name["new_layer"].trigger()
    layer = session.current_layer
    window.set_tool("brush")
    window.masks.size_box.setValue(12)
    stroke(canvas, [(100, 30), (140, 30)])
    assert session.stack.undoText() == "Brush" and tuple(layer.pixels[30 - layer.y, 120 - layer.x]) == (0, 0, 0, 255)
    assert near(shown(canvas, 120, 30), (0, 0, 0))
    empty = Layer(np.zeros((0, 0, 4), np.uint8), name="Empty")
    session.add_layer(empty)
    window.actions_by_name["add_layer_mask"].trigger()
    steps = session.stack.count()
    stroke(canvas, [(100, 60), (140, 60)])  # hides nothing visible, but the mask takes the stroke
    assert session.stack.count() == steps + 1 and empty.mask.pixels.size > 0
    assert near(shown(canvas, 120, 60), RED)


def test_what_the_brush_paints_is_remembered_per_layer(qtbot, window):
    tab, canvas = open_tab(window)
    session = tab.session
    paper, red = session.doc.layers
    window.actions_by_name["add_layer_mask"].trigger()  # Red's mask: the brush paints it
    assert session.edit_mask
    session.set_current(paper.id)
    assert not session.edit_mask and not window.actions_by_name["edit_layer_mask"].isChecked()
    session.set_current(red.id)
    assert session.edit_mask and window.actions_by_name["edit_layer_mask"].isChecked()
    window.actions_by_name["edit_layer_mask"].trigger()  # Red's pixels now
    session.set_current(paper.id)
    session.set_current(red.id)
    assert not session.edit_mask


def test_a_group_mask_is_added_painted_live_and_undone(qtbot, window):
    """A group row is current: the mask actions act on the group, and the brush paints its mask."""
    from qil_editor.document import Group

    group = Group("Folder")
    doc = Document(240, 160, [Layer(rgba(160, 240, WHITE), name="Paper"),
                              Layer(rgba(120, 200, RED), name="Red", x=20, y=20, group=group.id)],
                   groups=[group])
    tab = window.add_document(doc, name="group")
    canvas, session = tab.canvas, tab.session
    canvas.setTransform(QTransform())
    canvas.centerOn(120, 80)
    session.set_selection([], groups=[group.id], current_group=group.id)
    assert session.current_layer is None and session.current_group is group
    trigger(window, "add_layer_mask", "actionAddLayerMask")
    assert group.mask is not None and group.mask.default == 255 and session.stack.undoText() == "Add group mask"
    # the group row shows its mask after the folder: white, all revealed
    view, delegate = window.layer_panel.view, window.layer_panel.delegate
    row = view.visualRect(tab.model.index(0, 0))
    assert tab.model.index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "Folder"
    at = delegate.name_rect(row, 0, True).left() + 28
    image = view.viewport().grab().toImage()
    assert near(tuple(image.pixelColor(at, row.center().y()).getRgb()[:3]), WHITE)
    assert not window.actions_by_name["apply_layer_mask"].isEnabled()
    qtbot.waitUntil(lambda: not canvas.flatten_pending)
    assert near(shown(canvas, 120, 80), RED)
    window.set_tool("brush")
    window.masks.size_box.setValue(20)
    stroke(canvas, [(60, 80), (180, 80)], release=False)
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), WHITE), timeout=10_000)  # live
    QTest.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       canvas.mapFromScene(QPointF(180, 80)))
    assert session.stack.undoText() == "Brush on group mask: hide"
    assert group.mask.coverage((120, 80, 121, 81))[0, 0] == 0.0
    qtbot.waitUntil(lambda: not canvas.flatten_pending)
    assert near(shown(canvas, 120, 80), WHITE) and near(shown(canvas, 120, 40), RED)
    trigger(window, "undo", "actionUndo")  # the group stays masked: the flattened picture is redone
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), RED), timeout=10_000)
    trigger(window, "redo", "actionRedo")
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), WHITE), timeout=10_000)
    trigger(window, "disable_layer_mask", "actionDisableLayerMask")
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), RED), timeout=10_000)
    trigger(window, "undo", "actionUndo")
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), WHITE), timeout=10_000)
    trigger(window, "delete_layer_mask", "actionDeleteLayerMask")
    assert group.mask is None
    qtbot.waitUntil(lambda: near(shown(canvas, 120, 80), RED), timeout=10_000)


def test_tool_options_bar_says_whose_settings_it_shows(qtbot, window):
    """With the move tool the bar must not claim to be painting; with B / E it names the target."""
    from PySide6.QtWidgets import QLabel

    tab, canvas = open_tab(window)
    label = window.findChild(QLabel, "brushTarget")
    window.set_tool("move")
    assert label.text() == "Brush (B) and Eraser (E) settings"
    QTest.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.tool == "brush" and label.text() == "Painting the layer's pixels"
    QTest.keyClick(canvas, Qt.Key.Key_E)
    assert canvas.tool == "eraser" and label.text() == "Erasing the layer's pixels"
    window.set_tool("move")
    assert label.text() == "Brush (B) and Eraser (E) settings"

"""Groups in the editor window: the layer panel's tree (collapse, eye, rename, opacity and
blend of a group, drag and drop in and out), Ctrl+G / Ctrl+Shift+G / Delete on a group, the
canvas following a group's visibility, and a grouped PSD saved and reopened."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from qil_editor.document import BlendMode, Document, Group, Layer, composite
from qil_editor.ui.layer_delegate import LayerDelegate
from qil_editor.ui.layer_model import DepthRole, IsGroupRole
from qil_editor.ui.qimage import qimage_to_rgba
from ui_helpers import rgba

CASES = Path(__file__).resolve().parents[1] / "data" / "psd-cases"


def tree(model):
    """The panel's rows: '  ' per level, 'G:' before a group."""
    out = []
    for r in range(model.rowCount()):
        index = model.index(r)
        out.append("  " * index.data(DepthRole) + ("G:" if index.data(IsGroupRole) else "") + index.data())
    return out


def row_rect(window, tab, item_id):
    view = window.layer_panel.view
    return view.visualRect(tab.model.index_of_layer(item_id))


def click(window, rect, modifiers=Qt.KeyboardModifier.NoModifier):
    QTest.mouseClick(window.layer_panel.view.viewport(), Qt.MouseButton.LeftButton, modifiers, rect.center())


def rendered(qtbot, canvas) -> np.ndarray:
    """The canvas area at 100 %, outline hidden (as tests/ui/test_canvas.py reads it)."""
    canvas.set_tool("hand")
    canvas.actual_size()  # 100 %, and no automatic fit when the window lays out
    canvas.centerOn(canvas.doc.width / 2, canvas.doc.height / 2)
    qtbot.waitUntil(lambda: not canvas.tasks.busy)
    image = canvas.viewport().grab().toImage()
    origin = canvas.mapFromScene(QPointF(0, 0))
    return qimage_to_rgba(image.copy(origin.x(), origin.y(), canvas.doc.width, canvas.doc.height))


def poster():
    """Paper | group "Title" (Red, Green) | Blue on top."""
    title = Group("Title")
    return Document(120, 80, [Layer(rgba(80, 120, (240, 240, 240)), name="Paper"),
                              Layer(rgba(20, 30, (200, 0, 0)), name="Red", x=10, y=20, group=title.id),
                              Layer(rgba(20, 30, (0, 150, 0)), name="Green", x=30, y=30, group=title.id),
                              Layer(rgba(10, 10, (0, 0, 200)), name="Blue", x=90, y=50)], groups=[title])


@pytest.fixture
def tab(window, qtbot):
    tab = window.add_document(poster(), name="poster.psd")
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return tab


def group_id(doc, name):
    return next(g.id for g in doc.groups.values() if g.name == name)


def test_opened_psd_shows_its_groups_as_a_tree_that_collapses(qtbot, window):
    window.show()
    tab = window.open_path(CASES / "groups" / "src.psd")
    assert tree(tab.model) == ["G:Group 1", "  G:Group 2", "  Layer 1", "  Layer 3", "Layer 0"]
    doc = tab.session.doc
    g1 = group_id(doc, "Group 1")
    arrow = LayerDelegate.arrow_rect(row_rect(window, tab, g1))
    click(window, arrow)
    assert tree(tab.model) == ["G:Group 1", "Layer 0"]
    click(window, LayerDelegate.arrow_rect(row_rect(window, tab, g1)))
    assert len(tree(tab.model)) == 5
    assert tab.session.stack.count() == 0  # collapsing is a view matter, not an edit
    window.layer_panel.view.viewport().grab()  # paints group rows (arrow, folder, indentation)
    # selecting a layer inside a collapsed group from elsewhere opens the group
    click(window, LayerDelegate.arrow_rect(row_rect(window, tab, g1)))
    inside = doc.find("Layer 3")  # (not the current layer)
    tab.session.set_current(inside.id)
    assert tab.model.index_of_layer(inside.id).isValid()
    assert window.layer_panel.view.currentIndex() == tab.model.index_of_layer(inside.id)
    # dropped onto "Group 1", whose first child is an empty group (no place in the layer order):
    # the layer goes in above the group's top layer
    model = tab.model
    mime = model.mimeData([model.index_of_layer(doc.find("Layer 0").id)])
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, 0, model.index_of_layer(g1))
    assert tree(model) == ["G:Group 1", "  G:Group 2", "  Layer 0", "  Layer 1", "  Layer 3"]


def test_group_eye_hides_its_layers_on_the_canvas_with_undo(qtbot, window, tab):
    doc, canvas = tab.session.doc, tab.canvas
    before = rendered(qtbot, canvas)
    assert tuple(before[25, 15, :3]) == (200, 0, 0)
    title = group_id(doc, "Title")
    click(window, LayerDelegate.eye_rect(row_rect(window, tab, title)))
    assert not doc.group(title).visible and doc.find("Red").visible  # the group's own flag
    hidden = rendered(qtbot, canvas)
    assert tuple(hidden[25, 15, :3]) == (240, 240, 240) and tuple(hidden[55, 95, :3]) == (0, 0, 200)
    assert np.abs(hidden.astype(int) - composite(doc)).max() <= 1
    assert tab.session.stack.text(0) == "Hide group"
    QTest.keySequence(window, "Ctrl+Z")
    assert doc.group(title).visible
    assert np.array_equal(rendered(qtbot, canvas), before)
    QTest.keySequence(window, "Ctrl+Shift+Z")
    assert not doc.group(title).visible


def test_selecting_a_group_row_lets_the_controls_edit_the_group(qtbot, window, tab):
    panel, session, doc = window.layer_panel, tab.session, tab.session.doc
    title = group_id(doc, "Title")
    click(window, LayerDelegate.name_rect(row_rect(window, tab, title), 0, True))
    assert session.current_group_id == title and session.current_layer_id is None
    assert panel.blend.currentText() == "Pass Through" and panel.blend.model().item(0).isEnabled()
    panel.opacity_spin.setValue(40)
    assert doc.group(title).opacity == pytest.approx(0.4)
    assert doc.find("Red").opacity == 1.0
    panel.blend.setCurrentIndex(panel.blend.findData(BlendMode.MULTIPLY))
    panel.blend.activated.emit(panel.blend.currentIndex())
    assert doc.group(title).blend_mode == BlendMode.MULTIPLY
    # the canvas draws an isolated, faded multiply group exactly as the core compositor
    got = rendered(qtbot, tab.canvas).astype(int)
    assert np.abs(got[..., :3] - composite(doc)[..., :3].astype(int)).max() <= 3
    panel.blend.setCurrentIndex(0)
    panel.blend.activated.emit(0)
    assert doc.group(title).pass_through
    assert [session.stack.text(i) for i in range(session.stack.count())] == [
        "Change group opacity", "Change group blend mode", "Change group blend mode"]
    # back to a layer: Pass Through is not offered
    click(window, row_rect(window, tab, doc.find("Blue").id))
    assert session.current_layer_id == doc.find("Blue").id and session.current_group_id is None
    assert not panel.blend.model().item(0).isEnabled() and panel.blend.currentText() == "Normal"
    # rename a group in place
    assert tab.model.setData(tab.model.index_of_layer(title), "Headline")
    assert doc.group(title).name == "Headline" and session.stack.text(session.stack.count() - 1) == "Rename group"
    # each is one undo step, undone and redone in order
    group = doc.group(title)
    states = []
    while session.stack.canUndo():
        states.append((group.name, group.opacity, group.blend_mode))
        session.stack.undo()
    assert (group.name, group.opacity, group.blend_mode) == ("Title", 1.0, None)
    assert states[0] == ("Headline", pytest.approx(0.4), None)
    assert states[-1] == ("Title", pytest.approx(0.4), None)
    while session.stack.canRedo():
        session.stack.redo()
    assert (group.name, group.opacity, group.blend_mode) == ("Headline", pytest.approx(0.4), None)
    assert tree(tab.model)[1] == "G:Headline"


def test_ctrl_g_groups_two_selected_layers_and_the_psd_keeps_the_group(qtbot, window, tab, tmp_path):
    from psd_tools import PSDImage

    session, doc, view = tab.session, tab.session.doc, window.layer_panel.view
    click(window, row_rect(window, tab, doc.find("Blue").id))
    click(window, row_rect(window, tab, doc.find("Paper").id), Qt.KeyboardModifier.ControlModifier)
    assert {ly.name for ly in session.selected_layers} == {"Blue", "Paper"}
    view.setFocus()
    QTest.keySequence(window, "Ctrl+G")
    assert tree(tab.model) == ["G:Group 1", "  Blue", "  Paper", "G:Title", "  Green", "  Red"]
    made = group_id(doc, "Group 1")
    assert {ly.name for ly in doc.layers if ly.group == made} == {"Blue", "Paper"}
    assert session.current_group_id == made
    assert window.actions_by_name["group_layers"].objectName() == "actionGroupLayers"
    assert window.actions_by_name["ungroup_layers"].objectName() == "actionUngroupLayers"
    grouped = tree(tab.model)
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"] and made not in doc.groups
    QTest.keySequence(window, "Ctrl+Shift+Z")
    assert tree(tab.model) == grouped
    path = tmp_path / "grouped.psd"
    assert window.save_to(tab, str(path))
    psd = PSDImage.open(path)
    groups = {ly.name: [c.name for c in ly] for ly in psd.descendants() if ly.is_group()}
    assert groups["Group 1"] == [ly.name for ly in doc.layers if ly.group == made]
    assert groups["Title"] == ["Red", "Green"]
    window.close_tab(tab)
    again = window.open_path(path)
    assert tree(again.model) == grouped
    assert np.abs(composite(again.session.doc).astype(int) - composite(doc)).max() <= 1


def test_ungroup_and_delete_a_group_with_its_layers(qtbot, window, tab):
    session, doc = tab.session, tab.session.doc
    title = group_id(doc, "Title")
    click(window, LayerDelegate.name_rect(row_rect(window, tab, title), 0, True))
    window.layer_panel.view.setFocus()
    QTest.keySequence(window, "Ctrl+Shift+G")
    assert tree(tab.model) == ["Blue", "Green", "Red", "Paper"] and not doc.groups
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]
    QTest.keySequence(window, "Ctrl+Shift+Z")
    assert tree(tab.model) == ["Blue", "Green", "Red", "Paper"]
    QTest.keySequence(window, "Ctrl+Z")
    click(window, LayerDelegate.name_rect(row_rect(window, tab, title), 0, True))
    assert window.actions_by_name["delete"].isEnabled()
    window.actions_by_name["delete"].trigger()
    assert tree(tab.model) == ["Blue", "Paper"] and not doc.groups and len(doc) == 2
    assert session.stack.text(session.stack.count() - 1) == "Delete group “Title”"
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]
    QTest.keySequence(window, "Ctrl+Shift+Z")
    assert tree(tab.model) == ["Blue", "Paper"]
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]
    # a locked layer inside stops the delete, and says why
    session.set_locked(doc.find("Red").id, True)
    click(window, LayerDelegate.name_rect(row_rect(window, tab, title), 0, True))
    window.actions_by_name["delete"].trigger()
    assert len(doc) == 4 and "locked" in window.statusBar().currentMessage()


def test_drag_and_drop_moves_layers_into_and_out_of_groups_and_whole_groups(qtbot, window, tab):
    model, session, doc = tab.model, tab.session, tab.session.doc
    title = group_id(doc, "Title")
    blue = doc.find("Blue")
    # Blue onto the group row: into it, at its top
    mime = model.mimeData([model.index_of_layer(blue.id)])
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, 0, model.index_of_layer(title))
    assert tree(model) == ["G:Title", "  Blue", "  Green", "  Red", "Paper"] and blue.group == title
    # Red out, between the group and Paper (a gap above Paper)
    red = doc.find("Red")
    mime = model.mimeData([model.index_of_layer(red.id)])
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, model.row_of(doc.find("Paper").id), 0,
                              QModelIndex())
    assert tree(model) == ["G:Title", "  Blue", "  Green", "Red", "Paper"] and red.group is None
    # the whole group to the bottom
    mime = model.mimeData([model.index_of_layer(title)])
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, model.rowCount(), 0, QModelIndex())
    assert tree(model) == ["Red", "Paper", "G:Title", "  Blue", "  Green"]
    assert session.stack.count() == 3
    for _ in range(3):
        session.stack.undo()
    assert tree(model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]
    # drops through the view: Paper onto the middle of the group row goes in at its top; Red
    # dropped on the upper part of Blue's row lands above Blue, out of the group
    view = window.layer_panel.view
    rect = view.visualRect(model.index_of_layer(title))
    assert view.onto_group(rect.center()).isValid()
    assert not view.onto_group(QPoint(rect.center().x(), rect.top() + 2)).isValid()

    def drop(item_id, pos):
        mime = model.mimeData([model.index_of_layer(item_id)])  # (the event does not own it: keep it)
        event = QDropEvent(QPointF(pos), Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        view.dropEvent(event)
        assert event.isAccepted()

    drop(doc.find("Paper").id, rect.center())
    assert tree(model) == ["Blue", "G:Title", "  Paper", "  Green", "  Red"]
    blue_rect = view.visualRect(model.index_of_layer(blue.id))
    drop(red.id, QPoint(blue_rect.center().x(), blue_rect.top() + 3))
    assert tree(model) == ["Red", "Blue", "G:Title", "  Paper", "  Green"]
    assert session.stack.count() == 2 and view.drop_line is None  # (the undone three were dropped)


def test_the_move_tool_and_arrows_move_a_selected_group(qtbot, window, tab):
    session, doc = tab.session, tab.session.doc
    title = group_id(doc, "Title")
    click(window, LayerDelegate.name_rect(row_rect(window, tab, title), 0, True))
    red, green, blue = doc.find("Red"), doc.find("Green"), doc.find("Blue")
    tab.canvas.setFocus()
    QTest.keyClick(tab.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(tab.canvas, Qt.Key.Key_Down)
    assert (red.x, red.y, green.x, green.y) == (20, 21, 40, 31) and (blue.x, blue.y) == (90, 50)
    assert session.stack.count() == 1  # consecutive nudges: one step
    QTest.keySequence(window, "Ctrl+Z")
    assert (red.x, red.y, green.x, green.y) == (10, 20, 30, 30)


def test_a_new_layer_above_a_grouped_layer_joins_its_group_and_hidden_groups_are_not_picked(qtbot, window, tab):
    session, doc = tab.session, tab.session.doc
    title = group_id(doc, "Title")
    click(window, row_rect(window, tab, doc.find("Red").id))
    QTest.keySequence(window, "Ctrl+Shift+N")
    new = doc.layers[doc.index_of(doc.find("Red").id) + 1]
    assert new.group == title and tree(tab.model)[2:4] == ["  Green", "  " + new.name]
    assert doc.topmost_at(15, 25).name == "Red"
    session.set_group_visible(title, False)
    assert doc.topmost_at(15, 25).name == "Paper"  # the auto-select pick skips a hidden group


def test_decomposing_the_whole_image_gives_flat_layers_and_undo_brings_the_groups_back(qtbot, window, tab):
    session, doc = tab.session, tab.session.doc
    result = Document(120, 80, [Layer(rgba(80, 120, (1, 2, 3)), name="Background"),
                                Layer(rgba(5, 5, (9, 9, 9)), name="Shape", x=4, y=4)])
    assert session.replace_with_decomposition(result, remove_ids=[ly.id for ly in doc.layers])
    assert tree(tab.model) == ["Shape", "Background"] and not doc.groups
    assert session.stack.count() == 1
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]


@pytest.mark.slow
def test_a_group_made_with_ctrl_g_is_a_group_in_krita_and_gimp(qtbot, window, tab, tmp_path):
    from clients import assert_same_picture, gimp_flatten, krita_tree, need
    from clients import rgba as read_png

    need("krita", "xvfb-run", "gimp-console")
    doc = tab.session.doc
    click(window, row_rect(window, tab, doc.find("Blue").id))
    click(window, row_rect(window, tab, doc.find("Paper").id), Qt.KeyboardModifier.ControlModifier)
    QTest.keySequence(window, "Ctrl+G")
    path = tmp_path / "made with ctrl-g.psd"
    assert window.save_to(tab, str(path))
    assert krita_tree(path, tmp_path) == [
        ("Group 1", [("Blue", []), ("Paper", [])]), ("Title", [("Green", []), ("Red", [])])]
    png, count = tmp_path / "gimp.png", tmp_path / "count.txt"
    run = gimp_flatten([(path, png, count)], tmp_path)
    assert png.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    assert int(count.read_text()) == 2  # two top-level groups
    assert_same_picture(composite(doc), read_png(png), "GIMP")


def test_ctrl_j_on_a_group_row_duplicates_the_group(qtbot, window, tab):
    session, doc = tab.session, tab.session.doc
    title = group_id(doc, "Title")
    click(window, LayerDelegate.name_rect(row_rect(window, tab, title), 0, True))
    assert window.actions_by_name["duplicate"].isEnabled()
    QTest.keySequence(window, "Ctrl+J")
    assert tree(tab.model) == ["Blue", "G:Title copy", "  Green", "  Red", "G:Title", "  Green", "  Red", "Paper"]
    assert session.current_group is not None and session.current_group.name == "Title copy"
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]


def test_merging_layers_from_inside_and_outside_a_group_keeps_the_group_whole(qtbot, window, tab):
    doc = tab.session.doc
    click(window, row_rect(window, tab, doc.find("Red").id))
    click(window, row_rect(window, tab, doc.find("Paper").id), Qt.KeyboardModifier.ControlModifier)
    QTest.keySequence(window, "Ctrl+E")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red"]  # the merge, named after the top
    QTest.keySequence(window, "Ctrl+Z")
    assert tree(tab.model) == ["Blue", "G:Title", "  Green", "  Red", "Paper"]

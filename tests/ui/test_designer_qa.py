"""Bugs found by using the real editor window like a designer (QA round 3); each test
reproduces what was seen on screen."""

from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QTransform

DATA = Path(__file__).resolve().parents[1] / "data"
GROUP_SHADOWS = DATA / "psd-extra" / "group-drop-shadows" / "src.psd"


def _on_screen(window, canvas, x: float, y: float) -> tuple:
    """The colour the window shows now at document point (x, y): what was last painted
    (the backing store), not a fresh render, so a region Qt forgot to repaint shows stale."""
    point = canvas.viewport().mapTo(window, canvas.mapFromScene(x, y))
    return window.screen().grabWindow(window.winId()).toImage().pixelColor(point).getRgb()


def _rendered(canvas, x: float, y: float) -> tuple:
    return canvas.viewport().grab().toImage().pixelColor(canvas.mapFromScene(x, y)).getRgb()


def test_group_shadow_left_by_a_layer_dragged_out_of_its_group_is_repainted(qtbot, window):
    """Dragging "Ellipse 1" out of its group (layer panel) redraws the group's drop shadow
    without it: the canvas must stop showing the ellipse's shadow, not only where the ellipse
    and the new, smaller shadow are (the outline's direct viewport update used to paint the
    shrunk item first, and Qt then repainted only its new box)."""
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    tab = window.open_path(GROUP_SHADOWS)
    session, canvas, doc = tab.session, tab.canvas, tab.session.doc
    ellipse = next(ly for ly in doc.layers if ly.name == "Ellipse 1")
    session.set_current(ellipse.id)
    canvas.setTransform(QTransform.fromScale(0.6, 0.6))
    canvas.centerOn(500, 500)
    qtbot.wait(300)
    shadow_only = (690, 800)  # the ellipse's shadow, outside the ellipse's own box
    assert _on_screen(window, canvas, *shadow_only)[:3] != (255, 255, 255)
    assert session.move_in_tree([ellipse.id], [], None, ellipse.group)  # right above its group
    qtbot.waitUntil(lambda: not session.styles_busy)
    qtbot.wait(300)
    assert _rendered(canvas, *shadow_only)[:3] == (255, 255, 255)
    assert _on_screen(window, canvas, *shadow_only) == _rendered(canvas, *shadow_only)


def test_recent_files_with_the_same_name_say_which_folder_they_are_in(window, tmp_path):
    """Three recent "src.psd" (one per folder) were three identical menu items; a name
    shared by several entries gets its folder, a unique one stays bare."""
    paths = [tmp_path / "effects" / "src.psd", tmp_path / "poster.png", tmp_path / "layer-mask" / "src.psd"]
    for path in reversed(paths):
        window.settings.add_recent(str(path))
    window.build_menus()
    window._fill_recent_menu()
    actions = window.recent_menu.actions()
    assert [a.text() for a in actions] == ["src.psd — effects", "poster.png", "src.psd — layer-mask"]
    assert [a.toolTip() for a in actions] == [str(p) for p in paths]


def test_a_psd_dropped_on_the_canvas_keeps_its_layer_mask(window):
    """layer-mask/src.psd is one full-canvas layer whose mask cuts a blob out of a pink square;
    dropped onto a document it came in as the whole square (the layer's pixels, mask ignored)."""
    import numpy as np

    from qil_editor.document import Layer, composite
    from qil_editor.document.document import Document
    from qil_editor.io import open_document

    psd = DATA / "psd-cases" / "layer-mask" / "src.psd"
    source = open_document(psd)
    assert len(source) == 1 and source.layers[0].mask is not None
    tab = window.add_document(Document(200, 200, [Layer(np.zeros((200, 200, 4), np.uint8), name="empty")]))
    assert window.layer_actions.add_files_as_layers([str(psd)]) == 1
    added = tab.session.doc.layers[-1]
    assert added.name == "src"
    expected = composite(source)
    assert expected[0, 0, 3] == 0 and source.layers[0].pixels[0, 0, 3] == 255  # the corner is masked out
    assert np.array_equal(added.pixels, expected)


def test_undo_inside_a_free_transform_drops_the_transform_not_the_step_before(qtbot, window):
    """Duplicate, Ctrl+T, drag a handle, Ctrl+Z: the designer undoes the drag. It used to also
    undo the duplicate (the step under the box), taking the new layer away."""
    from test_transform import doc_with_box, drag, start

    tab = window.add_document(doc_with_box(), name="box")
    session = tab.session
    session.duplicate(session.doc.layers[1].id)
    assert session.stack.count() == 1 and len(session.doc) == 3
    canvas = start(window, tab)
    copy = session.doc.layers[2]
    original = copy.pixels
    drag(canvas, QPointF(180, 150), QPointF(240, 190))
    window.actions_by_name["undo"].trigger()
    assert not canvas.transforming
    assert session.stack.index() == 1 and len(session.doc) == 3  # the duplicate is still there
    assert copy.pixels is original and (copy.x, copy.y) == (100, 100)
    window.actions_by_name["undo"].trigger()  # outside a transform Undo undoes again
    assert session.stack.index() == 0 and len(session.doc) == 2


def test_a_group_rows_menu_says_group_not_layer(window):
    """Right-click on a group row offered "Delete Layer" (it deletes the group); the shared
    actions name what they act on, and go back to "Layer" on a layer row."""
    from test_transform import doc_with_box

    tab = window.add_document(doc_with_box(), name="box")
    session = tab.session
    box = session.doc.layers[1]
    session.set_selection([box.id])
    assert session.group_selection() and session.current_group is not None
    menu = {a.text() for a in window.layer_panel.view.actions()}
    assert "De&lete Group" in menu and "De&lete Layer" not in menu  # (a group's mask is a "Layer Mask", as in Photoshop)
    A = window.actions_by_name
    assert A["duplicate"].text() == "&Duplicate Group" and A["toggle_visible"].text() == "Show / &Hide Group"
    session.set_current(box.id)
    assert (A["delete"].text(), A["duplicate"].text()) == ("De&lete Layer", "&Duplicate Layer")


def test_redo_selects_what_the_step_made_again(window):
    """Duplicate, Undo, Redo: the copy came back but the original stayed current (the first do
    selected the copy). Redo of a new layer, a paste (both add_layer) and a group does the same."""
    from test_transform import doc_with_box

    tab = window.add_document(doc_with_box(), name="box")
    session = tab.session
    box = session.doc.layers[1]
    undo, redo = window.actions_by_name["undo"], window.actions_by_name["redo"]
    session.set_current(box.id)
    window.actions_by_name["duplicate"].trigger()
    copy = session.current_layer
    assert copy.id != box.id and copy.name == "Box copy"
    undo.trigger()
    assert session.current_layer_id == box.id
    redo.trigger()
    assert session.current_layer_id == copy.id and session.selected_ids == [copy.id]

    window.actions_by_name["new_layer"].trigger()
    new = session.current_layer
    undo.trigger()
    session.set_current(box.id)
    redo.trigger()
    assert session.current_layer_id == new.id

    session.set_selection([box.id, copy.id])
    window.actions_by_name["group_layers"].trigger()
    group = session.current_group
    undo.trigger()
    assert session.current_group is None
    redo.trigger()
    assert session.current_group_id == group.id and session.current_layer is None
    window.actions_by_name["duplicate"].trigger()  # a group row: the group
    twin = session.current_group
    assert twin.id != group.id
    undo.trigger()
    session.set_current(box.id)
    redo.trigger()
    assert session.current_group_id == twin.id


def test_the_status_bar_says_what_paste_did(window):
    """Ctrl+C then Ctrl+V: the status bar kept saying "Copied “Box”." after the paste."""
    from test_transform import doc_with_box

    tab = window.add_document(doc_with_box(), name="box")
    tab.session.set_current(tab.session.doc.layers[1].id)
    window.actions_by_name["copy"].trigger()
    assert window.statusBar().currentMessage() == "Copied “Box”."
    window.actions_by_name["paste_as_layer"].trigger()
    assert tab.session.current_layer.name == "Box copy"
    assert window.statusBar().currentMessage() == "Pasted “Box copy” as a new layer."


def test_the_decompose_dialogs_note_follows_the_chosen_engine(qtbot):
    """With the AI engines unavailable the note said "Auto uses the classical engine" even with
    Classical chosen; that part shows only for Auto, the install hint stays."""
    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.engines.model_extra import model_install_command
    from qil_editor.ui.decompose_dialog import DecomposeDialog
    from qil_editor.ui.worker import DecomposeRequest

    engines = [("qwen", "Qwen-Image-Layered (AI)"), ("classical", "Classical (fast, CPU)")]
    dialog = DecomposeDialog(DecomposeRequest("classical", DecomposeOptions()), engines, model_extra=False)
    qtbot.addWidget(dialog)
    note = dialog.model_note
    assert dialog.engine.currentData() == "classical" and note.isVisibleTo(dialog)
    assert "Auto" not in note.text() and model_install_command() in note.text()
    dialog.engine.setCurrentIndex(dialog.engine.findData("auto"))
    assert "Auto uses the classical engine" in note.text() and model_install_command() in note.text()


def test_splitting_a_single_object_layer_says_so_and_changes_nothing(qtbot, window):
    """Split Layer on a layer holding one card replaced it by one layer "Card 1" (an undo step
    that did nothing) and said "Split into 1 layers"; now it says there was nothing to split."""
    import numpy as np

    from qil_editor.document import Layer
    from qil_editor.document.document import Document
    from ui_helpers import classical_request, wait_task

    card = np.zeros((120, 160, 4), np.uint8)
    card[30:90, 40:120] = (200, 40, 40, 255)
    paper = Layer(np.full((300, 400, 4), 250, np.uint8), name="Paper")
    tab = window.add_document(Document(400, 300, [paper, Layer(card, name="Card", x=10, y=10)]), name="card")
    session = tab.session
    before = [(ly.id, ly.name) for ly in session.doc.layers]
    card_id = before[1][0]
    assert wait_task(qtbot, window.start_decomposition(classical_request(2), tab, layer_id=card_id)) is False
    assert [(ly.id, ly.name) for ly in session.doc.layers] == before and session.stack.count() == 0
    assert window.statusBar().currentMessage() == ("“Card” holds one object: there was nothing to split; "
                                                   "the layer is unchanged.")

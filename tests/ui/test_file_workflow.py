"""Saving over a designer's PSD asks first; a tab's identity follows Save As; dialogs start in the
user's folders (issues #15 item 1, #16 bugs 1 and 8). Driven through the window's actions and the
real message box buttons."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from qil_editor.document import Document, Layer
from qil_editor.io import open_document, save_psd
from ui_helpers import rgba

DATA = Path(__file__).resolve().parents[1] / "data" / "psd-cases"


def click_when_shown(qtbot, object_name: str, button_text: str, seen: list) -> None:
    """Click ``button_text`` in the message box named ``object_name`` as soon as it is up."""

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.objectName() == object_name and widget.isVisible():
                seen.append((widget.text(), widget.informativeText(),
                             widget.defaultButton().text() if widget.defaultButton() else ""))
                button = next(b for b in widget.buttons() if b.text() == button_text)
                button.click()
                return
        QTimer.singleShot(10, poll)

    QTimer.singleShot(0, poll)


@pytest.fixture
def real_boxes(real_message_boxes):
    """Click the real buttons (see conftest.real_message_boxes)."""


def designer_psd(tmp_path, case: str = "text-layer") -> Path:
    path = tmp_path / "designer.psd"
    shutil.copy(DATA / case / "src.psd", path)
    return path


def edit(tab) -> None:
    """Move the top layer (the writer keeps everything else of the file as it was)."""
    layer = tab.session.doc.layers[-1]
    tab.session.move_layer(layer.id, 3, 2)


def repaint(tab) -> None:
    """Change the top layer's pixels (as Recolor does): a live text layer would become pixels."""
    layer = tab.session.doc.layers[-1]
    assert tab.session.replace_pixels(layer.id, 255 - np.asarray(layer.pixels), "Recolor")


def test_saving_over_a_designers_psd_asks_and_defaults_to_a_new_file(qtbot, window, real_boxes, tmp_path):
    path = designer_psd(tmp_path)
    original = path.read_bytes()
    tab = window.open_path(path)
    repaint(tab)
    asked = []
    window.ask_save_path = lambda title, suggested, filt: asked.append(suggested) or suggested
    seen: list = []
    click_when_shown(qtbot, "overwritePsdBox", "Save as New File…", seen)
    window.actions_by_name["save"].trigger()
    (text, info, default), = seen
    assert "designer.psd" in text and "Test text" in info  # the document's own report
    assert default == "Save as New File…"
    copy = tmp_path / "designer copy.psd"
    assert asked == [str(copy)] and copy.is_file()
    assert path.read_bytes() == original  # the designer's file is untouched
    assert tab.session.save_path == str(copy) and not tab.session.modified
    repaint(tab)
    window.actions_by_name["save"].trigger()  # now saving to our own file: no question
    assert (open_document(copy).layers[-1].x) == tab.session.doc.layers[-1].x


def test_overwrite_and_cancel_buttons(qtbot, window, real_boxes, tmp_path):
    path = designer_psd(tmp_path)
    original = path.read_bytes()
    tab = window.open_path(path)
    repaint(tab)
    seen: list = []
    click_when_shown(qtbot, "overwritePsdBox", "Cancel", seen)
    window.actions_by_name["save"].trigger()
    assert len(seen) == 1 and path.read_bytes() == original and tab.session.modified
    click_when_shown(qtbot, "overwritePsdBox", "Overwrite", seen)
    window.actions_by_name["save"].trigger()
    assert len(seen) == 2 and path.read_bytes() != original and not tab.session.modified
    repaint(tab)
    window.actions_by_name["save"].trigger()  # agreed once for this document: not asked again
    assert len(seen) == 2 and not tab.session.modified


@pytest.mark.parametrize("case, change, named", [("text-layer", repaint, "Test text"),
                                                 ("smart-object", repaint, "kitty"),
                                                 ("cmyk", edit, "CMYK")])
def test_the_question_names_what_would_flatten(qtbot, window, dialogs, tmp_path, case, change, named):
    path = tmp_path / "art.psd"
    shutil.copy(DATA / case / "src.psd", path)
    tab = window.open_path(path)
    change(tab)
    dialogs.answers = [QMessageBox.StandardButton.Cancel]
    assert not window.save()
    title, text, info = dialogs.shown[-1]
    assert title == "Save over the original PSD?" and named in info


@pytest.mark.parametrize("case", ["groups", "text-layer"])
def test_a_move_the_writer_keeps_saves_in_place_without_asking(qtbot, window, dialogs, tmp_path, case):
    path = designer_psd(tmp_path, case)
    tab = window.open_path(path)
    edit(tab)
    assert tab.session.doc.save_losses() == []
    assert window.save() and dialogs.shown == [] and not tab.session.modified


def test_plain_psd_saves_in_place_without_asking(qtbot, window, dialogs, tmp_path):
    path = tmp_path / "plain.psd"
    save_psd(Document(20, 20, [Layer(rgba(20, 20, (0, 90, 0)), name="Green")]), path)
    tab = window.open_path(path)
    edit(tab)
    assert window.save() and dialogs.shown == []
    assert open_document(path).layers[0].x == 3


def test_save_as_gives_the_tab_the_new_identity(qtbot, window, dialogs, tmp_path):
    """#16 bug 1: after Save As x.psd, opening the PNG again opens the PNG; x.psd keeps its edits."""
    png = tmp_path / "poster.png"
    Image.fromarray(rgba(30, 40, (200, 30, 30))).save(png)
    tab = window.open_path(png)
    window.ask_save_path = lambda title, suggested, filt: str(tmp_path / "x.psd")
    window.actions_by_name["save_as"].trigger()
    assert tab.session.save_path == str(tmp_path / "x.psd")
    edit(tab)
    again = window.open_path(png)
    assert dialogs.shown == []  # nothing to ask: x.psd is another document
    assert again is not tab and window.docs == [tab, again]
    assert again.session.display_name == "poster.png" and tab.session.modified
    assert window.files.find_open(str(tmp_path / "x.psd")) is tab
    assert window.files.find_open(str(png)) is again


def test_dialogs_start_in_the_users_folders(qtbot, window, sample_poster, tmp_path, monkeypatch):
    """#16 bug 8: Open starts where the user last saved; Save never proposes the installation."""
    opened_in = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda parent, title, folder, filt: opened_in.append(folder) or ([], ""))
    tab = window.open_path(sample_poster)
    asked = []
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    window.ask_save_path = lambda title, suggested, filt: asked.append(suggested) or str(elsewhere / "mine.psd")
    window.actions_by_name["save"].trigger()
    assert Path(asked[0]).parent != sample_poster.parent and Path(asked[0]).name == "poster.psd"
    window.actions_by_name["open"].trigger()
    assert opened_in == [str(elsewhere)]
    second = window.open_path(sample_poster)
    window.actions_by_name["export_flat"].trigger()
    assert Path(asked[-1]).parent == elsewhere and second is not tab


def test_every_action_has_a_stable_object_name(window):
    names = {a.objectName() for a in window.actions_by_name.values()}
    assert {"actionOpen", "actionSaveAs", "actionUndo", "actionRedo", "actionMergeDown",
            "actionReprompt", "actionDecompose"} <= names
    assert all(n.startswith("action") and n[6].isupper() for n in names)
    assert window.findChild(type(window.actions_by_name["open"]), "actionSaveAs") is window.actions_by_name["save_as"]
    assert "(Ctrl+J)" in window.actions_by_name["duplicate"].toolTip()

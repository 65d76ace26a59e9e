"""Opening, saving, unsaved-changes prompts and crash recovery in the main window."""

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from qil_editor.document import Document, Layer
from qil_editor.io import open_document, save_psd
from ui_helpers import rgba

Button = QMessageBox.StandardButton
ROOT = Path(__file__).resolve().parents[2]


def write_png(path: Path, color=(200, 30, 30)) -> Path:
    Image.fromarray(rgba(30, 40, color)).save(path)
    return path


def drop_files(window, paths) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(300, 300)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    return drop.isAccepted()


def test_drop_file_urls_opens_them_in_tabs(qtbot, window, sample_poster, tmp_path):
    other = write_png(tmp_path / "red.png")
    assert drop_files(window, [sample_poster, other])
    assert window.tabs.count() == 2
    assert [t.session.display_name for t in window.docs] == ["poster.png", "red.png"]
    assert window.current.session.doc.size == (40, 30)
    assert window.settings.recent_files[:2] == [str(other), str(sample_poster)]
    text = QMimeData()
    text.setText("not a file")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_failed_open_leaves_current_document_untouched(qtbot, window, dialogs, sample_poster, tmp_path):
    tab = window.open_path(sample_poster)
    layer = tab.session.doc.layers[0]
    tab.session.move_layer(layer.id, 5, 5)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    assert window.open_path(broken) is None
    assert window.open_path(tmp_path / "missing.psd") is None
    assert len(dialogs.shown) == 2 and "broken.png" in dialogs.texts[0] and "missing.psd" in dialogs.texts[1]
    assert all(title == "Could not open the file" for title, _, _ in dialogs.shown)
    assert window.docs == [tab] and window.current is tab
    assert (layer.x, layer.y) == (5, 5) and tab.session.stack.count() == 1 and tab.session.modified


def test_unsaved_changes_prompt_on_close_and_reopen(qtbot, window, dialogs, tmp_path):
    path = tmp_path / "art.psd"
    save_psd(Document(20, 20, [Layer(rgba(20, 20, (0, 90, 0)), name="Green")]), path)
    tab = window.open_path(path)
    assert window.windowTitle() == "art.psd[*] — QIL Editor" and not window.isWindowModified()
    green = tab.session.doc.layers[0]
    tab.session.rename(green.id, "Leaf")
    assert window.isWindowModified() and window.tabs.tabText(0) == "art.psd *"

    dialogs.answers = [Button.Cancel]
    assert not window.close_tab(tab)
    assert window.docs == [tab] and "Save the changes to “art.psd”" in dialogs.shown[-1][1]

    dialogs.answers = [Button.Discard]  # reopening a modified file: discard = reload from disk
    fresh = window.open_path(path)
    assert fresh is not tab and window.docs == [fresh]
    assert fresh.session.doc.layers[0].name == "Green" and not fresh.session.modified

    fresh.session.rename(fresh.session.doc.layers[0].id, "Leaf")
    dialogs.answers = [Button.Save]
    assert window.close_tab(fresh) and not window.docs
    assert open_document(path).layers[0].name == "Leaf"  # saved in place (a PSD source)

    tab = window.open_path(path)
    tab.session.rename(tab.session.doc.layers[0].id, "Stem")
    dialogs.answers = [Button.Cancel]
    assert not window.close()  # quitting asks too, and Cancel keeps the window open
    assert window.isVisible() and window.docs == [tab]


def test_save_as_psd_export_and_recent(qtbot, window, dialogs, sample_poster, tmp_path):
    tab = window.open_path(sample_poster)
    assert tab.session.save_path is None  # a PNG source is not overwritten by Ctrl+S
    asked = []

    def ask(title, suggested, file_filter):
        asked.append(suggested)
        return str(tmp_path / Path(suggested).with_suffix("").name) + {"Photoshop document (*.psd)": "",
                                                                       "ZIP archive (*.zip)": ".zip",
                                                                       "PNG image (*.png)": ".png"}[file_filter]

    window.ask_save_path = ask
    tab.session.duplicate(tab.session.doc.layers[0].id)
    assert window.save()
    # the sample lives in the installation: the dialog proposes a folder of the user's instead
    assert Path(asked[0]).name == "poster.psd" and Path(asked[0]).parent != Path(sample_poster).parent
    saved = tmp_path / "poster.psd"  # '.psd' added to a name without one
    assert saved.is_file() and tab.session.save_path == str(saved)
    assert [ly.name for ly in open_document(saved).layers] == ["poster", "poster copy"]
    assert window.export_layers_zip_dialog() and window.export_flat_dialog()
    with zipfile.ZipFile(tmp_path / "poster.zip") as zf:
        assert len(zf.namelist()) == 2
    flat = np.array(Image.open(tmp_path / "poster.png"))
    assert flat.shape[:2] == (560, 800)
    assert window.settings.recent_files[0] == str(saved)
    window._fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()][:2] == ["poster.psd", "poster.png"]


CRASHING_SESSION = textwrap.dedent("""
    import os, sys
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from qil_editor.ui.app_window import MainWindow
    from qil_editor.ui.settings import AppSettings
    app = QApplication([])
    settings = AppSettings(QSettings(sys.argv[1], QSettings.Format.IniFormat))
    window = MainWindow(settings, sys.argv[2])
    tab = window.open_path(sys.argv[3])
    session = tab.session
    layer = session.doc.layers[0]
    session.duplicate(layer.id)
    session.move_layer(session.current_layer_id, 30, 20)
    session.rename(session.current_layer_id, "Moved copy")
    window.recovery.saved.connect(lambda _id: os._exit(17))  # crash right after the autosave
    window.autosave_now()
    app.exec()
""")


def test_recovery_brings_back_edits_after_a_crash(qtbot, make_window, dialogs, sample_poster, tmp_path):
    data = tmp_path / "appdata"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    crashed = subprocess.run([sys.executable, "-c", CRASHING_SESSION, str(tmp_path / "other.ini"), str(data),
                              str(sample_poster)], env=env, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 17, crashed.stderr
    assert len(list((data / "recovery").glob("*.psd"))) == 1

    window = make_window(data_dir=data)
    dialogs.answers = [Button.Yes]
    restored = window.offer_recovery()
    assert "Recover" in dialogs.shown[-1][0] and "poster.png" in dialogs.shown[-1][1]
    assert len(restored) == 1
    session = restored[0].session
    names = [ly.name for ly in session.doc.layers]
    assert names == ["poster", "Moved copy"]
    moved = session.doc.layers[1]
    assert (moved.x, moved.y) == (30, 20)
    assert np.array_equal(moved.pixels, session.doc.layers[0].pixels)
    assert session.modified and session.save_path is None and "(recovered)" in session.display_name
    assert session.source_path == str(sample_poster)
    assert not list((data / "recovery").glob("*.json"))  # offered once
    second = make_window(data_dir=tmp_path / "appdata")
    assert second.offer_recovery() == []  # nothing left over, and the live window's files are its own


def test_autosave_runs_only_when_modified_and_clean_close_removes_it(qtbot, window, sample_poster):
    tab = window.open_path(sample_poster)
    folder = window.recovery.folder
    qtbot.waitUntil(lambda: not window.tasks.busy)  # thumbnails of the new tab
    window.autosave_now()
    assert not window.tasks.busy and not list(folder.glob("*.psd"))
    tab.session.move_layer(tab.session.doc.layers[0].id, 1, 1)
    with qtbot.waitSignal(window.recovery.saved, timeout=10_000):
        window.autosave_now()
    psd = folder / f"{tab.session.id}.psd"
    assert psd.is_file() and (open_document(psd).layers[0].x, open_document(psd).layers[0].y) == (1, 1)
    qtbot.waitUntil(lambda: not window.tasks.busy)  # thumbnails, the autosave itself
    window.autosave_now()
    assert not window.tasks.busy  # unchanged since the last autosave: nothing to do
    tab.session.stack.undo()
    assert not tab.session.modified
    window.close_tab(tab)
    assert not psd.exists()

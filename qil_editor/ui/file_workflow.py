"""The window's file workflow: open, save (and when to ask first), export, recent files, recovery.

A document tab's identity on disk is the file it saves to, or, until it
has been saved, the file it came from: after Save As ``x.psd`` the tab *is*
``x.psd``, and opening its original PNG again opens that PNG in a new tab.

Saving over a PSD the editor did not write itself asks first when the save
would flatten something (groups, live text, effects, masks...), naming it;
the default is to save as a new file. What would flatten comes from the
document (``Document.save_losses``, which knows what the PSD held and what
the user changed).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from ..errors import QilError

if TYPE_CHECKING:  # pragma: no cover
    from .app_window import DocumentTab, MainWindow
    from .session import DocumentSession  # loads with the first document (start-up)

log = logging.getLogger(__name__)

PSD_FILTER = "Photoshop document (*.psd)"
Button = QMessageBox.StandardButton
#: The overwrite question's answers (standard buttons, so scripts and tests can name them).
SAVE_AS_NEW = Button.Save
OVERWRITE = Button.Discard  # the destructive role: it is the one that flattens


def open_filter() -> str:
    """The Open dialog's filter, from the one format table (io/formats.py)."""
    from ..io import formats

    return formats.open_filter()


def __getattr__(name: str):
    """``OPEN_FILTER`` and ``is_psd``, made on first use: the file I/O modules (psd-tools'
    reader among them) load with the first file, not with the window."""
    if name == "OPEN_FILTER":
        return open_filter()
    if name == "is_psd":
        from ..io import is_psd
        return is_psd
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _install_root() -> Path:
    return Path(__file__).resolve().parents[2]


def _good_save_folder(folder: str | os.PathLike | None) -> bool:
    """A folder worth proposing for a save: exists, writable, not inside the installation."""
    if not folder:
        return False
    path = Path(folder).resolve()
    if not path.is_dir() or not os.access(path, os.W_OK):
        return False
    root = _install_root()
    return not (path == root or root in path.parents)


class FileWorkflow:
    """Everything between the window's File menu and the disk."""

    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self.settings = window.settings

    # ----- asking ------------------------------------------------------------------------
    def ask_unsaved(self, session: DocumentSession, action: str = "closing") -> Button:
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to “{session.display_name}” before {action}?",
                          Button.Save | Button.Discard | Button.Cancel, self.window)
        box.setInformativeText("If you don't save, your changes will be lost.")
        box.setDefaultButton(Button.Save)
        return Button(box.exec())

    def ask_overwrite(self, session: DocumentSession, losses: list[str]) -> Button:
        """Save as a new file (default), Overwrite, or Cancel; ``losses`` say what would flatten."""
        name = Path(session.save_path or "").name or session.display_name
        box = QMessageBox(QMessageBox.Icon.Warning, "Save over the original PSD?",
                          f"Saving over “{name}” would turn parts of it into plain pixels.",
                          SAVE_AS_NEW | OVERWRITE | Button.Cancel, self.window)
        box.setObjectName("overwritePsdBox")
        lines = "\n".join(f"• {item}" for item in losses)
        box.setInformativeText(f"These would no longer be editable in Photoshop:\n{lines}\n\n"
                               "Save as a new file to keep the original as it is.")
        box.button(SAVE_AS_NEW).setText("Save as New File…")
        box.button(OVERWRITE).setText("Overwrite")
        box.setDefaultButton(SAVE_AS_NEW)
        box.setEscapeButton(Button.Cancel)
        return Button(box.exec())

    #: a job running longer than this is worth a question before closing stops it
    LONG_JOB_S = 10.0

    def confirm_stop_job(self, tab: "DocumentTab", action: str = "closing") -> bool:
        """True when closing may stop the tab's running job: none runs, it is young (a classical
        run: seconds), or the designer says so. A model run can have minutes in it."""
        job = tab.session.job
        if job is None or not job.running or job.token.cancelled or job.elapsed < self.LONG_JOB_S:
            return True
        from ..engines.jobs import DOING

        self.window.tabs.setCurrentWidget(tab.canvas)
        minutes, seconds = divmod(int(job.elapsed), 60)
        took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        box = QMessageBox(QMessageBox.Icon.Warning, "Stop the running job?",
                          f"“{tab.session.display_name}” has been {DOING[job.kind]} for {took}.",
                          Button.Ok | Button.Cancel, self.window)
        box.setObjectName("stopJobBox")
        box.setInformativeText(f"{action.capitalize()} stops it; what it has done so far is lost.")
        box.button(Button.Ok).setText("Stop and Quit" if action == "quitting" else "Stop and Close")
        box.setDefaultButton(Button.Cancel)
        return Button(box.exec()) == Button.Ok

    def maybe_save(self, tab: "DocumentTab", action: str = "closing") -> bool:
        """True when it is fine to drop the tab's unsaved state (saved, discarded or clean)."""
        if not tab.session.modified:
            return True
        self.window.tabs.setCurrentWidget(tab.canvas)
        choice = self.ask_unsaved(tab.session, action)
        if choice == Button.Save:
            return self.save(tab)
        return choice == Button.Discard

    # ----- opening -------------------------------------------------------------------------
    def open_dialog(self) -> list["DocumentTab"]:
        return self.open_files(self.window.ask_open_paths())

    def open_files(self, paths) -> list["DocumentTab"]:
        opened = []
        for path in paths:
            tab = self.open_path(path)
            if tab is not None:
                opened.append(tab)
        return opened

    @staticmethod
    def identity(session: DocumentSession) -> str | None:
        """The file a tab stands for: where it saves, else where it came from."""
        path = session.save_path or session.source_path
        return os.path.abspath(path) if path else None

    def find_open(self, path: str) -> "DocumentTab | None":
        path = os.path.abspath(path)
        return next((t for t in self.window.docs if self.identity(t.session) == path), None)

    def open_path(self, path) -> "DocumentTab | None":
        """Open a file in a tab. A failure is shown and leaves every open document untouched.

        Opening a file that is already open switches to it; if that tab has
        unsaved changes you choose: save them, discard them (reload from
        disk) or cancel.
        """
        window = self.window
        path = os.path.abspath(os.fspath(path))
        existing = self.find_open(path)
        if existing is not None:
            window.tabs.setCurrentWidget(existing.canvas)
            if not existing.session.modified:
                return existing
            choice = self.ask_unsaved(existing.session, "reopening it from disk")
            if choice == Button.Cancel or (choice == Button.Save and not self.save(existing)):
                return None
            if choice == Button.Save:
                return existing
        from ..io import open_document

        try:
            doc = open_document(path)
        except QilError as err:
            window.show_error(err, "Could not open the file")
            if not os.path.exists(path):
                self.settings.remove_recent(path)
            return None
        if existing is not None:  # discard chosen: replace the tab with the fresh copy
            window.remove_tab(existing)
        self.settings.add_recent(path)
        self.settings.last_folder = os.path.dirname(path)
        tab = window.add_document(doc, path=path)
        window.statusBar().showMessage(f"Opened {os.path.basename(path)}", 4000)
        if self.settings.decompose_on_open and len(doc) == 1:
            window.start_decomposition(self.settings.decompose_request(), tab)
        return tab

    # ----- saving ----------------------------------------------------------------------------
    def overwrite_losses(self, tab: "DocumentTab") -> list[str]:
        """What Ctrl+S over the tab's save file would flatten (empty: nothing, or already agreed)."""
        session = tab.session
        if session.overwrite_agreed or not session.save_path or not session.source_path:
            return []
        if os.path.abspath(session.save_path) != os.path.abspath(session.source_path):
            return []  # a file this editor wrote
        # asked each time: what would flatten depends on what the user changed since opening
        return [str(item) for item in session.doc.save_losses()]

    def save(self, tab: "DocumentTab | None" = None) -> bool:
        tab = tab or self.window.current
        if tab is None:
            return False
        if tab.session.save_path is None:
            return self.save_as(tab)
        losses = self.overwrite_losses(tab)
        if losses:
            choice = self.ask_overwrite(tab.session, losses)
            if choice == SAVE_AS_NEW:
                return self.save_as(tab, self._copy_name(tab))
            if choice != OVERWRITE:
                return False
            tab.session.overwrite_agreed = True
        return self.save_to(tab, tab.session.save_path)

    def _copy_name(self, tab: "DocumentTab") -> str:
        source = Path(tab.session.save_path)
        folder = source.parent if _good_save_folder(source.parent) else Path(self._save_folder(tab))
        candidate = folder / f"{source.stem} copy.psd"
        n = 2
        while candidate.exists():
            candidate = folder / f"{source.stem} copy {n}.psd"
            n += 1
        return str(candidate)

    def _save_folder(self, tab: "DocumentTab") -> str:
        """Where a save dialog starts: the document's folder when it is a fine place, else the
        last folder saved to, else the home folder (never the installation's samples)."""
        for candidate in (Path(tab.session.save_path).parent if tab.session.save_path else None,
                          self.settings.last_save_folder or None,
                          Path(tab.session.source_path).parent if tab.session.source_path else None):
            if _good_save_folder(candidate):
                return str(candidate)
        return str(Path.home())

    def suggested(self, tab: "DocumentTab", suffix: str) -> str:
        base = tab.session.save_path or tab.session.source_path
        stem = Path(base).stem if base else (Path(tab.session.display_name).stem or "Untitled")
        return str(Path(self._save_folder(tab)) / f"{stem}{suffix}")

    def save_as(self, tab: "DocumentTab | None" = None, suggested: str | None = None) -> bool:
        tab = tab or self.window.current
        if tab is None:
            return False
        path = self.window.ask_save_path("Save as PSD", suggested or self.suggested(tab, ".psd"), PSD_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() not in (".psd", ".psb"):
            path += ".psd"
        from ..io import is_psd

        source = tab.session.source_path
        if source and is_psd(source) and os.path.abspath(path) == os.path.abspath(source):
            tab.session.save_path = path  # onto the original: the same question as Ctrl+S
            return self.save(tab)
        return self.save_to(tab, path)

    def save_to(self, tab: "DocumentTab", path: str) -> bool:
        from ..io import save_psd

        window = self.window
        window.setCursor(Qt.CursorShape.WaitCursor)
        try:
            save_psd(tab.session.doc, path)
        except QilError as err:
            window.show_error(err, "Could not save")
            return False
        finally:
            window.unsetCursor()
        tab.session.set_saved(path)
        window.recovery.discard(tab.session.id)
        self.settings.add_recent(os.path.abspath(path))
        self.settings.last_save_folder = os.path.dirname(os.path.abspath(path))
        self.settings.last_folder = self.settings.last_save_folder
        window.statusBar().showMessage(f"Saved {os.path.basename(path)}", 4000)
        return True

    # ----- export ------------------------------------------------------------------------------
    def _export(self, title: str, suffix: str, file_filter: str, func) -> bool:
        window = self.window
        tab = window.current
        if tab is None:
            return False
        if suffix == "/":
            from PySide6.QtWidgets import QFileDialog  # its type is made on first use

            path = QFileDialog.getExistingDirectory(window, title, self._save_folder(tab))
        else:
            path = window.ask_save_path(title, self.suggested(tab, suffix), file_filter)
        if not path:
            return False
        try:
            func(tab.session.doc, path)
        except QilError as err:
            window.show_error(err, "Could not export")
            return False
        self.settings.last_save_folder = os.path.dirname(os.path.abspath(path)) if suffix != "/" \
            else os.path.abspath(path)
        window.statusBar().showMessage(f"Exported to {path}", 4000)
        return True

    def export_layers_png(self) -> bool:
        from ..io import export_layers_png

        return self._export("Export layers as PNG files into a folder", "/", "", export_layers_png)

    def export_layers_zip(self) -> bool:
        from ..io import export_layers_zip

        return self._export("Export layers as a ZIP of PNGs", ".zip", "ZIP archive (*.zip)", export_layers_zip)

    def export_flat(self) -> bool:
        from ..io import export_flat_png

        return self._export("Export flattened PNG", ".png", "PNG image (*.png)", export_flat_png)

    def ask_export_path(self, title: str, suggested: str, filters: str, selected: str) -> tuple[str, str]:
        """The export dialog: (path, the filter chosen). Its own method so tests can answer it."""
        from PySide6.QtWidgets import QFileDialog

        path, chosen = QFileDialog.getSaveFileName(self.window, title, suggested, filters, selected)
        return path, chosen

    def export_as(self) -> bool:
        """File > Export As…: any format of the table (OpenRaster first, the open layered one).

        A name without a known extension gets the chosen filter's. What the
        format could not hold (blend modes, masks...) is listed afterwards.
        """
        from ..io import formats
        from ..io.export import export_document

        window = self.window
        tab = window.current
        if tab is None:
            return False
        ora = formats.by_key("ora")
        path, chosen = self.ask_export_path("Export as", self.suggested(tab, ora.extensions[0]),
                                            formats.export_filters(), ora.filter)
        if not path:
            return False
        picked = formats.format_for_filter(chosen)
        if formats.format_for_path(path) is None and picked is not None:
            path = formats.with_extension(path, picked)
        try:
            result = export_document(tab.session.doc, path)
        except QilError as err:
            window.show_error(err, "Could not export")
            return False
        self.settings.last_save_folder = os.path.dirname(os.path.abspath(path))
        name = os.path.basename(path)
        if result.warnings:
            self._show_export_changes(name, formats.by_key(result.kind).label, result.warnings)
        window.statusBar().showMessage(f"Exported to {path}", 4000)
        return True

    def _show_export_changes(self, name: str, label: str, warnings: list[str]) -> None:
        """Say what the export baked or dropped, layer by layer (never silently)."""
        window = self.window
        text = f"{name} was exported; {label} cannot hold everything in this document."
        details = "\n".join(f"• {w}" for w in warnings)
        log.info("%s %s", text, details)
        if window.error_sink is not None:  # batch runs report instead of asking
            window.error_sink("Exported with changes", text, details)
            return
        box = QMessageBox(QMessageBox.Icon.Information, "Exported with changes", text, Button.Ok, window)
        box.setObjectName("exportChangesBox")
        box.setInformativeText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.open()  # window-modal, not blocking

    # ----- recent files and drops -----------------------------------------------------------------
    def fill_recent_menu(self, menu) -> None:
        menu.clear()
        files = self.settings.recent_files
        names = [os.path.basename(p) for p in files]
        for path, name in zip(files, names):
            if names.count(name) > 1:  # several "src.psd": which folder each is in
                name = f"{name} — {os.path.basename(os.path.dirname(path))}"
            action = menu.addAction(name.replace("&", "&&"))  # no mnemonic from a file name
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)

    @staticmethod
    def dropped_paths(mime) -> list[str]:
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []

    # ----- recovery ------------------------------------------------------------------------------
    def offer_recovery(self) -> list["DocumentTab"]:
        """After a crash: offer the documents an earlier run left unsaved."""
        window = self.window
        entries = window.recovery.orphans()
        if not entries:
            return []
        names = "\n".join(f"• {e.name}" for e in entries)
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"QIL Editor did not close properly last time. Recover these documents?\n{names}",
                          Button.Yes | Button.Discard, window)
        box.button(Button.Yes).setText("Recover")
        box.setDefaultButton(Button.Yes)
        answer = Button(box.exec())
        restored = []
        for entry in entries:
            if answer == Button.Yes:
                try:
                    doc = window.recovery.load(entry)
                except QilError as err:
                    window.show_error(err, "Could not recover a document")
                    continue
                doc.path = None
                tab = window.add_document(doc, path=None, name=f"{Path(entry.name).stem} (recovered)",
                                          modified=True)
                tab.session.source_path = entry.source_path
                restored.append(tab)
            window.recovery.remove(entry)
        return restored


__all__ = ["FileWorkflow", "OPEN_FILTER", "OVERWRITE", "PSD_FILTER", "SAVE_AS_NEW", "is_psd"]

"""The main window: documents in tabs, Layers and History docks, menus, status bar.

The window wires things together and owns the file workflow (open, save,
unsaved-changes prompts, recovery); editing lives in DocumentSession and
drawing in CanvasView. Decomposition runs as an asyncio task on the qasync
loop that awaits a QThread job, so the UI never blocks on an engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (QDialog, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QStackedWidget, QTabWidget, QToolBar, QUndoView, QVBoxLayout,
                               QWidget)

from ..document import Document, composite
from ..engines.base import EngineRegistry, default_registry
from ..errors import CancelledError, QilError
from ..io import (export_flat_png, export_layers_png, export_layers_zip, is_psd, open_document,
                  save_psd)
from .canvas import CanvasView
from .decompose_dialog import DecomposeDialog
from .icons import app_icon, icon
from .job_status import JobStatus
from .layer_model import LayerListModel
from .layer_panel import LayerPanel
from .recolor_dialog import RecolorDialog
from .recovery import RecoveryStore
from .session import DocumentSession
from .settings import AppSettings
from .tasks import TaskRunner
from .thumbnails import ThumbnailCache
from .worker import DecomposeJob, DecomposeRequest

log = logging.getLogger(__name__)

APP_TITLE = "QIL Editor"
OPEN_FILTER = ("Images and PSD (*.psd *.psb *.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif);;"
               "All files (*)")
ENGINE_LABELS = {"qwen": "Qwen-Image-Layered (AI)", "classical": "Classical (fast, CPU)"}
Button = QMessageBox.StandardButton


@dataclass(eq=False)
class DocumentTab:
    session: DocumentSession
    canvas: CanvasView
    model: LayerListModel
    task: asyncio.Future | None = None  # the running decomposition, if any


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, data_dir: Path,
                 registry_factory: Callable[[], EngineRegistry] = default_registry, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.data_dir = Path(data_dir)
        self._registry_factory = registry_factory
        self._registry: EngineRegistry | None = None
        self._registry_lock = threading.Lock()
        self.docs: list[DocumentTab] = []
        self._async_tasks: set[asyncio.Future] = set()
        self.tasks = TaskRunner(2, self)
        self.thumbnails = ThumbnailCache(self.tasks, parent=self)
        self.recovery = RecoveryStore(self.data_dir / "recovery", self.tasks, self)
        self.undo_group = QUndoGroup(self)
        self.active_dialog: QDialog | None = None
        self.error_sink: Callable[[str, str, str], None] | None = None
        self.last_error: QilError | None = None  # the last error shown (batch runs report it)

        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("documents")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(lambda i: self.close_tab(self._tab_at(i)))
        self.tabs.currentChanged.connect(self._tab_changed)
        self.center = QStackedWidget()
        self.center.addWidget(self._welcome_page())
        self.center.addWidget(self.tabs)
        self.setCentralWidget(self.center)

        self.layer_panel = LayerPanel()
        self.layers_dock = QDockWidget("Layers", self)
        self.layers_dock.setObjectName("layersDock")
        self.layers_dock.setWidget(self.layer_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.layers_dock)
        self.undo_view = QUndoView(self.undo_group)
        self.undo_view.setEmptyLabel("Opened")
        self.history_dock = QDockWidget("History", self)
        self.history_dock.setObjectName("historyDock")
        self.history_dock.setWidget(self.undo_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.resizeDocks([self.layers_dock, self.history_dock], [520, 200], Qt.Orientation.Vertical)
        self.resizeDocks([self.layers_dock], [300], Qt.Orientation.Horizontal)

        self._build_status_bar()
        self._build_actions()
        self._build_menus_and_toolbar()

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(settings.autosave_seconds * 1000)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()
        self.resize(1400, 900)
        geometry, state = settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._tab_changed()

    # ===== construction ====================================================================
    def _welcome_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("welcome")
        layout = QVBoxLayout(page)
        art = QLabel()
        art.setPixmap(app_icon().pixmap(QSize(96, 96)))
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel("<h2>QIL Editor</h2><p>Open an image or a PSD (Ctrl+O), or drop files here.<br>"
                      "Decompose a flat picture into editable layers, then move, recolor and save "
                      "them as a PSD.</p>")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        layout.addStretch(1)
        layout.addWidget(art)
        layout.addWidget(text)
        layout.addStretch(2)
        return page

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_status = JobStatus()
        self.job_status.cancelRequested.connect(self.cancel_decomposition)
        self.pos_label = QLabel()
        self.size_label = QLabel()
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setMinimumWidth(60)
        for widget in (self.job_status, self.pos_label, self.size_label, self.zoom_label):
            bar.addPermanentWidget(widget)

    def _action(self, name: str, text: str, slot, shortcut=None, icon_name: str | None = None,
                tip: str | None = None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if icon_name:
            action.setIcon(icon(icon_name))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        a = self._action
        K = QKeySequence.StandardKey
        a("open", "&Open…", self.open_dialog, K.Open, "open", "Open an image or PSD")
        a("save", "&Save", self.save, K.Save, "save", "Save as PSD")
        a("save_as", "Save &As…", self.save_as, "Ctrl+Shift+S")
        a("export_png", "Export Layers as &PNG…", self.export_layers_png_dialog)
        a("export_zip", "Export Layers as &ZIP…", self.export_layers_zip_dialog)
        a("export_flat", "Export &Flattened PNG…", self.export_flat_dialog, "Ctrl+Shift+E", "export")
        a("close", "&Close", lambda: self.close_tab(self.current), K.Close)
        a("quit", "&Quit", self.close, K.Quit)
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        undo.setIcon(icon("undo"))
        undo.setObjectName("undo")
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setIcon(icon("redo"))
        redo.setObjectName("redo")
        for action in (undo, redo):
            self.addAction(action)
            self.actions_by_name[action.objectName()] = action
        a("preferences", "&Preferences…", self.preferences_dialog, "Ctrl+,", "settings")
        a("zoom_in", "Zoom &In", lambda: self._canvas_call("zoom_by", 1.25), ["Ctrl++", "Ctrl+="])
        a("zoom_out", "Zoom &Out", lambda: self._canvas_call("zoom_by", 0.8), "Ctrl+-")
        a("fit", "&Fit on Screen", lambda: self._canvas_call("fit"), "Ctrl+0", "zoom-fit")
        a("actual", "&100 %", lambda: self._canvas_call("actual_size"), "Ctrl+1", "zoom-actual")
        a("tool_move", "&Move Tool", lambda: self.set_tool("move"), "V", "move",
          "Move tool (V): click picks the topmost layer, drag moves it", checkable=True)
        a("tool_hand", "&Hand Tool", lambda: self.set_tool("hand"), "H", "hand",
          "Hand tool (H); hold Space or the middle button to pan with any tool", checkable=True)
        self.actions_by_name["tool_move"].setChecked(True)
        a("duplicate", "&Duplicate Layer", self._layer_op("duplicate"), "Ctrl+J", "duplicate",
          "Duplicate the current layer (Ctrl+J)")
        a("merge_down", "&Merge Down", self._layer_op("merge_down"), "Ctrl+E", "merge-down",
          "Merge the current layer into the one below (Ctrl+E)")
        a("delete", "De&lete Layer", self._layer_op("delete"), ["Delete", "Backspace"], "delete",
          "Delete the current layer")
        a("lock", "&Lock / Unlock Layer", self.toggle_lock, "Ctrl+/", "lock", "Lock or unlock the current layer")
        a("toggle_visible", "Show / &Hide Layer", self.toggle_visible)
        a("recolor", "&Recolor…", self.recolor_dialog, "Ctrl+U", "recolor",
          "Hue/saturation/lightness or colorize the current layer (Ctrl+U)")
        a("split", "&Split Layer…", lambda: self.decompose_dialog(layer=True), None, "split",
          "Decompose the current layer into more layers")
        # re-prompt (qil_editor/ui/reprompt_dialog.py)
        a("reprompt", "Re-&prompt…", self.reprompt_dialog, None, None,
          "Edit the current layer with a text prompt (Qwen-Image-Edit)")
        a("decompose", "&Decompose…", lambda: self.decompose_dialog(layer=False), "Ctrl+Shift+D",
          "decompose", "Decompose the image into layers")
        a("cancel_job", "&Cancel Decomposition", self.cancel_decomposition, None, "cancel")
        a("about", "&About QIL Editor", self.about)

    def _build_menus_and_toolbar(self) -> None:
        A = self.actions_by_name
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(A["open"])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        for name in ("save", "save_as"):
            file_menu.addAction(A[name])
        export = file_menu.addMenu("&Export")
        for name in ("export_png", "export_zip", "export_flat"):
            export.addAction(A[name])
        file_menu.addSeparator()
        file_menu.addAction(A["close"])
        file_menu.addAction(A["quit"])
        edit = menu.addMenu("&Edit")
        edit.addAction(A["undo"])
        edit.addAction(A["redo"])
        edit.addSeparator()
        edit.addAction(A["preferences"])
        view = menu.addMenu("&View")
        for name in ("zoom_in", "zoom_out", "fit", "actual"):
            view.addAction(A[name])
        view.addSeparator()
        view.addAction(self.layers_dock.toggleViewAction())
        view.addAction(self.history_dock.toggleViewAction())
        image = menu.addMenu("&Image")
        image.addAction(A["decompose"])
        image.addAction(A["cancel_job"])
        layer = menu.addMenu("&Layer")
        for name in ("duplicate", "merge_down", "delete", None, "toggle_visible", "lock", None,
                     "recolor", "split", "reprompt"):
            layer.addSeparator() if name is None else layer.addAction(A[name])
        tools = menu.addMenu("&Tools")
        tools.addAction(A["tool_move"])
        tools.addAction(A["tool_hand"])
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(A["about"])

        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setIconSize(QSize(20, 20))
        bar.setMovable(False)
        for name in ("open", "save", None, "undo", "redo", None, "tool_move", "tool_hand", None,
                     "decompose", "split", "recolor", None, "fit", "actual"):
            bar.addSeparator() if name is None else bar.addAction(A[name])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.layer_panel.add_actions([A["lock"], None, A["split"], A["recolor"], None,
                                      A["duplicate"], A["merge_down"], A["delete"]])

    # ===== documents ===========================================================================
    @property
    def current(self) -> DocumentTab | None:
        widget = self.tabs.currentWidget()
        return next((t for t in self.docs if t.canvas is widget), None)

    def _tab_at(self, index: int) -> DocumentTab | None:
        widget = self.tabs.widget(index)
        return next((t for t in self.docs if t.canvas is widget), None)

    def add_document(self, doc: Document, *, path: str | None = None, name: str | None = None,
                     modified: bool = False) -> DocumentTab:
        save_path = path if path is not None and is_psd(path) else None
        session = DocumentSession(doc, path=path, save_path=save_path, name=name, parent=self)
        canvas = CanvasView(session, self.tasks)
        model = LayerListModel(session, self.thumbnails, self)
        tab = DocumentTab(session, canvas, model)
        self.docs.append(tab)
        self.undo_group.addStack(session.stack)
        if modified:
            session.stack.resetClean()
        session.titleChanged.connect(self._update_titles)
        # bound methods, not lambdas: Qt drops these connections when the window goes
        session.refused.connect(self._show_status)
        session.currentLayerChanged.connect(self._update_actions)
        session.stack.indexChanged.connect(self._update_actions)
        canvas.zoomChanged.connect(self._zoom_changed)
        canvas.cursorMoved.connect(self._cursor_moved)
        canvas.set_tool("move" if self.actions_by_name["tool_move"].isChecked() else "hand")
        self.tabs.addTab(canvas, session.display_name)
        self.tabs.setCurrentWidget(canvas)
        self.center.setCurrentWidget(self.tabs)
        canvas.setFocus()
        self._update_titles()
        return tab

    def _tab_changed(self, *_args) -> None:
        tab = self.current
        if tab is None:
            self.layer_panel.set_session(None, None)
            self.undo_group.setActiveStack(None)
            self.size_label.clear()
            self.zoom_label.clear()
        else:
            self.undo_group.setActiveStack(tab.session.stack)
            self.layer_panel.set_session(tab.session, tab.model)
            self.size_label.setText(f"{tab.session.doc.width} × {tab.session.doc.height} px")
            self.zoom_label.setText(f"{tab.canvas.zoom * 100:.0f} %")
        self.center.setCurrentWidget(self.tabs if self.docs else self.center.widget(0))
        self._update_titles()
        self._update_job_ui()
        self._update_actions()

    def _zoom_changed(self, *_args) -> None:
        if self.current is not None:
            self.zoom_label.setText(f"{self.current.canvas.zoom * 100:.0f} %")

    def _cursor_moved(self, x: int, y: int) -> None:
        self.pos_label.setText(f"{x}, {y}")

    def _show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    def _update_titles(self) -> None:
        for i in range(self.tabs.count()):
            tab = self._tab_at(i)
            if tab is not None:
                name = tab.session.display_name
                self.tabs.setTabText(i, name + (" *" if tab.session.modified else ""))
                self.tabs.setTabToolTip(i, tab.session.save_path or tab.session.source_path or name)
        tab = self.current
        if tab is None:
            self.setWindowTitle(APP_TITLE)
            self.setWindowModified(False)
        else:
            self.setWindowTitle(f"{tab.session.display_name}[*] — {APP_TITLE}")
            self.setWindowModified(tab.session.modified)

    def _update_actions(self, *_args) -> None:
        tab = self.current
        has_doc = tab is not None
        layer = tab.session.current_layer if has_doc else None
        index = tab.session.doc.index_of(layer.id) if layer is not None else -1
        busy = has_doc and tab.session.job is not None
        A = self.actions_by_name
        for name in ("save", "save_as", "export_png", "export_zip", "export_flat", "close", "zoom_in",
                     "zoom_out", "fit", "actual"):
            A[name].setEnabled(has_doc)
        for name in ("duplicate", "delete", "lock", "toggle_visible", "recolor"):
            A[name].setEnabled(layer is not None)
        A["merge_down"].setEnabled(index > 0)
        A["decompose"].setEnabled(has_doc and not busy)
        A["split"].setEnabled(layer is not None and not busy)
        A["reprompt"].setEnabled(layer is not None and not busy)
        A["cancel_job"].setEnabled(busy)
        if layer is not None:
            A["lock"].setText("Un&lock Layer" if layer.locked else "&Lock Layer")
            A["lock"].setIcon(icon("unlock" if layer.locked else "lock"))

    def _canvas_call(self, method: str, *args) -> None:
        if self.current is not None:
            getattr(self.current.canvas, method)(*args)

    def set_tool(self, tool: str) -> None:
        self.actions_by_name["tool_move"].setChecked(tool == "move")
        self.actions_by_name["tool_hand"].setChecked(tool == "hand")
        for tab in self.docs:
            tab.canvas.set_tool(tool)

    def _layer_op(self, method: str):
        def run() -> None:
            tab = self.current
            if tab is not None:
                getattr(tab.session, method)(tab.session.current_layer_id)
        return run

    def toggle_lock(self) -> None:
        tab = self.current
        layer = tab.session.current_layer if tab else None
        if layer is not None:
            tab.session.set_locked(layer.id, not layer.locked)

    def toggle_visible(self) -> None:
        tab = self.current
        layer = tab.session.current_layer if tab else None
        if layer is not None:
            tab.session.set_visible(layer.id, not layer.visible)

    # ===== messages ==============================================================================
    def show_error(self, error: QilError | str, title: str = "QIL Editor", hint: str = "") -> None:
        message = error.message if isinstance(error, QilError) else str(error)
        hint = error.hint if isinstance(error, QilError) else hint
        log.warning("%s: %s %s", title, message, hint)
        self.last_error = error if isinstance(error, QilError) else QilError(message, hint)
        if self.error_sink is not None:  # batch runs (screenshot mode) report instead of asking
            self.error_sink(title, message, hint)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, Button.Ok, self)
        if hint:
            box.setInformativeText(hint)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.open()  # window-modal but not blocking: this may run inside an asyncio task

    def ask_unsaved(self, session: DocumentSession, action: str = "closing") -> Button:
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to “{session.display_name}” before {action}?",
                          Button.Save | Button.Discard | Button.Cancel, self)
        box.setInformativeText("If you don't save, your changes will be lost.")
        box.setDefaultButton(Button.Save)
        return Button(box.exec())

    def maybe_save(self, tab: DocumentTab, action: str = "closing") -> bool:
        """True when it is fine to drop the tab's unsaved state (saved, discarded or clean)."""
        if not tab.session.modified:
            return True
        self.tabs.setCurrentWidget(tab.canvas)
        choice = self.ask_unsaved(tab.session, action)
        if choice == Button.Save:
            return self.save(tab)
        return choice == Button.Discard

    # ===== files ===================================================================================
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open", self.settings.last_folder, OPEN_FILTER)
        self.open_files(paths)

    def open_files(self, paths) -> list[DocumentTab]:
        opened = []
        for path in paths:
            tab = self.open_path(path)
            if tab is not None:
                opened.append(tab)
        return opened

    def _find_open(self, path: str) -> DocumentTab | None:
        for tab in self.docs:
            for candidate in (tab.session.save_path, tab.session.source_path):
                if candidate and os.path.abspath(candidate) == path:
                    return tab
        return None

    def open_path(self, path) -> DocumentTab | None:
        """Open a file in a tab. A failure is shown and leaves every open document untouched.

        Opening a file that is already open switches to it; if that tab has
        unsaved changes you choose: save them, discard them (reload from
        disk) or cancel.
        """
        path = os.path.abspath(os.fspath(path))
        existing = self._find_open(path)
        if existing is not None:
            if not existing.session.modified:
                self.tabs.setCurrentWidget(existing.canvas)
                return existing
            self.tabs.setCurrentWidget(existing.canvas)
            choice = self.ask_unsaved(existing.session, "reopening it from disk")
            if choice == Button.Cancel or (choice == Button.Save and not self.save(existing)):
                return None
            if choice == Button.Save:
                return existing
        try:
            doc = open_document(path)
        except QilError as err:
            self.show_error(err, "Could not open the file")
            if not os.path.exists(path):
                self.settings.remove_recent(path)
            return None
        if existing is not None:  # discard chosen: replace the tab with the fresh copy
            self._remove_tab(existing)
        self.settings.add_recent(path)
        self.settings.last_folder = os.path.dirname(path)
        tab = self.add_document(doc, path=path)
        self.statusBar().showMessage(f"Opened {os.path.basename(path)}", 4000)
        if self.settings.decompose_on_open and len(doc) == 1:
            self.start_decomposition(self.settings.decompose_request(), tab)
        return tab

    def save(self, tab: DocumentTab | None = None) -> bool:
        tab = tab or self.current
        if tab is None:
            return False
        if tab.session.save_path is None:
            return self.save_as(tab)
        return self.save_to(tab, tab.session.save_path)

    def ask_save_path(self, title: str, suggested: str, file_filter: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        return path

    def _suggested(self, tab: DocumentTab, suffix: str) -> str:
        base = tab.session.save_path or tab.session.source_path
        if base:
            return str(Path(base).with_suffix(suffix))
        folder = self.settings.last_folder or str(Path.home())
        return str(Path(folder) / f"{Path(tab.session.display_name).stem or 'Untitled'}{suffix}")

    def save_as(self, tab: DocumentTab | None = None) -> bool:
        tab = tab or self.current
        if tab is None:
            return False
        path = self.ask_save_path("Save as PSD", self._suggested(tab, ".psd"), "Photoshop document (*.psd)")
        if not path:
            return False
        if Path(path).suffix.lower() not in (".psd", ".psb"):
            path += ".psd"
        return self.save_to(tab, path)

    def save_to(self, tab: DocumentTab, path: str) -> bool:
        self.setCursor(Qt.CursorShape.WaitCursor)
        try:
            save_psd(tab.session.doc, path)
        except QilError as err:
            self.show_error(err, "Could not save")
            return False
        finally:
            self.unsetCursor()
        tab.session.set_saved(path)
        self.recovery.discard(tab.session.id)
        self.settings.add_recent(os.path.abspath(path))
        self.statusBar().showMessage(f"Saved {os.path.basename(path)}", 4000)
        return True

    def _export(self, title: str, suffix: str, file_filter: str, func) -> bool:
        tab = self.current
        if tab is None:
            return False
        if suffix == "/":
            path = QFileDialog.getExistingDirectory(self, title, self.settings.last_folder)
        else:
            path = self.ask_save_path(title, self._suggested(tab, suffix), file_filter)
        if not path:
            return False
        try:
            func(tab.session.doc, path)
        except QilError as err:
            self.show_error(err, "Could not export")
            return False
        self.statusBar().showMessage(f"Exported to {path}", 4000)
        return True

    def export_layers_png_dialog(self) -> bool:
        return self._export("Export layers as PNG files into a folder", "/", "", export_layers_png)

    def export_layers_zip_dialog(self) -> bool:
        return self._export("Export layers as a ZIP of PNGs", ".zip", "ZIP archive (*.zip)", export_layers_zip)

    def export_flat_dialog(self) -> bool:
        return self._export("Export flattened PNG", ".png", "PNG image (*.png)", export_flat_png)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files
        for path in files:
            action = self.recent_menu.addAction(os.path.basename(path))
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(p))
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    # ----- drag and drop of files ---------------------------------------------------------------
    @staticmethod
    def _dropped_paths(mime) -> list[str]:
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = self._dropped_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_files(paths)

    # ----- closing ----------------------------------------------------------------------------------
    def _remove_tab(self, tab: DocumentTab) -> None:
        if tab.session.job is not None:
            tab.session.job.cancel()
            tab.session.job.wait()
        index = self.tabs.indexOf(tab.canvas)
        self.docs.remove(tab)
        if self.layer_panel.session is tab.session:
            self.layer_panel.set_session(None, None)
        self.undo_group.removeStack(tab.session.stack)
        tab.model.detach()
        tab.canvas.close_canvas()
        tab.session.close()
        self.recovery.discard(tab.session.id)
        self.tabs.removeTab(index)
        tab.canvas.deleteLater()
        tab.model.deleteLater()
        tab.session.deleteLater()
        self._tab_changed()

    def close_tab(self, tab: DocumentTab | None) -> bool:
        if tab is None:
            return False
        if not self.maybe_save(tab):
            return False
        self._remove_tab(tab)
        return True

    def discard_all(self) -> None:
        """Close every document without asking (batch runs that saved what they needed)."""
        for tab in list(self.docs):
            self._remove_tab(tab)

    def closeEvent(self, event) -> None:  # noqa: N802
        for tab in list(self.docs):
            if not self.maybe_save(tab, "quitting"):
                event.ignore()
                return
        for tab in list(self.docs):
            self._remove_tab(tab)
        self.autosave_timer.stop()
        self.tasks.wait()
        self.recovery.close()
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        event.accept()

    # ===== autosave and recovery ======================================================================
    def autosave_now(self) -> None:
        for tab in self.docs:
            self.recovery.save(tab.session)

    def offer_recovery(self) -> list[DocumentTab]:
        """After a crash: offer the documents an earlier run left unsaved."""
        entries = self.recovery.orphans()
        if not entries:
            return []
        names = "\n".join(f"• {e.name}" for e in entries)
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"QIL Editor did not close properly last time. Recover these documents?\n{names}",
                          Button.Yes | Button.Discard, self)
        box.button(Button.Yes).setText("Recover")
        box.setDefaultButton(Button.Yes)
        answer = Button(box.exec())
        restored = []
        for entry in entries:
            if answer == Button.Yes:
                try:
                    doc = self.recovery.load(entry)
                except QilError as err:
                    self.show_error(err, "Could not recover a document")
                    continue
                doc.path = None
                tab = self.add_document(doc, path=None, name=f"{Path(entry.name).stem} (recovered)",
                                        modified=True)
                tab.session.source_path = entry.source_path
                restored.append(tab)
            self.recovery.remove(entry)
        return restored

    # ===== decomposition ================================================================================
    def _build_registry(self) -> EngineRegistry:
        with self._registry_lock:
            if self._registry is None:
                self._registry = self._registry_factory()
            return self._registry

    @property
    def registry(self) -> EngineRegistry:
        """The engines, built once (thread-safe). Building imports the engine modules
        (scikit-image, scipy: about a second), so UI code awaits :meth:`registry_async`
        and decomposition jobs resolve through :meth:`resolve` on their worker thread."""
        return self._registry if self._registry is not None else self._build_registry()

    def resolve(self, name: str, options):
        """Registry stand-in for :class:`DecomposeJob`: builds the registry on the worker."""
        return self.registry.resolve(name, options)

    async def registry_async(self) -> EngineRegistry:
        if self._registry is not None:
            return self._registry
        return await self.tasks.future(self._build_registry)

    def prefetch_engines(self) -> None:
        """Import the engine modules in the background while the user looks at the window."""
        if self._registry is None:
            self.tasks.submit(self._build_registry, callback=self._prefetched)

    def _prefetched(self, _registry, error) -> None:
        if error is not None:
            log.warning("the decomposition engines could not be loaded: %s", error)

    @staticmethod
    def engine_choices(registry: EngineRegistry) -> list[tuple[str, str]]:
        return [(name, ENGINE_LABELS.get(name, name.title())) for name in registry.names]

    def decompose_dialog(self, layer: bool = False) -> asyncio.Future | None:
        return self.spawn(self._decompose_dialog(layer))

    def dialog_result(self, dialog: QDialog) -> asyncio.Future:
        """Open a dialog window-modally and get its result code without a nested event loop
        (``exec`` inside an asyncio task would let other tasks run re-entrantly). The caller
        deletes the dialog once it has read what it needs."""
        future = asyncio.get_event_loop().create_future()

        def finished(code: int) -> None:
            if self.active_dialog is dialog:
                self.active_dialog = None
            if not future.done():
                future.set_result(int(code))

        dialog.finished.connect(finished)
        self.active_dialog = dialog
        dialog.open()
        return future

    def spawn(self, coro) -> asyncio.Future:
        """Run a coroutine on the qasync loop; its errors reach the error dialog."""
        task = asyncio.ensure_future(coro)
        self._async_tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    async def _decompose_dialog(self, layer: bool) -> None:
        tab = self.current
        if tab is None:
            return
        layer_id = tab.session.current_layer_id if layer else None
        if layer and not tab.session.check_editable(layer_id, "split"):
            return
        target = f"the layer “{tab.session.current_layer.name}”" if layer else "the image"
        registry = await self.registry_async()
        if tab not in self.docs:
            return
        dialog = DecomposeDialog(self.settings.decompose_request(), self.engine_choices(registry),
                                 target=target, parent=self)
        accepted = await self.dialog_result(dialog) == QDialog.DialogCode.Accepted.value
        request = dialog.request()
        dialog.deleteLater()  # only now: the request was read from its widgets
        if not accepted:
            return
        self.settings.remember_request(request)
        self.start_decomposition(request, tab, layer_id)

    def start_decomposition(self, request: DecomposeRequest, tab: DocumentTab | None = None,
                            layer_id: str | None = None) -> asyncio.Future | None:
        """Start a job for the tab (the whole image, or one layer); returns the asyncio task."""
        tab = tab or self.current
        if tab is None:
            return None
        if tab.session.job is not None or (tab.task is not None and not tab.task.done()):
            self.statusBar().showMessage("A decomposition is already running for this document.", 5000)
            return None
        task = self.spawn(self._decompose(tab, request, layer_id))
        tab.task = task
        return task

    def _task_done(self, task: asyncio.Future) -> None:
        self._async_tasks.discard(task)
        for tab in self.docs:
            if tab.task is task:
                tab.task = None
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            sys.excepthook(type(exc), exc, exc.__traceback__)

    async def _decompose(self, tab: DocumentTab, request: DecomposeRequest, layer_id: str | None) -> bool:
        session = tab.session
        if layer_id is not None:
            image = session.doc.layer(layer_id).pixels
        elif len(session.doc) == 1 and session.doc.layers[0].bbox == (0, 0, *session.doc.size) \
                and session.doc.layers[0].visible and session.doc.layers[0].opacity == 1.0:
            image = session.doc.layers[0].pixels
        else:
            image = await self.tasks.future(composite, session.doc.copy())
        if tab not in self.docs:
            return False
        remove_ids = [ly.id for ly in session.doc.layers]
        job = DecomposeJob(self, request, image, self)  # the registry is built on the worker
        session.job = job
        job.progress.connect(self._update_job_ui)
        self._update_job_ui()
        self._update_actions()
        try:
            result = await job.start()
        except CancelledError:
            self.statusBar().showMessage("Decomposition cancelled; the document is unchanged.", 5000)
            return False
        except QilError as err:
            self.show_error(err, "Decomposition failed")
            return False
        finally:
            session.job = None
            self._update_job_ui()
            self._update_actions()
        if tab not in self.docs:
            return False
        if layer_id is not None and layer_id not in {ly.id for ly in session.doc.layers}:
            self.statusBar().showMessage("The layer was deleted meanwhile; nothing was changed.", 5000)
            return False
        session.replace_with_decomposition(result, layer_id, remove_ids)
        self.statusBar().showMessage(f"Decomposed into {len(result)} layers.", 5000)
        return True

    def cancel_decomposition(self, tab: DocumentTab | None = None) -> None:
        tab = tab or self.current
        if tab is not None and tab.session.job is not None:
            tab.session.job.cancel()
            self.job_status.label.setText("Cancelling…")

    def _update_job_ui(self, *_args) -> None:
        current = self.current
        job = current.session.job if current is not None else None
        if job is None:
            self.job_status.clear()
        else:
            self.job_status.show_progress(job.last_progress,
                                          ENGINE_LABELS.get(job.request.engine, job.request.engine))

    # ===== dialogs =======================================================================================
    def reprompt_dialog(self):
        """Layer > Re-prompt… (the dialog module owns the editor, the job and the preview)."""
        from .reprompt_dialog import open_reprompt

        return open_reprompt(self)

    def recolor_dialog(self) -> RecolorDialog | None:
        tab = self.current
        if tab is None or not tab.session.check_editable(tab.session.current_layer_id, "recolor"):
            return None
        dialog = RecolorDialog(tab.session, tab.session.current_layer_id, tab.canvas, self.tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.finished.connect(lambda _r: setattr(self, "active_dialog", None))
        self.active_dialog = dialog
        dialog.open()
        return dialog

    def preferences_dialog(self) -> asyncio.Future:
        return self.spawn(self._preferences_dialog())

    async def _preferences_dialog(self) -> None:
        from .settings_dialog import SettingsDialog

        registry = await self.registry_async()
        dialog = SettingsDialog(self.settings, self.engine_choices(registry), self)
        accepted = await self.dialog_result(dialog) == QDialog.DialogCode.Accepted.value
        dialog.deleteLater()
        if accepted:
            self.autosave_timer.setInterval(self.settings.autosave_seconds * 1000)

    def about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About QIL Editor",
                          f"<h3>QIL Editor {__version__}</h3><p>Decompose flat images into editable "
                          "RGBA layers, edit them and save a layered PSD.</p>")

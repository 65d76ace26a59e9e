"""The main window: documents in tabs, Layers and History docks, menus, status bar.

The window builds the widgets and actions and wires them to controllers:
:class:`FileWorkflow` (open, save, export, recovery), :class:`DecompositionJobs`
(engines, runs, job status) and :class:`LayerActions` (the Layer menu).
Editing lives in DocumentSession, drawing and canvas tools in CanvasView.
Every action has a stable ``objectName`` (``action`` + CamelCase name) for
UI automation and accessibility tools.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (QDialog, QDockWidget, QLabel, QMainWindow, QMessageBox,
                               QStackedWidget, QTabWidget, QToolBar, QVBoxLayout,
                               QWidget)

from ..errors import QilError
from .canvas_keys import CanvasKeys
from .decompose_jobs import ENGINE_LABELS, DecompositionJobs
from .file_workflow import FileWorkflow, open_filter
from .history_view import HistoryView
from .icons import app_icon, icon
from .job_status import JobStatus
from .layer_actions import LayerActions
from .layer_model import LayerListModel
from .layer_panel import LayerPanel
from .settings import AppSettings
from .tasks import TaskRunner
from .thumbnails import ThumbnailCache

if TYPE_CHECKING:  # pragma: no cover
    from ..document import Document
    from ..engines.base import EngineRegistry
    from .canvas import CanvasView  # imported with the first document (QGraphics* types: ~10 ms of the start)
    from .recovery import RecoveryStore
    from .session import DocumentSession
    from .worker import DecomposeRequest

log = logging.getLogger(__name__)

APP_TITLE = "QIL Editor"
REPROMPT_TIP = "Edit the current layer with a text prompt (Qwen-Image-Edit)"
Button = QMessageBox.StandardButton


def default_registry() -> EngineRegistry:
    """The engines' default registry; their module (and the document model it imports) loads
    when the registry is first built, not with the window (start-up)."""
    from ..engines.base import default_registry as engines_default

    return engines_default()


def _set_tip(action: QAction, tip: str) -> None:
    """Tooltip and status tip, with the action's shortcut in brackets."""
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    if keys and keys not in tip:
        tip = f"{tip} ({keys})"
    action.setToolTip(tip)
    action.setStatusTip(tip)


def action_object_name(name: str) -> str:
    """``save_as`` -> ``actionSaveAs``: the stable objectName of an action."""
    return "action" + "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(eq=False)
class DocumentTab:
    session: DocumentSession
    canvas: CanvasView
    model: LayerListModel
    task: asyncio.Future | None = None  # the running decomposition, if any


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, data_dir: Path,
                 registry_factory: Callable[[], EngineRegistry] = default_registry, parent=None, *,
                 menus_later: bool = False) -> None:
        """``menus_later``: the menu bar shows its titles, but the menus' contents are built by
        :meth:`build_menus`, which the caller runs after the first frame (the editor's start-up:
        ~60 QMenu.addAction calls, ~4 ms), or at the latest when a menu is about to show. The
        actions, their shortcuts and the toolbars exist either way."""
        super().__init__(parent)
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.docs: list[DocumentTab] = []
        self._closing = False  # quitting, waiting for cancelled jobs to end
        self._async_tasks: set[asyncio.Future] = set()
        self.tasks = TaskRunner(2, self)
        self.thumbnails = ThumbnailCache(self.tasks, parent=self)
        self._recovery: RecoveryStore | None = None  # see the recovery property
        self.undo_group = QUndoGroup(self)
        self.active_dialog: QDialog | None = None
        self.error_sink: Callable[[str, str, str], None] | None = None
        self.last_error: QilError | None = None  # the last error shown (batch runs report it)
        self.files = FileWorkflow(self)
        self.jobs = DecompositionJobs(self, registry_factory)
        self.layer_actions = LayerActions(self)
        from .masks import MaskActions

        self.masks = MaskActions(self)  # layer masks, brush and eraser (ui/masks.py)

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
        self.undo_view = HistoryView(self.undo_group)
        self.undo_view.setEmptyLabel("Opened")
        self.history_dock = QDockWidget("History", self)
        self.history_dock.setObjectName("historyDock")
        self.history_dock.setWidget(self.undo_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.resizeDocks([self.layers_dock, self.history_dock], [520, 200], Qt.Orientation.Vertical)
        self.resizeDocks([self.layers_dock], [300], Qt.Orientation.Horizontal)

        self._build_status_bar()
        self._build_actions()
        self._build_menus_and_toolbar(menus_later)

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
        # Last: the application-wide key filter sees every event of every object, and the
        # window's own construction (layout, restoreState) sends ~100 (~3 ms of the start-up).
        self.canvas_keys = CanvasKeys(self, lambda: self.current.canvas if self.current is not None else None)

    # ===== construction ====================================================================
    def _welcome_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("welcome")
        layout = QVBoxLayout(page)
        art = QLabel()
        art.setPixmap(app_icon().pixmap(QSize(96, 96)))
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Plain-text labels (the title's size is in style.qss): a rich-text label costs ~5 ms
        # of the editor's start (Qt's HTML document machinery) for two lines.
        title = QLabel(APP_TITLE)
        title.setObjectName("welcomeTitle")
        text = QLabel("Open an image or a PSD (Ctrl+O), or drop files here.\n"
                      "Decompose a flat picture into editable layers, then move, recolor and save "
                      "them as a PSD.")
        for label in (title, text):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        layout.addStretch(1)
        layout.addWidget(art)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addStretch(2)
        return page

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_status = JobStatus()
        self.job_status.cancelRequested.connect(lambda: self.cancel_decomposition())
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
        action.setObjectName(action_object_name(name))
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if icon_name:
            action.setIcon(icon(icon_name))
        _set_tip(action, tip or text.replace("&", "").rstrip("…"))
        action.setCheckable(checkable)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        a = self._action
        K = QKeySequence.StandardKey
        F, L = self.files, self.layer_actions
        a("open", "&Open…", F.open_dialog, K.Open, "open", "Open an image or PSD")
        a("save", "&Save", lambda: F.save(), K.Save, "save", "Save as PSD")
        a("save_as", "Save &As…", lambda: F.save_as(), "Ctrl+Shift+S")
        a("export_as", "Export &As…", F.export_as, "Ctrl+Alt+Shift+W")  # OpenRaster, SVG, PowerPoint…
        a("export_png", "Export Layers as &PNG…", F.export_layers_png)
        a("export_zip", "Export Layers as &ZIP…", F.export_layers_zip)
        a("export_flat", "Export &Flattened PNG…", F.export_flat, "Ctrl+Shift+E", "export")
        a("close", "&Close", lambda: self.close_tab(self.current), K.Close)
        a("quit", "&Quit", self.close, K.Quit)
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        undo.setIcon(icon("undo"))
        undo.setObjectName(action_object_name("undo"))
        undo.triggered.disconnect()  # the group's own undo, replaced by:
        undo.triggered.connect(lambda checked=False: self._undo())
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setIcon(icon("redo"))
        redo.setObjectName(action_object_name("redo"))
        for name, action in (("undo", undo), ("redo", redo)):
            action.setToolTip(f"{name.title()} ({action.shortcut().toString()})")
            self.addAction(action)
            self.actions_by_name[name] = action
        a("preferences", "&Preferences…", self.preferences_dialog, "Ctrl+,", "settings")
        a("zoom_in", "Zoom &In", lambda: self._canvas_call("zoom_by", 1.25), ["Ctrl++", "Ctrl+="])
        a("zoom_out", "Zoom &Out", lambda: self._canvas_call("zoom_by", 0.8), "Ctrl+-")
        a("fit", "&Fit on Screen", lambda: self._canvas_call("fit"), "Ctrl+0", "zoom-fit")
        a("actual", "&100 %", lambda: self._canvas_call("actual_size"), "Ctrl+1", "zoom-actual")
        a("tool_move", "&Move Tool", lambda: self.set_tool("move"), "V", "move",
          "Move tool (V): a drag moves the selected layer; Ctrl-click (or Auto-Select) picks the layer "
          "under the cursor", checkable=True)
        a("tool_hand", "&Hand Tool", lambda: self.set_tool("hand"), "H", "hand",
          "Hand tool (H); hold Space or the middle button to pan with any tool", checkable=True)
        self.actions_by_name["tool_move"].setChecked(True)
        a("snap", "S&nap", self._snap_toggled, "Ctrl+Shift+;", None,
          "Snap moved layers to the canvas edges and centre and to other layers' edges and centres",
          checkable=True)
        self.actions_by_name["snap"].setChecked(True)
        a("auto_select", "&Auto-Select Layer", self._auto_select_toggled, None, "auto-select",
          "Auto-Select: the move tool picks the layer under the cursor (off: it moves the selected "
          "layer; Ctrl-click picks once)", checkable=True)
        a("duplicate", "&Duplicate Layer", L.op("duplicate"), "Ctrl+J", "duplicate",
          "Duplicate the current layer")
        a("merge_down", "&Merge Down", L.merge, "Ctrl+E", "merge-down",
          "Merge the current layer into the one below, or the selected layers into one")
        a("delete", "De&lete Layer", L.delete, ["Delete", "Backspace"], "delete",
          "Delete the selected layers")
        a("free_transform", "Free &Transform", lambda: self._canvas_call("begin_transform"), "Ctrl+T", None,
          "Scale, rotate and flip the current layer with handles; Enter applies, Esc cancels")
        a("apply_transform", "Apply Transform", lambda: self._canvas_call("apply_transform"),
          ["Return", "Enter"], None, "Apply the free transform")
        a("cancel_transform", "Cancel Transform", lambda: self._canvas_call("cancel_transform"), "Esc", None,
          "Leave the free transform without changing the layer")
        a("flip_horizontal", "Flip &Horizontal", lambda: self._canvas_call("flip", True), None, None,
          "Mirror the current layer left to right (inside a free transform: the box)")
        a("flip_vertical", "Flip &Vertical", lambda: self._canvas_call("flip", False), None, None,
          "Mirror the current layer top to bottom (inside a free transform: the box)")
        a("new_layer", "&New Layer", L.new_layer, "Ctrl+Shift+N", None,
          "A new empty layer above the current one")
        a("copy", "&Copy Layer", L.copy, K.Copy, None, "Copy the current layer's pixels")
        a("paste_as_layer", "&Paste as Layer", L.paste, K.Paste, None,
          "Paste the clipboard's image as a new layer")
        a("group_layers", "&Group Layers", L.group, "Ctrl+G", "group",
          "Put the selected layers and groups into a new group")
        a("ungroup_layers", "&Ungroup Layers", L.ungroup, "Ctrl+Shift+G", "ungroup",
          "Dissolve the selected group; its layers stay where they are")
        for mode, text in (("left", "Left Edges"), ("hcenter", "Horizontal Centres"), ("right", "Right Edges"),
                           ("top", "Top Edges"), ("vcenter", "Vertical Centres"), ("bottom", "Bottom Edges")):
            a(f"align_{mode}", f"Align {text}", lambda m=mode: L.align(m), None, None,
              f"Align the {text.lower()} of the selected layers (one layer: to the canvas)")
        a("distribute_horizontally", "Distribute &Horizontally", lambda: L.distribute("horizontal"), None, None,
          "Space three or more selected layers evenly from left to right")
        a("distribute_vertically", "Distribute &Vertically", lambda: L.distribute("vertical"), None, None,
          "Space three or more selected layers evenly from top to bottom")
        a("lock", "&Lock / Unlock Layer", L.toggle_lock, "Ctrl+/", "lock", "Lock or unlock the current layer")
        a("toggle_visible", "Show / &Hide Layer", L.toggle_visible)
        a("recolor", "&Recolor…", L.recolor_dialog, "Ctrl+U", "recolor",
          "Hue/saturation/lightness or colorize the current layer")
        a("split", "&Split Layer…", lambda: self.decompose_dialog(layer=True), None, "split",
          "Decompose the current layer into more layers")
        # re-prompt (qil_editor/ui/reprompt_dialog.py)
        a("reprompt", "Re-&prompt…", L.reprompt_dialog, None, None, REPROMPT_TIP)
        a("decompose", "&Decompose…", lambda: self.decompose_dialog(layer=False), "Ctrl+Shift+D",
          "decompose", "Decompose the image into layers")
        a("cancel_job", "&Cancel Decomposition", lambda: self.cancel_decomposition(), None, "cancel")
        a("about", "&About QIL Editor", self.about)
        self.masks.build_actions()

    #: the menu bar's menus, left to right
    MENU_TITLES = ("&File", "&Edit", "&View", "&Image", "&Layer", "&Tools", "&Help")

    def _build_menus_and_toolbar(self, menus_later: bool = False) -> None:
        A = self.actions_by_name
        bar_menu = self.menuBar()
        self.menus = {title: bar_menu.addMenu(title) for title in self.MENU_TITLES}
        self._menus_built = False
        self._menus_waiting = menus_later  # connected to the menus' aboutToShow

        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setIconSize(QSize(20, 20))
        bar.setMovable(False)
        for name in ("open", "save", None, "undo", "redo", None, "tool_move", "auto_select", "tool_hand", None,
                     "decompose", "split", "recolor", None, "fit", "actual"):
            bar.addSeparator() if name is None else bar.addAction(A[name])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.masks.build_toolbar(bar)
        self.layer_panel.add_actions([A["lock"], None, A["split"], A["recolor"], None,
                                      A["duplicate"], A["merge_down"], A["delete"]])
        # right-click in the layer list: the group actions first, then the mask actions
        view = self.layer_panel.view
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        separator = QAction(view)
        separator.setSeparator(True)
        view.insertActions(view.actions()[0] if view.actions() else None,
                           [A["group_layers"], A["ungroup_layers"], A["delete"], separator])
        if menus_later:
            for menu in self.menus.values():
                menu.aboutToShow.connect(self.build_menus)
        else:
            self.build_menus()

    def build_menus(self) -> None:
        """Fill the menu bar's menus (once; see ``menus_later``)."""
        if self._menus_built:
            return
        self._menus_built = True
        A = self.actions_by_name
        file_menu, edit, view, image, layer, tools, help_menu = self.menus.values()
        file_menu.addAction(A["open"])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        for name in ("save", "save_as"):
            file_menu.addAction(A[name])
        export = file_menu.addMenu("&Export")
        for name in ("export_as", "export_png", "export_zip", "export_flat"):
            export.addAction(A[name])
        file_menu.addSeparator()
        file_menu.addAction(A["close"])
        file_menu.addAction(A["quit"])
        edit.addAction(A["undo"])
        edit.addAction(A["redo"])
        edit.addSeparator()
        edit.addAction(A["copy"])
        edit.addAction(A["paste_as_layer"])
        edit.addSeparator()
        edit.addAction(A["preferences"])
        for name in ("zoom_in", "zoom_out", "fit", "actual"):
            view.addAction(A[name])
        view.addSeparator()
        view.addAction(A["snap"])
        view.addSeparator()
        view.addAction(self.layers_dock.toggleViewAction())
        view.addAction(self.history_dock.toggleViewAction())
        image.addAction(A["decompose"])
        image.addAction(A["cancel_job"])
        for name in ("new_layer", "duplicate", "merge_down", "delete", None, "group_layers", "ungroup_layers",
                     None, "toggle_visible", "lock", None,
                     "recolor", "split", "reprompt", None):
            layer.addSeparator() if name is None else layer.addAction(A[name])
        transform = layer.addMenu("&Transform")
        for name in ("free_transform", "flip_horizontal", "flip_vertical", None, "apply_transform",
                     "cancel_transform"):
            transform.addSeparator() if name is None else transform.addAction(A[name])
        align = layer.addMenu("&Align")
        for name in ("align_left", "align_hcenter", "align_right", None, "align_top", "align_vcenter",
                     "align_bottom", None, "distribute_horizontally", "distribute_vertically"):
            align.addSeparator() if name is None else align.addAction(A[name])
        tools.addAction(A["tool_move"])
        tools.addAction(A["tool_hand"])
        tools.addSeparator()
        tools.addAction(A["auto_select"])
        help_menu.addAction(A["about"])
        self.masks.build_menus(layer, tools)
        if self._menus_waiting:
            self._menus_waiting = False
            for menu in self.menus.values():
                menu.aboutToShow.disconnect(self.build_menus)
        for sub in self.menuBar().findChildren(type(self.recent_menu)):
            sub.setToolTipsVisible(True)  # a disabled action's tooltip says why

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
        from ..io import is_psd  # file I/O loads with the first document, not with the window

        save_path = path if path is not None and is_psd(path) else None
        from .canvas import CanvasView
        from .session import DocumentSession

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
        session.currentLayerChanged.connect(self.update_actions)
        session.selectionChanged.connect(self.update_actions)
        session.stack.indexChanged.connect(self.update_actions)
        canvas.zoomChanged.connect(self._zoom_changed)
        canvas.toolChanged.connect(self.update_actions)
        canvas.cursorMoved.connect(self._cursor_moved)
        self.masks.attach(tab)
        canvas.set_tool(next((t for t in ("move", "hand", "brush", "eraser")
                              if self.actions_by_name[f"tool_{t}"].isChecked()), "move"))
        canvas.auto_select = self.actions_by_name["auto_select"].isChecked()
        canvas.snap = self.actions_by_name["snap"].isChecked()
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
        self.update_job_ui()
        self.update_actions()

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

    def update_actions(self, *_args) -> None:
        tab = self.current
        has_doc = tab is not None
        layer = tab.session.current_layer if has_doc else None
        index = tab.session.doc.index_of(layer.id) if layer is not None else -1
        busy = has_doc and tab.session.job is not None
        A = self.actions_by_name
        for name in ("save", "save_as", "export_as", "export_png", "export_zip", "export_flat", "close",
                     "zoom_in", "zoom_out", "fit", "actual"):
            A[name].setEnabled(has_doc)
        several = has_doc and len(tab.session.selected_ids) > 1
        for name in ("duplicate", "delete", "lock", "toggle_visible", "recolor", "copy"):
            A[name].setEnabled(layer is not None)
        group = tab.session.current_group if has_doc else None
        for name in ("delete", "toggle_visible", "duplicate"):  # a group row: these act on the group
            A[name].setEnabled(layer is not None or group is not None)
        # ...and say so (the panel's right-click menu shares these actions)
        what = "Group" if layer is None and group is not None else "Layer"
        A["duplicate"].setText(f"&Duplicate {what}")
        _set_tip(A["duplicate"], f"Duplicate the current {what.lower()}")
        A["delete"].setText(f"De&lete {what}")
        A["toggle_visible"].setText(f"Show / &Hide {what}")
        A["group_layers"].setEnabled(has_doc and bool(tab.session.selected_ids or tab.session.selected_group_ids))
        A["ungroup_layers"].setEnabled(has_doc and bool(tab.session.selected_group_ids or (
            layer is not None and layer.group is not None)))
        A["merge_down"].setEnabled(index > 0 or several)
        A["merge_down"].setText("&Merge Layers" if several else "&Merge Down")
        for name in ("new_layer", "paste_as_layer"):
            A[name].setEnabled(has_doc)
        for name in ("align_left", "align_hcenter", "align_right", "align_top", "align_vcenter", "align_bottom"):
            A[name].setEnabled(layer is not None or group is not None)  # a group aligns as one
        transforming = has_doc and tab.canvas.transforming
        A["free_transform"].setEnabled((layer is not None or group is not None) and not transforming)
        for name in ("flip_horizontal", "flip_vertical"):
            A[name].setEnabled(layer is not None or group is not None)
        for name in ("apply_transform", "cancel_transform"):
            A[name].setEnabled(transforming)
        for name in ("distribute_horizontally", "distribute_vertically"):
            A[name].setEnabled(has_doc and len(tab.session.selection_units()) >= 3)
        A["decompose"].setEnabled(has_doc and not busy)
        A["split"].setEnabled(layer is not None and not busy)
        # Checked once there is a layer to re-prompt: the check (on the task pool) imports the edit
        # engine and OpenCV, which an empty window, the start-up's first frame, does without.
        edit_model = self.layer_actions.reprompt_availability() if layer is not None else None
        A["reprompt"].setEnabled(layer is not None and not busy and edit_model.ok)
        A["reprompt"].setToolTip(REPROMPT_TIP if edit_model is None or edit_model.ok else
                                 "Re-prompt needs the Qwen-Image-Edit weights: choose their folder in "
                                 f"Edit > Preferences (Edit model). {edit_model.reason}")
        A["cancel_job"].setEnabled(busy)
        self.masks.update_actions(tab, layer)
        if layer is not None:
            A["lock"].setText("Un&lock Layer" if layer.locked else "&Lock Layer")
            A["lock"].setIcon(icon("unlock" if layer.locked else "lock"))

    def _undo(self) -> None:
        """Undo; inside a free transform it drops the transform (its handle drags are no steps
        yet) instead of undoing the step before it, under the box."""
        canvas = self.current.canvas if self.current is not None else None
        if canvas is not None and canvas.transforming:
            canvas.cancel_transform()
            return
        self.undo_group.undo()

    def _canvas_call(self, method: str, *args) -> None:
        if self.current is not None:
            getattr(self.current.canvas, method)(*args)

    def set_tool(self, tool: str) -> None:
        self.actions_by_name["tool_move"].setChecked(tool == "move")
        self.actions_by_name["tool_hand"].setChecked(tool == "hand")
        self.masks.tool_changed(tool)
        for tab in self.docs:
            tab.canvas.set_tool(tool)

    def _snap_toggled(self) -> None:
        on = self.actions_by_name["snap"].isChecked()
        for tab in self.docs:
            tab.canvas.snap = on

    def _auto_select_toggled(self) -> None:
        on = self.actions_by_name["auto_select"].isChecked()
        for tab in self.docs:
            tab.canvas.auto_select = on

    # ----- the Layer menu (LayerActions) -------------------------------------------------------------
    def toggle_lock(self) -> None:
        self.layer_actions.toggle_lock()

    def toggle_visible(self) -> None:
        self.layer_actions.toggle_visible()

    def recolor_dialog(self):
        return self.layer_actions.recolor_dialog()

    def reprompt_dialog(self):
        return self.layer_actions.reprompt_dialog()

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

    def ask_save_path(self, title: str, suggested: str, file_filter: str) -> str:
        from PySide6.QtWidgets import QFileDialog  # its type is made on first use (~2 ms of the start)

        path, _ = QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        return path

    def ask_open_paths(self) -> list[str]:
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, "Open", self.settings.last_folder, open_filter())
        return paths

    # ===== files (FileWorkflow) ======================================================================
    def ask_unsaved(self, session: DocumentSession, action: str = "closing") -> Button:
        return self.files.ask_unsaved(session, action)

    def maybe_save(self, tab: DocumentTab, action: str = "closing") -> bool:
        return self.files.maybe_save(tab, action)

    def open_dialog(self) -> list[DocumentTab]:
        return self.files.open_dialog()

    def open_files(self, paths) -> list[DocumentTab]:
        return self.files.open_files(paths)

    def open_path(self, path) -> DocumentTab | None:
        return self.files.open_path(path)

    def save(self, tab: DocumentTab | None = None) -> bool:
        return self.files.save(tab)

    def save_as(self, tab: DocumentTab | None = None) -> bool:
        return self.files.save_as(tab)

    def save_to(self, tab: DocumentTab, path: str) -> bool:
        return self.files.save_to(tab, path)

    def export_layers_png_dialog(self) -> bool:
        return self.files.export_layers_png()

    def export_layers_zip_dialog(self) -> bool:
        return self.files.export_layers_zip()

    def export_flat_dialog(self) -> bool:
        return self.files.export_flat()

    def _fill_recent_menu(self) -> None:
        self.files.fill_recent_menu(self.recent_menu)

    def offer_recovery(self) -> list[DocumentTab]:
        return self.files.offer_recovery()

    # ----- drag and drop of files ---------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self.files.dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        """Files dropped onto the open document's canvas become layers; elsewhere they open."""
        paths = self.files.dropped_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        tab = self.current
        if tab is not None:
            viewport = tab.canvas.viewport()
            local = viewport.mapFrom(self, event.position().toPoint())
            if viewport.rect().contains(local) and viewport.isVisible():
                self.layer_actions.add_files_as_layers(paths)
                return
        self.open_files(paths)

    # ----- closing ----------------------------------------------------------------------------------
    def remove_tab(self, tab: DocumentTab) -> None:
        """Take the tab out of the window now; a running job is cancelled and the document's
        objects are released when it has ended (never waited for on the UI thread)."""
        index = self.tabs.indexOf(tab.canvas)
        self.docs.remove(tab)
        if self.layer_panel.session is tab.session:
            self.layer_panel.set_session(None, None)
        self.undo_group.removeStack(tab.session.stack)
        tab.model.detach()
        tab.canvas.close_canvas()
        self.recovery.discard(tab.session.id)
        self.tabs.removeTab(index)
        job = tab.session.job
        if job is not None and job.running:
            job.cancel()
            job.ended.connect(lambda: self._release_tab(tab))
        else:
            self._release_tab(tab)
        self._tab_changed()

    def _release_tab(self, tab: DocumentTab) -> None:
        tab.session.close()
        tab.canvas.deleteLater()
        tab.model.deleteLater()
        tab.session.deleteLater()
        if self._closing and not self.running_jobs():
            QTimer.singleShot(0, self.close)

    _remove_tab = remove_tab  # older name

    def running_jobs(self) -> list:
        """Jobs still running (cancelled ones included) in this window."""
        from .worker import JobThread

        return [job for job in self.findChildren(JobThread) if job.running]

    def close_tab(self, tab: DocumentTab | None) -> bool:
        if tab is None:
            return False
        if not self.files.confirm_stop_job(tab) or not self.maybe_save(tab):
            return False
        self.remove_tab(tab)
        return True

    def discard_all(self) -> None:
        """Close every document without asking (batch runs that saved what they needed)."""
        for tab in list(self.docs):
            self.remove_tab(tab)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._closing:
            for tab in list(self.docs):
                if not self.files.confirm_stop_job(tab, "quitting") or not self.maybe_save(tab, "quitting"):
                    event.ignore()
                    return
            if self.active_dialog is not None:
                self.active_dialog.reject()  # a re-prompt dialog cancels its run
            for tab in list(self.docs):
                self.remove_tab(tab)
        jobs = self.running_jobs()
        if jobs:  # cancelled; the window closes itself when the last one has ended
            self._closing = True
            for job in jobs:
                job.cancel()
                job.ended.connect(self._job_ended_while_closing)
            self.statusBar().showMessage("Stopping the running job, then closing…")
            event.ignore()
            return
        self.autosave_timer.stop()
        self.canvas_keys.detach()
        self.tasks.wait()
        if self._recovery is not None:
            self._recovery.close()
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        event.accept()

    def _job_ended_while_closing(self) -> None:
        if self._closing and not self.running_jobs():
            QTimer.singleShot(0, self.close)

    # ===== autosave and recovery ======================================================================
    @property
    def recovery(self) -> RecoveryStore:
        """The autosave folder's store (and this instance's lock in it), made on first use: the
        editor's start-up offers recovery as soon as its event loop runs, which makes it; the
        empty window's first frame does without (~3 ms with its module)."""
        if self._recovery is None:
            from .recovery import RecoveryStore

            self._recovery = RecoveryStore(self.data_dir / "recovery", self.tasks, self)
        return self._recovery

    def autosave_now(self) -> None:
        for tab in self.docs:
            self.recovery.save(tab.session)

    # ===== decomposition (DecompositionJobs) ==============================================================
    @property
    def registry(self) -> EngineRegistry:
        return self.jobs.registry

    def resolve(self, name: str, options):
        return self.jobs.resolve(name, options)

    async def registry_async(self) -> EngineRegistry:
        return await self.jobs.registry_async()

    def prefetch_engines(self) -> None:
        self.jobs.prefetch()

    engine_choices = staticmethod(DecompositionJobs.engine_choices)

    def decompose_dialog(self, layer: bool = False) -> asyncio.Future | None:
        return self.spawn(self.jobs.dialog(layer))

    def start_decomposition(self, request: DecomposeRequest, tab: DocumentTab | None = None,
                            layer_id: str | None = None) -> asyncio.Future | None:
        """Start a job for the tab (the whole image, or one layer); returns the asyncio task."""
        return self.jobs.start(request, tab, layer_id)

    def cancel_decomposition(self, tab: DocumentTab | None = None) -> None:
        self.jobs.cancel(tab)

    def update_job_ui(self, *_args) -> None:
        self.jobs.update_status()

    _update_job_ui = update_job_ui  # the re-prompt dialog's older name
    _update_actions = update_actions

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

    def _task_done(self, task: asyncio.Future) -> None:
        self._async_tasks.discard(task)
        self.jobs.task_done(task)

    # ===== dialogs =======================================================================================
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
            self.layer_actions.forget_availability()
            from .remote_server import after_preferences

            after_preferences(self)
            self.update_actions()

    def about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About QIL Editor",
                          f"<h3>QIL Editor {__version__}</h3><p>Decompose flat images into editable "
                          "RGBA layers, edit them and save a layered PSD.</p>")

"""The Layers dock: blend mode and opacity of the current layer or group, the layer tree, layer buttons.

When a group row is the current row, the blend and opacity controls edit the
group (its blend mode may also be Pass Through, Photoshop's default for groups).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QPoint, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListView,
                               QSlider, QSpinBox, QToolBar, QVBoxLayout, QWidget)

from ..document import BlendMode
from .layer_delegate import LayerDelegate
from .layer_model import IsGroupRole, LayerListModel

if TYPE_CHECKING:  # pragma: no cover
    from .session import DocumentSession  # loads with the first document (start-up)

PASS_THROUGH = "pass-through"  # the blend box's data for a group's pass-through


class LayerListView(QListView):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("layerList")
        # Ctrl/Shift-click selects several layers (move, hide, delete, merge, align them together)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setDropIndicatorShown(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setUniformItemSizes(True)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.drop_line: int | None = None  # y of the drop indicator while a row is dragged
        self.drop_group_rect = None  # the group row a drag would drop into

    # the style's drop indicator is invisible on the dark theme: draw a bright line between rows
    def onto_group(self, pos: QPoint):
        """The group row a drop at ``pos`` goes into (its middle half), else an invalid index."""
        from PySide6.QtCore import QModelIndex

        index = self.indexAt(pos)
        if index.isValid() and index.data(IsGroupRole):
            rect = self.visualRect(index)
            if rect.top() + rect.height() // 4 <= pos.y() <= rect.bottom() - rect.height() // 4:
                return index
        return QModelIndex()

    def drop_y(self, pos: QPoint) -> int | None:
        """Where a dragged row would land, as the y of the gap between rows."""
        model = self.model()
        if model is None or model.rowCount() == 0:
            return None
        index = self.indexAt(pos)
        if not index.isValid():
            last = self.visualRect(model.index(model.rowCount() - 1, 0))
            return last.bottom() + 1 if pos.y() > last.bottom() else self.visualRect(model.index(0, 0)).top()
        rect = self.visualRect(index)
        return rect.top() if pos.y() < rect.center().y() else rect.bottom() + 1

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        super().dragMoveEvent(event)
        pos = event.position().toPoint()
        group = self.onto_group(pos) if event.isAccepted() else None
        self.drop_group_rect = self.visualRect(group) if group is not None and group.isValid() else None
        self.drop_line = self.drop_y(pos) if event.isAccepted() and self.drop_group_rect is None else None
        self.viewport().update()

    def dropEvent(self, event) -> None:  # noqa: N802
        """Drop between rows, or onto the middle of a group row (into the group, at its top)."""
        self.drop_line = None
        self.drop_group_rect = None
        self.viewport().update()
        model = self.model()
        pos = event.position().toPoint()
        if model is None or not model.canDropMimeData(event.mimeData(), Qt.DropAction.MoveAction, -1, 0,
                                                      self.rootIndex()):
            event.ignore()
            return
        group = self.onto_group(pos)
        if group.isValid():
            row, parent = -1, group
        else:
            from PySide6.QtCore import QModelIndex

            index = self.indexAt(pos)
            if index.isValid():
                rect = self.visualRect(index)
                row = index.row() if pos.y() < rect.center().y() else index.row() + 1
            else:
                row = model.rowCount()
            parent = QModelIndex()
        model.dropMimeData(event.mimeData(), Qt.DropAction.MoveAction, row, 0, parent)
        # the document events moved the rows: nothing for the drag source to remove
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self.drop_line = None
        self.drop_group_rect = None
        self.viewport().update()
        super().dragLeaveEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.drop_group_rect is not None:
            painter = QPainter(self.viewport())
            painter.setPen(QPen(QColor("#4aa3ff"), 2))
            painter.drawRect(self.drop_group_rect.adjusted(1, 1, -2, -2))
            painter.end()
        if self.drop_line is not None:
            painter = QPainter(self.viewport())
            painter.setPen(QPen(QColor("#4aa3ff"), 2))
            y = max(1, min(self.drop_line, self.viewport().height() - 1))
            painter.drawLine(2, y, self.viewport().width() - 2, y)
            painter.end()


class LayerPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: DocumentSession | None = None
        self.model: LayerListModel | None = None
        self._gesture: int | None = None
        self._updating = False
        self._syncing = False  # the view's selection is being set from the session

        self.blend = QComboBox()
        self.blend.setObjectName("blendMode")
        self.blend.addItem("Pass Through", PASS_THROUGH)  # groups only (disabled for layers)
        for mode in BlendMode:
            self.blend.addItem(mode.label, mode)
        self.blend.setToolTip("Blend mode of the current layer or group")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_spin = QSpinBox()
        self.opacity_spin.setRange(0, 100)
        self.opacity_spin.setSuffix(" %")
        self.opacity_spin.setToolTip("Opacity of the current layer or group")
        self.opacity_spin.setKeyboardTracking(False)  # typing "50" is one change, not "5" then "50"
        self.view = LayerListView()
        self.delegate = LayerDelegate(self.view)
        self.view.setItemDelegate(self.delegate)
        self.buttons = QToolBar()
        self.buttons.setIconSize(QSize(18, 18))
        self.buttons.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

        top = QHBoxLayout()
        top.addWidget(self.blend, 1)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity_slider, 1)
        opacity_row.addWidget(self.opacity_spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(opacity_row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)

        self.blend.activated.connect(self._blend_chosen)
        self.opacity_slider.sliderPressed.connect(self._start_gesture)
        self.opacity_slider.sliderReleased.connect(self._end_gesture)
        self.opacity_slider.valueChanged.connect(self._opacity_from_slider)
        self.opacity_spin.valueChanged.connect(self._opacity_from_spin)
        self.delegate.eyeClicked.connect(self._eye_clicked)
        self.delegate.lockClicked.connect(self._lock_clicked)
        self.delegate.disclosureClicked.connect(self._disclosure_clicked)
        self._refresh_controls()

    def add_actions(self, actions) -> None:
        for action in actions:
            if action is None:
                self.buttons.addSeparator()
            else:
                self.buttons.addAction(action)

    # ----- session switching ------------------------------------------------------------
    def set_session(self, session: DocumentSession | None, model: LayerListModel | None) -> None:
        if self.session is not None:
            self.session.currentLayerChanged.disconnect(self._select)
            self.session.selectionChanged.disconnect(self._sync_selection)
        if self.model is not None:
            self.model.dataChanged.disconnect(self._data_changed)
            self.model.rowsInserted.disconnect(self._rows_changed)
            self.model.rowsMoved.disconnect(self._rows_changed)
            self.model.modelReset.disconnect(self._rows_changed)
            self.model.layoutChanged.disconnect(self._rows_changed)
        self.session, self.model = session, model
        self.view.setModel(model)
        if session is not None and model is not None:
            session.currentLayerChanged.connect(self._select)
            session.selectionChanged.connect(self._sync_selection)
            model.dataChanged.connect(self._data_changed)
            model.rowsInserted.connect(self._rows_changed)
            model.rowsMoved.connect(self._rows_changed)
            model.modelReset.connect(self._rows_changed)
            model.layoutChanged.connect(self._rows_changed)
            self.view.selectionModel().currentChanged.connect(self._current_from_view)
            self.view.selectionModel().selectionChanged.connect(self._selection_from_view)
            self._select(session.current_layer_id)
            self._sync_selection()
        self._refresh_controls()

    def _select(self, layer_id, reveal: bool = True) -> None:
        if self.model is None:
            return
        if self.session is not None and self.session.current_group_id is not None:
            layer_id = self.session.current_group_id  # a group row is the current row
        if reveal:  # made current inside a collapsed group: open it, as Photoshop does
            self.model.reveal(layer_id)
        index = self.model.index_of_layer(layer_id)
        if index.isValid() and self.view.currentIndex() != index:
            chosen = (self.session.selected_ids + self.session.selected_group_ids) if self.session else []
            selected = layer_id in chosen and len(chosen) > 1
            flag = QItemSelectionModel.SelectionFlag
            self._syncing = True
            try:
                self.view.selectionModel().setCurrentIndex(index, flag.NoUpdate if selected else flag.ClearAndSelect)
            finally:
                self._syncing = False
            self.view.scrollTo(index)
        self._refresh_controls()

    def _sync_selection(self) -> None:
        """Show the session's selection in the list (it changes from the canvas, deletes...)."""
        if self.session is None or self.model is None:
            return
        from PySide6.QtCore import QItemSelection

        selection = QItemSelection()
        for layer_id in self.session.selected_ids + self.session.selected_group_ids:
            index = self.model.index_of_layer(layer_id)
            if index.isValid():
                selection.select(index, index)
        model = self.view.selectionModel()
        if set(model.selectedIndexes()) == set(selection.indexes()):
            return
        self._syncing = True
        try:
            model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._syncing = False

    def _selection_from_view(self, *_args) -> None:
        if self._syncing or self.session is None or self.model is None:
            return
        rows = self.view.selectionModel().selectedRows()
        ids = [lid for lid in (self.model.layer_id(i) for i in rows) if lid is not None]
        groups = [gid for gid in (self.model.group_id(i) for i in rows) if gid is not None]
        if ids or groups:
            current = self.model.layer_id(self.view.currentIndex())
            current_group = self.model.group_id(self.view.currentIndex())
            if current_group is None and current is None and not ids:
                current_group = groups[-1]
            self.session.set_selection(ids, current, groups=groups, current_group=current_group)

    def _rows_changed(self, *args) -> None:
        if self.session is not None:  # (collapsing the current layer's group leaves it closed)
            self._select(self.session.current_layer_id, reveal=False)

    def _current_from_view(self, current, previous) -> None:
        if self._syncing or self.session is None or self.model is None:
            return
        item = self.model.row_item(current)
        # A Ctrl/Shift press moves the current row first and changes the selection on release:
        # until the row is selected, leave the session's selection alone.
        if item is not None and self.view.selectionModel().isSelected(current):
            self._selection_from_view()
        self._refresh_controls()

    def _data_changed(self, top_left, bottom_right, roles=()) -> None:
        if self.session is not None and self.model is not None:
            current = self.session.current_group_id or self.session.current_layer_id
            if any(self.model.row_item(self.model.index(r)) is not None
                   and self.model.row_item(self.model.index(r)).id == current
                   for r in range(top_left.row(), bottom_right.row() + 1)):
                self._refresh_controls()

    def _refresh_controls(self) -> None:
        group = self.session.current_group if self.session is not None else None
        layer = group if group is not None else (self.session.current_layer if self.session is not None else None)
        enabled = layer is not None
        self._updating = True
        try:
            for widget in (self.blend, self.opacity_slider, self.opacity_spin):
                widget.setEnabled(enabled and not getattr(layer, "locked", False))
            self.blend.model().item(0).setEnabled(group is not None)  # Pass Through: groups only
            what = "group" if group is not None else "layer"
            self.blend.setToolTip(f"Blend mode of the current {what}")
            self.opacity_spin.setToolTip(f"Opacity of the current {what}")
            if layer is not None:
                self.blend.setCurrentIndex(self.blend.findData(
                    PASS_THROUGH if group is not None and group.pass_through else layer.blend_mode))
                value = round(layer.opacity * 100)
                if not self.opacity_slider.isSliderDown():
                    self.opacity_slider.setValue(value)
                self.opacity_spin.setValue(value)
            else:  # no layer: show no value rather than the last layer's
                self.blend.setCurrentIndex(-1)
                self.opacity_slider.setValue(0)
                self.opacity_spin.setValue(0)
                self.opacity_spin.clear()
        finally:
            self._updating = False

    # ----- edits ----------------------------------------------------------------------
    def _blend_chosen(self, row: int) -> None:
        if self.session is None:
            return
        mode = self.blend.itemData(row)
        if self.session.current_group_id is not None:
            self.session.set_group_blend_mode(self.session.current_group_id, None if mode == PASS_THROUGH else mode)
        elif self.session.current_layer_id is not None and mode != PASS_THROUGH:
            self.session.set_blend_mode(self.session.current_layer_id, mode)

    def _start_gesture(self) -> None:
        self._gesture = self.session.new_gesture() if self.session is not None else None

    def _end_gesture(self) -> None:
        self._gesture = None

    def _set_opacity(self, value: int, gesture: int | None) -> None:
        if self._updating or self.session is None:
            return
        if self.session.current_group_id is not None:
            self.session.set_group_opacity(self.session.current_group_id, value / 100.0, gesture)
            return
        if self.session.current_layer_id is None:
            return
        self.session.set_opacity(self.session.current_layer_id, value / 100.0, gesture)

    def _opacity_from_slider(self, value: int) -> None:
        self._set_opacity(value, self._gesture if self.opacity_slider.isSliderDown() else None)

    def _opacity_from_spin(self, value: int) -> None:
        self._set_opacity(value, None)

    def _eye_clicked(self, layer_id: str, alt: bool) -> None:
        if self.session is None:
            return
        if layer_id in self.session.doc.groups:
            self.session.set_group_visible(layer_id, not self.session.doc.group(layer_id).visible)
            return
        if alt:
            self.session.show_only(layer_id)
        else:
            self.session.set_visible(layer_id, not self.session.doc.layer(layer_id).visible)

    def _disclosure_clicked(self, group_id: str) -> None:
        if self.model is not None:
            self.model.toggle_collapsed(group_id)

    def _lock_clicked(self, layer_id: str) -> None:
        if self.session is not None:
            self.session.set_locked(layer_id, not self.session.doc.layer(layer_id).locked)

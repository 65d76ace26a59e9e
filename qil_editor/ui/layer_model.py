"""The layer list as a Qt model over one document (top layer in row 0).

The document notifies after it changed, while Qt wants ``begin*`` before;
so the model keeps its own list of layer ids, the order the views last
saw, and replays each document event on it between ``begin*``/``end*``.
Edits made through the model (rename, drag-and-drop reorder) go through
the session, i.e. the undo stack.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, Qt

from ..document import DocumentEvent
from .session import DocumentSession
from .thumbnails import ThumbnailCache

LAYER_MIME = "application/x-qil-layer"

LayerIdRole = Qt.ItemDataRole.UserRole + 1
VisibleRole = Qt.ItemDataRole.UserRole + 2
LockedRole = Qt.ItemDataRole.UserRole + 3
OpacityRole = Qt.ItemDataRole.UserRole + 4
BlendModeRole = Qt.ItemDataRole.UserRole + 5
ThumbnailRole = Qt.ItemDataRole.UserRole + 6
LayerRole = Qt.ItemDataRole.UserRole + 7
CanvasSizeRole = Qt.ItemDataRole.UserRole + 8

_FIELD_ROLES = {
    "name": [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.ToolTipRole],
    "visible": [VisibleRole],
    "locked": [LockedRole],
    "opacity": [OpacityRole],
    "blend_mode": [BlendModeRole],
    "x": [LayerRole],
    "y": [LayerRole],
}


class LayerListModel(QAbstractListModel):
    def __init__(self, session: DocumentSession, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.doc = session.doc
        self.thumbnails = thumbnails
        self._ids: list[str] = [ly.id for ly in reversed(self.doc.layers)]
        self._unsubscribe = self.doc.subscribe(self._on_event)
        thumbnails.ready.connect(self._thumbnail_ready)

    def detach(self) -> None:
        self._unsubscribe()
        self.thumbnails.ready.disconnect(self._thumbnail_ready)

    # ----- mapping --------------------------------------------------------------
    def row_of(self, layer_id: str) -> int:
        return self._ids.index(layer_id)

    def index_of_layer(self, layer_id: str | None) -> QModelIndex:
        if layer_id is None or layer_id not in self._ids:
            return QModelIndex()
        return self.index(self._ids.index(layer_id))

    def layer_id(self, index: QModelIndex) -> str | None:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        return self._ids[index.row()]

    # ----- reading -------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        layer_id = self.layer_id(index)
        if layer_id is None:
            return None
        layer = self.doc.layer(layer_id)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return layer.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{layer.name}\n{layer.width}×{layer.height} px at ({layer.x}, {layer.y})\n"
                    f"{layer.blend_mode.label}, {round(layer.opacity * 100)} %"
                    + ("\nLocked" if layer.locked else ""))
        if role == LayerIdRole:
            return layer.id
        if role == VisibleRole:
            return layer.visible
        if role == LockedRole:
            return layer.locked
        if role == OpacityRole:
            return layer.opacity
        if role == BlendModeRole:
            return layer.blend_mode
        if role == LayerRole:
            return layer
        if role == CanvasSizeRole:
            return self.doc.size
        if role == ThumbnailRole:
            return self.thumbnails.get(layer, self.doc.size)
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsDropEnabled  # drops land between rows
        if not index.isValid():
            return base
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
                | Qt.ItemFlag.ItemIsDragEnabled)

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        layer_id = self.layer_id(index)
        if layer_id is None or role != Qt.ItemDataRole.EditRole:
            return False
        return self.session.rename(layer_id, str(value))

    # ----- drag and drop (internal reorder) -------------------------------------------
    def supportedDropActions(self):  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self):  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802
        ids = [self.layer_id(i) for i in indexes if self.layer_id(i) is not None]
        mime = QMimeData()
        mime.setData(LAYER_MIME, json.dumps({"session": self.session.id, "ids": ids}).encode())
        return mime

    def canDropMimeData(self, data, action, row, column, parent) -> bool:  # noqa: N802
        return self._dropped_id(data) is not None

    def _dropped_id(self, data: QMimeData) -> str | None:
        if not data.hasFormat(LAYER_MIME):
            return None
        try:
            payload = json.loads(bytes(data.data(LAYER_MIME)).decode())
        except ValueError:
            return None
        ids = payload.get("ids") or []
        if payload.get("session") != self.session.id or len(ids) != 1 or ids[0] not in self._ids:
            return None
        return ids[0]

    def dropMimeData(self, data, action, row, column, parent) -> bool:  # noqa: N802
        """Move the dragged layer to sit where it was dropped (one undo step).

        ``row`` is the view row it is inserted before; -1 with a valid parent
        means dropped onto a row (taken as 'before it'), -1 alone means the end.
        Returning True with no removeRows makes the view leave rows alone:
        the document event moves the row.
        """
        layer_id = self._dropped_id(data)
        if layer_id is None or action == Qt.DropAction.IgnoreAction:
            return False
        n = len(self._ids)
        if row < 0:
            row = parent.row() if parent.isValid() else n
        source = self._ids.index(layer_id)
        target_row = row - 1 if source < row else row
        target_row = max(0, min(n - 1, target_row))
        if target_row == source:
            return False
        return self.session.reorder(layer_id, n - 1 - target_row)

    # ----- document events --------------------------------------------------------------
    def _row_for_index(self, doc_index: int, count: int) -> int:
        return count - 1 - doc_index

    def _on_event(self, event: DocumentEvent) -> None:
        kind = event.kind
        if kind == "inserted":
            row = len(self._ids) - event.index  # rows after insertion: n+1; row = n - index
            self.beginInsertRows(QModelIndex(), row, row)
            self._ids.insert(row, event.layer_id)
            self.endInsertRows()
        elif kind == "removed":
            row = self._ids.index(event.layer_id)
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._ids[row]
            self.endRemoveRows()
            self.thumbnails.forget(set(self._ids))
        elif kind == "moved":
            n = len(self._ids)
            src = self._ids.index(event.layer_id)
            dst = self._row_for_index(event.index, n)
            qt_dst = dst + 1 if dst > src else dst  # Qt counts the destination before removal
            if self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), qt_dst):
                self._ids.insert(dst, self._ids.pop(src))
                self.endMoveRows()
            else:  # pragma: no cover - Qt refuses only no-op moves
                self._reset()
        elif kind in ("changed", "pixels"):
            if event.layer_id in self._ids:
                index = self.index(self._ids.index(event.layer_id))
                roles = [ThumbnailRole, LayerRole]
                for name in event.fields:
                    roles += _FIELD_ROLES.get(name, [])
                self.dataChanged.emit(index, index, roles)
        elif kind == "canvas":
            self._reset()
        else:  # reset
            self._reset()

    def _reset(self) -> None:
        self.beginResetModel()
        self._ids = [ly.id for ly in reversed(self.doc.layers)]
        self.endResetModel()
        self.thumbnails.forget(set(self._ids))

    def _thumbnail_ready(self, layer_id: str) -> None:
        if layer_id in self._ids:
            index = self.index(self._ids.index(layer_id))
            self.dataChanged.emit(index, index, [ThumbnailRole])


__all__ = ["LayerListModel", "LAYER_MIME", "LayerIdRole", "VisibleRole", "LockedRole", "OpacityRole",
           "BlendModeRole", "ThumbnailRole", "LayerRole", "CanvasSizeRole"]

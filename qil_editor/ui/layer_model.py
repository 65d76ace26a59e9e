"""The layer tree as a flat Qt list model over one document (top row = top of the stack).

Groups are rows too: a group header, then its children indented one level
(``DepthRole``), unless the group is collapsed. The tree is flattened here
(``document.tree.tree_rows``) rather than exposed as a ``QAbstractItemModel``
tree, so the list view's selection, keyboard handling and drag-and-drop
stay the simple, well-tested list behaviour; the delegate draws the
indentation and the disclosure arrow.

The document notifies after it changed, while Qt wants ``begin*`` before;
so the model keeps the rows the views last saw and, on a change of shape,
maps them onto the new rows by key in one layout change (selection and the
current row follow their items). Edits made through the model (rename,
drag and drop) go through the session, i.e. the undo stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, Qt

if TYPE_CHECKING:  # pragma: no cover
    # the document model loads with the first document: the empty window's layer panel only
    # needs the roles below (start-up)
    from ..document import DocumentEvent
    from ..document.tree import TreeRow
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
ItemIdRole = Qt.ItemDataRole.UserRole + 9  # the layer's or the group's id
IsGroupRole = Qt.ItemDataRole.UserRole + 10
DepthRole = Qt.ItemDataRole.UserRole + 11  # how many groups deep the row is
CollapsedRole = Qt.ItemDataRole.UserRole + 12  # a group row whose children are hidden
ShownRole = Qt.ItemDataRole.UserRole + 13  # visible with its groups (False inside a hidden group)
GroupRole = Qt.ItemDataRole.UserRole + 14  # the Group of a group row

_STRUCTURE = {"inserted", "removed", "moved", "reset", "canvas"}


class LayerListModel(QAbstractListModel):
    def __init__(self, session: DocumentSession, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.doc = session.doc
        self.thumbnails = thumbnails
        self.collapsed: set[str] = set()
        from ..document.tree import tree_rows

        self._rows: list[TreeRow] = tree_rows(self.doc)
        self._unsubscribe = self.doc.subscribe(self._on_event)
        thumbnails.ready.connect(self._thumbnail_ready)

    def detach(self) -> None:
        self._unsubscribe()
        self.thumbnails.ready.disconnect(self._thumbnail_ready)

    # ----- mapping --------------------------------------------------------------
    @property
    def rows(self) -> list[TreeRow]:
        return list(self._rows)

    def _row_of_id(self, item_id: str | None) -> int:
        for r, row in enumerate(self._rows):
            if row.id == item_id:
                return r
        return -1

    def row_of(self, layer_id: str) -> int:
        row = self._row_of_id(layer_id)
        if row < 0:
            raise ValueError(f"{layer_id!r} has no row (unknown, or inside a collapsed group)")
        return row

    def index_of_layer(self, layer_id: str | None) -> QModelIndex:
        """The row of a layer or a group (invalid when it is inside a collapsed group)."""
        row = self._row_of_id(layer_id) if layer_id is not None else -1
        return self.index(row) if row >= 0 else QModelIndex()

    index_of_item = index_of_layer

    def row_item(self, index: QModelIndex) -> TreeRow | None:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        return self._rows[index.row()]

    def layer_id(self, index: QModelIndex) -> str | None:
        """The layer of a layer row (None for a group row)."""
        row = self.row_item(index)
        return row.id if row is not None and not row.is_group else None

    def group_id(self, index: QModelIndex) -> str | None:
        row = self.row_item(index)
        return row.id if row is not None and row.is_group else None

    # ----- collapsing -------------------------------------------------------------
    def set_collapsed(self, group_id: str, collapsed: bool) -> None:
        if group_id not in self.doc.groups or (group_id in self.collapsed) == bool(collapsed):
            return
        if collapsed:
            self.collapsed.add(group_id)
        else:
            self.collapsed.discard(group_id)
        self._relayout()

    def toggle_collapsed(self, group_id: str) -> None:
        self.set_collapsed(group_id, group_id not in self.collapsed)

    def reveal(self, item_id: str | None) -> None:
        """Expand the groups around a layer or group so it has a row."""
        if item_id is None:
            return
        if item_id in self.doc.groups:
            chain = self.doc.group_chain(self.doc.group(item_id).parent)
        else:
            try:
                chain = self.doc.layer_chain(self.doc.layer(item_id))
            except KeyError:
                return
        hidden = {g.id for g in chain} & self.collapsed
        if hidden:
            self.collapsed -= hidden
            self._relayout()

    # ----- reading -------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row = self.row_item(index)
        if row is None:
            return None
        if role == ItemIdRole:
            return row.id
        if role == IsGroupRole:
            return row.is_group
        if role == DepthRole:
            return row.depth
        if role == CanvasSizeRole:
            return self.doc.size
        try:
            item = self.doc.group(row.id) if row.is_group else self.doc.layer(row.id)
        except KeyError:  # between a document change and its relayout
            return None
        if role == ShownRole:
            if row.is_group:
                return all(g.visible for g in self.doc.group_chain(row.id))
            return self.doc.effective(item)[0]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return item.name
        if role == VisibleRole:
            return item.visible
        if role == OpacityRole:
            return item.opacity
        if role == BlendModeRole:
            return item.blend_mode  # None: a pass-through group
        if row.is_group:
            return self._group_data(item, role)
        layer = item
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{layer.name}\n{layer.width}×{layer.height} px at ({layer.x}, {layer.y})\n"
                    f"{layer.blend_mode.label}, {round(layer.opacity * 100)} %"
                    + ("\nLocked" if layer.locked else "")
                    + ("\nHidden by its group" if layer.visible and not self.doc.effective(layer)[0] else ""))
        if role == LayerIdRole:
            return layer.id
        if role == LockedRole:
            return layer.locked
        if role == LayerRole:
            return layer
        if role == ThumbnailRole:
            return self.thumbnails.get(layer, self.doc.size)
        return None

    def _group_data(self, group, role):
        if role == Qt.ItemDataRole.ToolTipRole:
            mode = "Pass Through" if group.pass_through else group.blend_mode.label
            count = sum(1 for ly in self.doc.layers if group.id in {g.id for g in self.doc.layer_chain(ly)})
            return (f"Group “{group.name}”: {count} layer{'s' if count != 1 else ''}\n"
                    f"{mode}, {round(group.opacity * 100)} %"
                    + ("\nHas a mask" if group.mask is not None else ""))
        if role == GroupRole:
            return group
        if role == CollapsedRole:
            return group.id in self.collapsed
        if role == LockedRole:
            return False
        return None  # no thumbnail, no LayerIdRole, no LayerRole

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsDropEnabled  # drops land between rows
        row = self.row_item(index)
        if row is None:
            return base
        flags = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
                 | Qt.ItemFlag.ItemIsDragEnabled)
        return flags | Qt.ItemFlag.ItemIsDropEnabled if row.is_group else flags  # onto a group: into it

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        row = self.row_item(index)
        if row is None or role != Qt.ItemDataRole.EditRole:
            return False
        if row.is_group:
            return self.session.rename_group(row.id, str(value))
        return self.session.rename(row.id, str(value))

    # ----- drag and drop (internal moves) -------------------------------------------
    def supportedDropActions(self):  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self):  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802
        rows = [self.row_item(i) for i in indexes]
        rows = [r for r in rows if r is not None]
        payload = {"session": self.session.id, "ids": [r.id for r in rows if not r.is_group],
                   "groups": [r.id for r in rows if r.is_group]}
        import json  # with the first drag (json is not needed for the window's first frame)

        mime = QMimeData()
        mime.setData(LAYER_MIME, json.dumps(payload).encode())
        return mime

    def canDropMimeData(self, data, action, row, column, parent) -> bool:  # noqa: N802
        return self._dropped(data) is not None

    def _dropped(self, data: QMimeData) -> tuple[list[str], list[str]] | None:
        if not data.hasFormat(LAYER_MIME):
            return None
        import json

        try:
            payload = json.loads(bytes(data.data(LAYER_MIME)).decode())
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("session") != self.session.id:
            return None
        layers = {ly.id for ly in self.doc.layers}
        ids = [i for i in payload.get("ids") or [] if i in layers]
        groups = [g for g in payload.get("groups") or [] if g in self.doc.groups]
        if not ids and not groups:
            return None
        return ids, groups

    def drop_target(self, row: int, parent: QModelIndex = QModelIndex()) -> tuple[str | None, str | None]:
        """(group, above) for a drop: the items land in ``group`` directly above the item
        ``above`` (None: at the group's bottom).

        ``row`` is the row they are dropped before (-1 or the row count: after the
        last row, i.e. the bottom of the stack); a valid ``parent`` with row -1
        means dropped onto that row: onto a group puts them at its top, onto a
        layer just above it.
        """
        if row < 0 and parent.isValid():
            target = self.row_item(parent)
            if target is not None and target.is_group:
                return target.id, self._top_child(target.id)
            row = parent.row()
        if row < 0 or row >= len(self._rows):
            return None, None
        target = self._rows[row]
        if target.is_group:
            return self.doc.group(target.id).parent, target.id
        return self.doc.layer(target.id).group, target.id

    def _top_child(self, group_id: str) -> str | None:
        """The topmost child of a group that has a place in the layer order (a layer, or a
        group with layers: an empty group sits nowhere), None when there is none."""
        from ..document.tree import subtree_layers, tree_rows

        rows = tree_rows(self.doc)
        start = next((r for r, row in enumerate(rows) if row.id == group_id and row.is_group), None)
        if start is None:
            return None
        depth = rows[start].depth
        for row in rows[start + 1:]:
            if row.depth <= depth:
                break
            if row.depth == depth + 1 and (not row.is_group or subtree_layers(self.doc, row.id)):
                return row.id
        return None

    def dropMimeData(self, data, action, row, column, parent) -> bool:  # noqa: N802
        """Move the dragged layers and groups to where they were dropped (one undo step).

        Returning True with no removeRows makes the view leave rows alone:
        the document events move the rows.
        """
        dropped = self._dropped(data)
        if dropped is None or action == Qt.DropAction.IgnoreAction:
            return False
        group, above = self.drop_target(row, parent)
        return self.session.move_in_tree(dropped[0], dropped[1], group, above)

    # ----- document events --------------------------------------------------------------
    def _on_event(self, event: DocumentEvent) -> None:
        kind = event.kind
        if kind in _STRUCTURE or (kind == "changed" and "group" in event.fields) or (
                kind == "group" and (not event.fields or "parent" in event.fields)):
            if kind == "group" and event.layer_id not in self.doc.groups:
                self.collapsed.discard(event.layer_id)
            self._relayout()
            if kind in ("removed", "reset"):
                self.thumbnails.forget({ly.id for ly in self.doc.layers})
        elif kind in ("changed", "pixels"):
            row = self._row_of_id(event.layer_id)
            if row >= 0:
                index = self.index(row)
                self.dataChanged.emit(index, index, [])
        elif kind == "group":  # a group's name, visibility, opacity...: its row and those inside
            self._all_changed()

    def _all_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1), [])

    def _relayout(self) -> None:
        from ..document.tree import tree_rows

        new = tree_rows(self.doc, self.collapsed)
        old_keys = [r.key for r in self._rows]
        if [r.key for r in new] == old_keys:
            self._rows = new
            self._all_changed()
            return
        self.layoutAboutToBeChanged.emit()
        where = {r.key: i for i, r in enumerate(new)}
        old_persistent = self.persistentIndexList()
        targets = [where.get(old_keys[index.row()]) if 0 <= index.row() < len(old_keys) else None
                   for index in old_persistent]
        self._rows = new
        self.changePersistentIndexList(old_persistent, [self.index(t) if t is not None else QModelIndex()
                                                        for t in targets])
        self.layoutChanged.emit()

    def _thumbnail_ready(self, layer_id: str) -> None:
        row = self._row_of_id(layer_id)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index, [ThumbnailRole])


__all__ = ["LayerListModel", "LAYER_MIME", "LayerIdRole", "VisibleRole", "LockedRole", "OpacityRole",
           "BlendModeRole", "ThumbnailRole", "LayerRole", "CanvasSizeRole", "ItemIdRole", "IsGroupRole",
           "DepthRole", "CollapsedRole", "ShownRole", "GroupRole"]

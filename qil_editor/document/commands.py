"""Undoable edits as plain objects.

Commands address layers by id, never by object or index, so they stay valid
after other commands reorder or recreate layers. The Qt undo stack wraps
them one to one (``ui``), and :class:`History` runs them without Qt.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .blend import BlendMode
from .document import Document
from .group import Group
from .layer import Layer


class Command:
    """Base class. ``merge_key`` lets successive edits collapse into one step."""

    text = "Edit"
    merge_key: tuple | None = None

    def redo(self, doc: Document) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def undo(self, doc: Document) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def merge_with(self, other: "Command") -> bool:
        """Absorb ``other`` (already applied) into self; True if merged."""
        return False


class MoveLayer(Command):
    """Move by (dx, dy). Successive moves of one layer merge (one drag = one step)."""

    def __init__(self, layer_id: str, dx: int, dy: int, *, merge: bool = True) -> None:
        self.layer_id, self.dx, self.dy = layer_id, int(dx), int(dy)
        self.text = "Move layer"
        self.merge_key = ("move", layer_id) if merge else None

    def redo(self, doc):
        layer = doc.layer(self.layer_id)
        doc.update_layer(self.layer_id, x=layer.x + self.dx, y=layer.y + self.dy)

    def undo(self, doc):
        layer = doc.layer(self.layer_id)
        doc.update_layer(self.layer_id, x=layer.x - self.dx, y=layer.y - self.dy)

    def merge_with(self, other):
        if isinstance(other, MoveLayer) and other.merge_key == self.merge_key:
            self.dx += other.dx
            self.dy += other.dy
            return True
        return False


class SetLayerProperties(Command):
    """Set name, visibility, opacity, blend mode, lock or offset."""

    _TEXT = {"name": "Rename layer", "visible": "Toggle visibility", "opacity": "Change opacity",
             "blend_mode": "Change blend mode", "locked": "Toggle lock", "x": "Move layer",
             "y": "Move layer"}

    def __init__(self, layer_id: str, *, merge: bool = False, **values) -> None:
        if not values:
            raise ValueError("nothing to set")
        if "blend_mode" in values:
            values["blend_mode"] = BlendMode.parse(values["blend_mode"])
        self.layer_id = layer_id
        self.values = values
        self.old: dict = {}
        self.text = self._TEXT.get(next(iter(values)), "Change layer") if len(values) == 1 else "Change layer"
        self.merge_key = ("props", layer_id, tuple(sorted(values))) if merge else None

    def redo(self, doc):
        layer = doc.layer(self.layer_id)
        self.old = {k: getattr(layer, k) for k in self.values}
        doc.update_layer(self.layer_id, **self.values)

    def undo(self, doc):
        doc.update_layer(self.layer_id, **self.old)

    def merge_with(self, other):
        if isinstance(other, SetLayerProperties) and other.merge_key == self.merge_key:
            self.values = dict(other.values)
            return True
        return False


class SetVisibility(Command):
    """Show/hide several layers at once (Alt-click 'show only this')."""

    def __init__(self, visibility: dict[str, bool], text: str = "Change visibility") -> None:
        self.visibility = dict(visibility)
        self.old: dict[str, bool] = {}
        self.text = text

    def redo(self, doc):
        self.old = {lid: doc.layer(lid).visible for lid in self.visibility}
        for lid, visible in self.visibility.items():
            doc.update_layer(lid, visible=visible)

    def undo(self, doc):
        for lid, visible in self.old.items():
            doc.update_layer(lid, visible=visible)


class ReorderLayer(Command):
    def __init__(self, layer_id: str, new_index: int) -> None:
        self.layer_id, self.new_index = layer_id, int(new_index)
        self.old_index: int | None = None
        self.text = "Reorder layer"

    def redo(self, doc):
        self.old_index = doc.move_layer(self.layer_id, self.new_index)

    def undo(self, doc):
        doc.move_layer(self.layer_id, self.old_index)


class ReplacePixels(Command):
    """New pixels (and optionally offset) for one layer: recolor, edit, paint."""

    def __init__(self, layer_id: str, pixels: np.ndarray, x: int | None = None,
                 y: int | None = None, text: str = "Edit pixels") -> None:
        self.layer_id = layer_id
        self.pixels = pixels
        self.x, self.y = x, y
        self.old: tuple | None = None
        self.text = text

    def redo(self, doc):
        self.old = doc.set_pixels(self.layer_id, self.pixels, self.x, self.y)
        self.pixels = doc.layer(self.layer_id).pixels  # keep the frozen copy

    def undo(self, doc):
        pixels, x, y = self.old
        doc.set_pixels(self.layer_id, pixels, x, y)


class AddLayer(Command):
    def __init__(self, layer: Layer, index: int | None = None, text: str = "Add layer") -> None:
        self.layer, self.index, self.text = layer, index, text

    def redo(self, doc):
        doc.insert_layer(len(doc) if self.index is None else self.index, self.layer)

    def undo(self, doc):
        doc.remove_layer(self.layer.id)


class DeleteLayer(Command):
    def __init__(self, layer_id: str) -> None:
        self.layer_id = layer_id
        self.removed: tuple[int, Layer] | None = None
        self.text = "Delete layer"

    def redo(self, doc):
        self.removed = doc.remove_layer(self.layer_id)

    def undo(self, doc):
        index, layer = self.removed
        doc.insert_layer(index, layer)


class DuplicateLayer(Command):
    """Copy placed above the original, named like Photoshop does ('X copy')."""

    def __init__(self, layer_id: str) -> None:
        self.layer_id = layer_id
        self.new_layer: Layer | None = None
        self.text = "Duplicate layer"

    def redo(self, doc):
        src = doc.layer(self.layer_id)
        if self.new_layer is None:
            self.new_layer = src.copy(new_id=True, name=f"{src.name} copy")
        doc.insert_layer(doc.index_of(self.layer_id) + 1, self.new_layer)

    def undo(self, doc):
        doc.remove_layer(self.new_layer.id)


class ReplaceLayers(Command):
    """Replace some layers (possibly none) by a list of new ones at one index.

    Covers 'decompose into new layers', 'split a layer into sub-layers' and
    merge down, each as a single undo step.
    """

    def __init__(self, remove_ids: Sequence[str], new_layers: Sequence[Layer],
                 index: int | None = None, text: str = "Replace layers",
                 canvas_size: tuple[int, int] | None = None) -> None:
        self.remove_ids = list(remove_ids)
        self.new_layers = list(new_layers)
        self.index = index
        self.text = text
        self.canvas_size = canvas_size
        self.old_canvas: tuple[int, int] | None = None
        self.removed: list[tuple[int, Layer]] = []

    def redo(self, doc):
        if self.index is None:
            idxs = [doc.index_of(i) for i in self.remove_ids]
            self.index = min(idxs) if idxs else len(doc)
        self.removed = []
        shared = {doc.layer(lid).group for lid in self.remove_ids}
        if len(shared) == 1 and None not in shared:  # what replaces a group's layers stays in it
            group = shared.pop()
            for layer in self.new_layers:
                if layer.group is None:
                    layer.group = group
        for lid in sorted(self.remove_ids, key=doc.index_of, reverse=True):
            self.removed.append(doc.remove_layer(lid))
        if self.canvas_size is not None:
            self.old_canvas = doc.resize_canvas(*self.canvas_size)
        for offset, layer in enumerate(self.new_layers):
            doc.insert_layer(self.index + offset, layer)

    def undo(self, doc):
        for layer in self.new_layers:
            doc.remove_layer(layer.id)
        if self.old_canvas is not None:
            doc.resize_canvas(*self.old_canvas)
        for index, layer in sorted(self.removed, key=lambda item: item[0]):
            doc.insert_layer(index, layer)


class MergeDown(ReplaceLayers):
    """Merge a layer into the one below; the result keeps the lower layer's name."""

    def __init__(self, doc: Document, layer_id: str) -> None:
        from .compositing import merge_layers

        index = doc.index_of(layer_id)
        if index == 0:
            raise ValueError("there is no layer below to merge into")
        upper, lower = doc.layers[index], doc.layers[index - 1]
        merged = merge_layers([lower, upper], name=lower.name)
        super().__init__([lower.id, upper.id], [merged], index - 1, text="Merge down")


class MacroCommand(Command):
    """Several commands as one undo step."""

    def __init__(self, commands: Sequence[Command], text: str = "Edit") -> None:
        self.commands = list(commands)
        self.text = text

    def redo(self, doc):
        for cmd in self.commands:
            cmd.redo(doc)

    def undo(self, doc):
        for cmd in reversed(self.commands):
            cmd.undo(doc)


class History:
    """A Qt-free undo stack with the same merge rule as ``QUndoStack``."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self.clean_index = 0

    def push(self, cmd: Command) -> None:
        cmd.redo(self.doc)
        self._undone.clear()
        if (self._done and cmd.merge_key is not None and self.clean_index != len(self._done)
                and self._done[-1].merge_key == cmd.merge_key and self._done[-1].merge_with(cmd)):
            return
        if self.clean_index > len(self._done):
            self.clean_index = -1
        self._done.append(cmd)

    def undo(self) -> bool:
        if not self._done:
            return False
        cmd = self._done.pop()
        cmd.undo(self.doc)
        self._undone.append(cmd)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        cmd = self._undone.pop()
        cmd.redo(self.doc)
        self._done.append(cmd)
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def __len__(self) -> int:
        return len(self._done)

    def set_clean(self) -> None:
        self.clean_index = len(self._done)

    @property
    def is_clean(self) -> bool:
        return self.clean_index == len(self._done)


# ----- groups -------------------------------------------------------------------
class SetGroupProperties(Command):
    """Set a group's name, visibility, opacity, blend mode (None = pass-through) or mask."""

    def __init__(self, group_id: str, *, merge: bool = False, **values) -> None:
        if not values:
            raise ValueError("nothing to set")
        self.group_id, self.values = group_id, values
        self.old: dict = {}
        self.text = "Change group"
        self.merge_key = ("group", group_id, tuple(sorted(values))) if merge else None

    def redo(self, doc):
        group = doc.group(self.group_id)
        self.old = {k: getattr(group, k) for k in self.values}
        doc.update_group(self.group_id, **self.values)

    def undo(self, doc):
        doc.update_group(self.group_id, **self.old)

    def merge_with(self, other):
        if isinstance(other, SetGroupProperties) and other.merge_key == self.merge_key:
            self.values = dict(other.values)
            return True
        return False


def _restore_order(doc: Document, order: list[str]) -> None:
    for index, layer_id in enumerate(order):
        doc.move_layer(layer_id, index)


class GroupLayers(Command):
    """Put layers into a new group (Ctrl+G).

    The layers keep their order and are gathered just below the topmost of
    them; the new group sits inside the group they all share (else at the top).
    """

    def __init__(self, layer_ids: Sequence[str], name: str = "Group") -> None:
        if not layer_ids:
            raise ValueError("no layers to group")
        self.layer_ids = list(layer_ids)
        self.name = name
        self.group: Group | None = None
        self.old_order: list[str] = []
        self.old_groups: dict[str, str | None] = {}
        self.text = "Group layers"

    def redo(self, doc):
        source = getattr(doc, "source", None)
        if source is not None and not source.group_origins and any(
                o.chain for o in source.origins.values()):
            # read flat ("Group/Layer" names): new groups would replace the file's own
            raise ValueError("this PSD was opened with its groups flattened; open it with its "
                             "groups to group layers")
        layers = sorted((doc.layer(i) for i in self.layer_ids), key=lambda ly: doc.index_of(ly.id))
        if self.group is None:
            shared = {ly.group for ly in layers}
            self.group = Group(self.name, parent=shared.pop() if len(shared) == 1 else None)
        self.old_order = [ly.id for ly in doc.layers]
        self.old_groups = {ly.id: ly.group for ly in layers}
        anchor = layers[-1]
        for layer in reversed(layers[:-1]):  # each directly below the one above it
            doc.move_layer(layer.id, doc.index_of(anchor.id) - 1)
            anchor = layer
        doc.add_group(self.group)
        for layer in layers:
            doc.update_layer(layer.id, group=self.group.id)

    def undo(self, doc):
        for layer_id, group in self.old_groups.items():
            doc.update_layer(layer_id, group=group)
        doc.remove_group(self.group.id)
        _restore_order(doc, self.old_order)


class Ungroup(Command):
    """Dissolve a group (Ctrl+Shift+G): its layers and sub-groups move to its parent."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.group: Group | None = None
        self.layers: list[str] = []
        self.children: list[str] = []
        self.text = "Ungroup"

    def redo(self, doc):
        self.group = doc.group(self.group_id)
        parent = self.group.parent
        self.layers = [ly.id for ly in doc.layers if ly.group == self.group_id]
        self.children = [g.id for g in doc.groups.values() if g.parent == self.group_id]
        for layer_id in self.layers:
            doc.update_layer(layer_id, group=parent)
        for child in self.children:
            doc.update_group(child, parent=parent)
        doc.remove_group(self.group_id)

    def undo(self, doc):
        doc.add_group(self.group)
        for child in self.children:
            doc.update_group(child, parent=self.group_id)
        for layer_id in self.layers:
            doc.update_layer(layer_id, group=self.group_id)


class MoveGroup(Command):
    """Move every layer inside a group (and its sub-groups) by (dx, dy), masks included."""

    def __init__(self, doc: Document, group_id: str, dx: int, dy: int) -> None:
        inside = {group_id} | {g.id for g in doc.groups.values()
                               if group_id in [c.id for c in doc.group_chain(g.id)]}
        self.moves = [MoveLayer(ly.id, dx, dy, merge=False) for ly in doc.layers if ly.group in inside]
        self.text = "Move group"

    def redo(self, doc):
        for move in self.moves:
            move.redo(doc)

    def undo(self, doc):
        for move in reversed(self.moves):
            move.undo(doc)

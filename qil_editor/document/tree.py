"""The layer tree as a layer panel shows it, and the edits that change its shape.

The document keeps layers in one flat list (index 0 at the bottom) and the
tree is implicit: each layer names its innermost group, each group its
parent, and a group sits where its layers are. ``tree_rows`` turns that into
rows, top first, the way Photoshop's Layers panel lists them; the commands
here move layers and whole groups in and out of groups (drag and drop),
group a selection of layers and groups (Ctrl+G) and delete a group with
everything in it. Each keeps groups contiguous in the layer order, so a
group is never drawn or written as two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .commands import Command
from .document import Document
from .group import Group
from .layer import Layer


@dataclass(frozen=True)
class TreeRow:
    """One row of the panel: a layer or a group header, ``depth`` groups deep.

    ``key`` identifies the row across changes; a group whose layers are split
    in two runs by the order (only reachable by edits made outside this
    module) shows one header per run, told apart by the run number.
    """

    kind: str  # "layer" or "group"
    id: str
    depth: int
    key: tuple

    @property
    def is_group(self) -> bool:
        return self.kind == "group"


def subtree_groups(doc: Document, group_id: str) -> set[str]:
    """A group and every group nested in it, at any depth."""
    groups = doc.groups
    inside = {group_id}
    changed = True
    while changed:
        changed = False
        for g in groups.values():
            if g.parent in inside and g.id not in inside:
                inside.add(g.id)
                changed = True
    return inside


def subtree_layers(doc: Document, group_id: str) -> list[Layer]:
    """The layers inside a group (nested ones too), bottom first."""
    inside = subtree_groups(doc, group_id)
    return [ly for ly in doc.layers if ly.group in inside]


def group_path(doc: Document, group_id: str | None, sep: str = "/") -> str:
    """``"Outer/Inner/"`` for a group (empty for None): how the flat reading named layers."""
    return "".join(g.name + sep for g in doc.group_chain(group_id))


def find_layer(doc: Document, ref: str | int) -> Layer:
    """The layer a person (or a script) means by ``ref``: its id, index (0 = bottom, negative
    from the top), exact name, group path ("Group/Layer") or a name unique inside groups.
    The CLI's --layer, the edit engines and the server all resolve layers here."""
    from ..errors import UsageError

    if isinstance(ref, str):
        for layer in doc.layers:
            if layer.id == ref:
                return layer
    try:
        return doc.find(ref)
    except KeyError as err:
        full = {ly.id: group_path(doc, ly.group) + ly.name for ly in doc.layers}
        matches = [ly for ly in doc.layers if full[ly.id] == ref] or [
            ly for ly in doc.layers if ly.name.rsplit("/", 1)[-1] == ref]
        if len(matches) == 1:
            return matches[0]
        names = ", ".join(f"{i}: {full[ly.id]}" for i, ly in enumerate(doc.layers))
        detail = f"several layers named {ref!r}" if matches else str(err.args[0])
        raise UsageError(f"There is {detail}.",
                         f"Name it by its index or group path. Layers (0 = bottom): {names}.") from None


def _empty_groups(doc: Document) -> dict[str | None, list[Group]]:
    """Groups with no layer anywhere inside, by parent: they have no place in the layer
    order, so they are shown (and written, see ``psd_write``) at the top of their parent."""
    used: set[str] = set()
    for layer in doc.layers:
        used.update(g.id for g in doc.layer_chain(layer))
    out: dict[str | None, list[Group]] = {}
    for group in doc.groups.values():
        if group.id not in used:
            out.setdefault(group.parent, []).append(group)
    return out


def tree_rows(doc: Document, collapsed: Iterable[str] = ()) -> list[TreeRow]:
    """The rows top first; children of a collapsed group are left out."""
    collapsed = set(collapsed)
    empty = _empty_groups(doc)
    rows: list[TreeRow] = []
    runs: dict[str, int] = {}
    stack: list[str] = []  # open groups, outermost first
    hidden_from = [None]  # depth from which rows are hidden (a collapsed group is open)

    def shown(depth: int) -> bool:
        return hidden_from[0] is None or depth <= hidden_from[0]

    def open_group(group: Group, depth: int) -> None:
        run = runs.get(group.id, 0)
        runs[group.id] = run + 1
        if shown(depth):
            rows.append(TreeRow("group", group.id, depth, ("group", group.id, run)))
            if group.id in collapsed and hidden_from[0] is None:
                hidden_from[0] = depth
        stack.append(group.id)
        for child in empty.get(group.id, ()):  # empty sub-groups first, as they are written
            open_group(child, depth + 1)
            close_group()

    def close_group() -> None:
        stack.pop()
        if hidden_from[0] is not None and len(stack) <= hidden_from[0]:
            hidden_from[0] = None

    for group in empty.get(None, ()):
        open_group(group, 0)
        close_group()
    for layer in reversed(doc.layers):
        chain = [g.id for g in doc.layer_chain(layer)]
        common = 0
        while common < min(len(stack), len(chain)) and stack[common] == chain[common]:
            common += 1
        while len(stack) > common:
            close_group()
        for gid in chain[common:]:
            open_group(doc.group(gid), len(stack))
        if shown(len(stack)):
            rows.append(TreeRow("layer", layer.id, len(stack), ("layer", layer.id)))
    return rows


def _state(doc: Document) -> tuple[list[str], dict[str, str | None], dict[str, str | None]]:
    return ([ly.id for ly in doc.layers], {ly.id: ly.group for ly in doc.layers},
            {g.id: g.parent for g in doc.groups.values()})


def _apply_state(doc: Document, order: list[str], layer_groups: dict, group_parents: dict) -> None:
    """Set groups' parents, layers' groups, then the order (each step leaves a valid tree)."""
    for gid, parent in group_parents.items():
        if doc.group(gid).parent != parent:
            doc.update_group(gid, parent=parent)
    for lid, group in layer_groups.items():
        if doc.layer(lid).group != group:
            doc.update_layer(lid, group=group)
    for index, lid in enumerate(order):
        if doc.index_of(lid) != index:
            doc.move_layer(lid, index)


def _top_items(doc: Document, layer_ids: Sequence[str], group_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """The moved items without those already inside another moved group."""
    groups = [g for g in dict.fromkeys(group_ids)]
    inside: set[str] = set()
    for gid in groups:
        inside |= subtree_groups(doc, gid) - {gid}
    groups = [g for g in groups if g not in inside]
    covered = set(inside) | set(groups)
    layers = [lid for lid in dict.fromkeys(layer_ids) if doc.layer(lid).group not in covered]
    return layers, groups


def _moved_layers(doc: Document, layers: list[str], groups: list[str]) -> list[str]:
    moved = set(layers)
    for gid in groups:
        moved |= {ly.id for ly in subtree_layers(doc, gid)}
    return [ly.id for ly in doc.layers if ly.id in moved]  # bottom first


class MoveInTree(Command):
    """Move layers and groups (with all they hold) into ``parent`` (None: the top level).

    They land together, keeping their order, directly above the item
    ``above`` (a layer or group id, a child of ``parent``), or at the bottom
    of ``parent`` when ``above`` is None. One undo step (drag and drop).
    """

    def __init__(self, layer_ids: Sequence[str] = (), group_ids: Sequence[str] = (),
                 parent: str | None = None, above: str | None = None,
                 text: str = "Move in layer tree") -> None:
        if not layer_ids and not group_ids:
            raise ValueError("nothing to move")
        self.layer_ids, self.group_ids = list(layer_ids), list(group_ids)
        self.parent, self.above = parent, above
        self.text = text
        self.old: tuple | None = None
        self.new: tuple | None = None

    def plan(self, doc: Document) -> tuple:
        layers, groups = _top_items(doc, self.layer_ids, self.group_ids)
        parent, above = self.parent, self.above
        if parent is not None:
            doc.group(parent)  # KeyError for an unknown group
            for gid in groups:
                if parent in subtree_groups(doc, gid):
                    raise ValueError(f"the group “{doc.group(gid).name}” cannot go inside itself")
        moved = _moved_layers(doc, layers, groups)
        moved_set = set(moved)
        order = [ly.id for ly in doc.layers if ly.id not in moved_set]
        if above is not None:
            if above in doc.groups:
                if above in groups or any(above in subtree_groups(doc, g) for g in groups):
                    raise ValueError("a group cannot be dropped onto itself")
                if doc.group(above).parent != parent:
                    raise ValueError("the item to drop above is not in that group")
                targets = {ly.id for ly in subtree_layers(doc, above)} - moved_set
            else:
                if above in moved_set:
                    raise ValueError("a layer cannot be dropped onto itself")
                if doc.layer(above).group != parent:
                    raise ValueError("the layer to drop above is not in that group")
                targets = {above}
            hits = [i for i, lid in enumerate(order) if lid in targets]
            at = max(hits) + 1 if hits else None
        else:
            at = None
            if parent is None:
                at = 0
            else:
                inside = {ly.id for ly in subtree_layers(doc, parent)} - moved_set
                hits = [i for i, lid in enumerate(order) if lid in inside]
                at = min(hits) if hits else None
        if at is None:  # an empty target (a new group): where the topmost moved layer was
            top = doc.index_of(moved[-1]) if moved else 0
            at = sum(1 for lid in order if doc.index_of(lid) < top)
        new_order = order[:at] + moved + order[at:]
        layer_groups = {ly.id: ly.group for ly in doc.layers}
        for lid in layers:
            layer_groups[lid] = parent
        group_parents = {g.id: g.parent for g in doc.groups.values()}
        for gid in groups:
            group_parents[gid] = parent
        return new_order, layer_groups, group_parents

    def redo(self, doc):
        self.old = _state(doc)
        if self.new is None:
            self.new = self.plan(doc)
        _apply_state(doc, *self.new)

    def undo(self, doc):
        _apply_state(doc, *self.old)

    @property
    def changes_nothing(self) -> bool:
        return self.old is not None and self.new is not None and tuple(self.old) == tuple(self.new)


def flat_read_has_groups(doc: Document) -> bool:
    """A PSD read flat ("Group/Layer" names): new groups would replace the file's own."""
    source = getattr(doc, "source", None)
    return source is not None and not source.group_origins and any(
        o.chain for o in source.origins.values())


class GroupItems(Command):
    """Ctrl+G: put layers and groups into a new group, where the topmost of them was.

    The new group goes into the parent of the topmost item, so no group is
    split; the items keep their order.
    """

    def __init__(self, layer_ids: Sequence[str] = (), group_ids: Sequence[str] = (),
                 name: str = "Group") -> None:
        if not layer_ids and not group_ids:
            raise ValueError("select layers or groups to group")
        self.layer_ids, self.group_ids, self.name = list(layer_ids), list(group_ids), name
        self.group: Group | None = None
        self.move: MoveInTree | None = None
        self.text = "Group layers"

    def redo(self, doc):
        if flat_read_has_groups(doc):
            raise ValueError("this PSD was opened with its groups flattened; open it with its "
                             "groups to group layers")
        if self.group is None:
            layers, groups = _top_items(doc, self.layer_ids, self.group_ids)
            moved = _moved_layers(doc, layers, groups)
            if moved:
                top = doc.layer(moved[-1])
                top_item = next((g for g in groups if top.id in
                                 {ly.id for ly in subtree_layers(doc, g)}), None)
                parent = doc.group(top_item).parent if top_item is not None else top.group
            else:  # only empty groups
                parent = doc.group(groups[0]).parent
            self.group = Group(self.name, parent=parent)
            self.move = MoveInTree(layers, groups, self.group.id, None, text=self.text)
        doc.add_group(self.group)
        try:
            self.move.redo(doc)
        except Exception:
            doc.remove_group(self.group.id)
            raise

    def undo(self, doc):
        self.move.undo(doc)
        doc.remove_group(self.group.id)


class DeleteGroup(Command):
    """Delete a group with every layer and group inside it (one undo step)."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.layers: list[tuple[int, Layer]] = []
        self.groups: list[Group] = []
        self.text = "Delete group"

    def redo(self, doc):
        doc.group(self.group_id)  # KeyError for an unknown group
        inside = subtree_groups(doc, self.group_id)
        self.layers = [doc.remove_layer(ly.id) for ly in reversed(subtree_layers(doc, self.group_id))]
        # deepest first, so each is empty when removed
        order = sorted(inside, key=lambda gid: len(doc.group_chain(gid)), reverse=True)
        self.groups = [doc.remove_group(gid) for gid in order]

    def undo(self, doc):
        for group in reversed(self.groups):
            doc.add_group(group)
        for index, layer in sorted(self.layers, key=lambda item: item[0]):
            doc.insert_layer(index, layer)


class DuplicateGroup(Command):
    """Ctrl+J on a group: a copy of it with everything inside, placed just above it."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.groups: list[Group] | None = None  # parents first
        self.layers: list[Layer] = []  # bottom first
        self.index = 0
        self.text = "Duplicate group"

    @property
    def new_group(self) -> Group:
        return self.groups[0]

    def redo(self, doc):
        if self.groups is None:
            from .layer import new_layer_id

            inside = sorted(subtree_groups(doc, self.group_id), key=lambda gid: len(doc.group_chain(gid)))
            ids = {gid: new_layer_id() for gid in inside}
            self.groups = []
            for gid in inside:
                group = doc.group(gid)
                self.groups.append(group.copy(id=ids[gid], parent=ids.get(group.parent, group.parent),
                                              name=f"{group.name} copy" if gid == self.group_id else group.name))
            layers = subtree_layers(doc, self.group_id)
            self.layers = [ly.copy(new_id=True, group=ids[ly.group]) for ly in layers]
            self.index = max(doc.index_of(ly.id) for ly in layers) + 1 if layers else len(doc)
        for group in self.groups:
            doc.add_group(group)
        for offset, layer in enumerate(self.layers):
            doc.insert_layer(self.index + offset, layer)

    def undo(self, doc):
        for layer in reversed(self.layers):
            doc.remove_layer(layer.id)
        for group in reversed(self.groups):
            doc.remove_group(group.id)


__all__ = ["TreeRow", "find_layer", "tree_rows", "subtree_groups", "subtree_layers", "group_path", "MoveInTree",
           "GroupItems", "DeleteGroup", "DuplicateGroup", "flat_read_has_groups"]

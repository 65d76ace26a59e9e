"""The layered document and its change notifications.

The document is the single source of truth; the Qt layer only listens. Its
mutators are low-level and not undoable on purpose: edits a user makes go
through command objects (``commands.py``), which call these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from .group import GROUP_FIELDS, Group
from .layer import Layer, as_rgba_array

_LAYER_FIELDS = ("name", "x", "y", "opacity", "visible", "blend_mode", "locked", "fill_opacity",
                 "clipping", "mask", "group")


@dataclass(frozen=True)
class DocumentEvent:
    """What changed. ``kind`` is one of: inserted, removed, moved, changed, pixels, reset, canvas,
    group (a group was added, removed or changed; ``layer_id`` is the group's id)."""

    kind: str
    layer_id: str | None = None
    index: int | None = None
    old_index: int | None = None
    fields: tuple[str, ...] = field(default_factory=tuple)


Listener = Callable[[DocumentEvent], None]


class Document:
    """Canvas size plus layers, index 0 at the bottom."""

    def __init__(self, width: int, height: int, layers: list[Layer] | None = None,
                 *, path: str | None = None, groups: list[Group] | None = None) -> None:
        if int(width) <= 0 or int(height) <= 0:
            raise ValueError(f"canvas size must be positive, got {width}x{height}")
        self.width = int(width)
        self.height = int(height)
        self.path = path
        # The parsed PSD this document was opened from (``source.PsdSource``):
        # lets a save write untouched layers back as read, and say what else changes.
        self.source = None
        self._layers: list[Layer] = []
        self._groups: dict[str, Group] = {}
        self._listeners: list[Listener] = []
        self.revision = 0
        for group in groups or []:
            self._groups[group.id] = group
        for layer in layers or []:
            self._check_new(layer)
            self._layers.append(layer)
        self._check_groups()

    # ----- reading -------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(tuple(self._layers))

    def index_of(self, layer_id: str) -> int:
        for i, layer in enumerate(self._layers):
            if layer.id == layer_id:
                return i
        raise KeyError(f"no layer with id {layer_id!r}")

    def layer(self, layer_id: str) -> Layer:
        return self._layers[self.index_of(layer_id)]

    def find(self, name_or_index: str | int) -> Layer:
        """Look a layer up the way a person names it: index (0 = bottom) or name."""
        if isinstance(name_or_index, int) or str(name_or_index).lstrip("-").isdigit():
            idx = int(name_or_index)
            if -len(self._layers) <= idx < len(self._layers):
                return self._layers[idx]
            raise KeyError(f"no layer at index {idx} (the document has {len(self)} layers)")
        for layer in self._layers:
            if layer.name == name_or_index:
                return layer
        raise KeyError(f"no layer named {name_or_index!r}")

    def topmost_at(self, x: int, y: int, threshold: int = 0) -> Layer | None:
        """The top visible layer (its groups shown too) whose pixel under (x, y) is not transparent."""
        for layer in reversed(self._layers):
            if layer.visible and layer.alpha_at(x, y) > threshold and self.effective(layer)[0]:
                return layer
        return None

    # ----- groups ----------------------------------------------------------
    @property
    def groups(self) -> dict[str, Group]:
        """Groups by id (read-only view; change them through ``update_group``)."""
        return dict(self._groups)

    def group(self, group_id: str) -> Group:
        try:
            return self._groups[group_id]
        except KeyError:
            raise KeyError(f"no group with id {group_id!r}") from None

    def group_chain(self, group_id: str | None) -> list[Group]:
        """A group and its ancestors, outermost first (empty for None)."""
        chain = []
        while group_id is not None:
            group = self.group(group_id)
            chain.append(group)
            group_id = group.parent
        return chain[::-1]

    def layer_chain(self, layer: Layer) -> list[Group]:
        return self.group_chain(layer.group)

    def effective(self, layer: Layer) -> tuple[bool, float]:
        """(shown, opacity) of a layer with its groups' visibility and opacity folded in.

        For consumers that see layers flat (exporters, a flat layer list); exact
        for pass-through groups and for a group's only layer.
        """
        visible, opacity = layer.visible, layer.opacity
        for group in self.layer_chain(layer):
            visible = visible and group.visible
            opacity *= group.opacity
        return visible, opacity

    def _check_groups(self) -> None:
        for group in self._groups.values():
            seen = {group.id}
            parent = group.parent
            while parent is not None:
                if parent not in self._groups:
                    raise ValueError(f"group {group.name!r} has an unknown parent")
                if parent in seen:
                    raise ValueError("groups nest in a loop")
                seen.add(parent)
                parent = self._groups[parent].parent
        for layer in self._layers:
            if layer.group is not None and layer.group not in self._groups:
                raise ValueError(f"layer {layer.name!r} is in an unknown group")

    def add_group(self, group: Group) -> None:
        if not isinstance(group, Group):
            raise TypeError("expected a Group")
        if group.id in self._groups:
            raise ValueError(f"duplicate group id {group.id!r}")
        if group.parent is not None and group.parent not in self._groups:
            raise ValueError("unknown parent group")
        self._groups[group.id] = group
        self._emit(DocumentEvent("group", group.id))

    def remove_group(self, group_id: str) -> Group:
        """Remove an empty group (no layers, no sub-groups)."""
        group = self.group(group_id)
        if any(ly.group == group_id for ly in self._layers) or any(
                g.parent == group_id for g in self._groups.values()):
            raise ValueError(f"group {group.name!r} is not empty")
        del self._groups[group_id]
        self._emit(DocumentEvent("group", group_id))
        return group

    def update_group(self, group_id: str, **changes) -> dict:
        """Set group properties; returns the previous values of those changed."""
        group = self.group(group_id)
        unknown = set(changes) - set(GROUP_FIELDS)
        if unknown:
            raise ValueError(f"unknown group fields: {sorted(unknown)}")
        if "parent" in changes:
            parent = changes["parent"]
            if parent is not None and (parent not in self._groups or group_id in
                                       [g.id for g in self.group_chain(parent)]):
                raise ValueError("a group cannot move into itself or an unknown group")
        candidate = group.copy(**changes)
        old = {}
        for key in changes:
            new_value = getattr(candidate, key)
            if getattr(group, key) is not new_value and getattr(group, key) != new_value:
                old[key] = getattr(group, key)
                setattr(group, key, new_value)
        if old:
            self._emit(DocumentEvent("group", group_id, fields=tuple(old)))
        return old

    @property
    def source_fidelity(self) -> list:
        """Everything in the source file shown as plain pixels (``SourceFeature``s)."""
        return list(self.source.features) if self.source is not None else []

    def save_losses(self) -> list[str]:
        """What saving as a PSD would change beyond the user's edits (see ``source.save_losses``)."""
        from .source import save_losses
        return save_losses(self)

    # ----- notifications -------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: DocumentEvent) -> None:
        self.revision += 1
        for listener in tuple(self._listeners):
            listener(event)

    # ----- low-level mutation (used by commands) -------------------------
    def _check_new(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError("expected a Layer")
        if any(existing.id == layer.id for existing in self._layers):
            raise ValueError(f"duplicate layer id {layer.id!r}")
        if layer.group is not None and layer.group not in self._groups:
            raise ValueError(f"layer {layer.name!r} is in an unknown group")

    def insert_layer(self, index: int, layer: Layer) -> None:
        self._check_new(layer)
        index = max(0, min(int(index), len(self._layers)))
        self._layers.insert(index, layer)
        self._emit(DocumentEvent("inserted", layer.id, index))

    def add_layer(self, layer: Layer) -> None:
        self.insert_layer(len(self._layers), layer)

    def remove_layer(self, layer_id: str) -> tuple[int, Layer]:
        index = self.index_of(layer_id)
        layer = self._layers.pop(index)
        self._emit(DocumentEvent("removed", layer_id, index))
        return index, layer

    def move_layer(self, layer_id: str, new_index: int) -> int:
        old = self.index_of(layer_id)
        new_index = max(0, min(int(new_index), len(self._layers) - 1))
        if new_index != old:
            layer = self._layers.pop(old)
            self._layers.insert(new_index, layer)
            self._emit(DocumentEvent("moved", layer_id, new_index, old))
        return old

    def update_layer(self, layer_id: str, **changes) -> dict:
        """Set layer properties; returns the previous values of those changed."""
        layer = self.layer(layer_id)
        unknown = set(changes) - set(_LAYER_FIELDS)
        if unknown:
            raise ValueError(f"unknown layer fields: {sorted(unknown)}")
        if changes.get("group") is not None and changes["group"] not in self._groups:
            raise ValueError("unknown group")
        if layer.mask is not None and "mask" not in changes and ("x" in changes or "y" in changes):
            # a mask is linked to its layer, as in Photoshop: moving one moves both
            dx = int(changes.get("x", layer.x)) - layer.x
            dy = int(changes.get("y", layer.y)) - layer.y
            if dx or dy:
                changes["mask"] = layer.mask.moved(dx, dy)
        candidate = layer.copy(**changes)  # validates and normalises values
        old = {}
        for key in changes:
            new_value = getattr(candidate, key)
            if getattr(layer, key) != new_value:
                old[key] = getattr(layer, key)
                setattr(layer, key, new_value)
        if old:
            self._emit(DocumentEvent("changed", layer_id, self.index_of(layer_id), fields=tuple(old)))
        return old

    def set_pixels(self, layer_id: str, pixels: np.ndarray, x: int | None = None,
                   y: int | None = None) -> tuple[np.ndarray, int, int]:
        """Replace a layer's pixels (and optionally its offset); returns the old ones."""
        layer = self.layer(layer_id)
        old = (layer.pixels, layer.x, layer.y)
        arr = as_rgba_array(pixels)
        if arr is pixels and arr.flags.writeable:
            arr = arr.copy()
        arr.flags.writeable = False
        layer.pixels = arr
        if x is not None:
            layer.x = int(x)
        if y is not None:
            layer.y = int(y)
        self._emit(DocumentEvent("pixels", layer_id, self.index_of(layer_id)))
        return old

    def replace_all(self, layers: list[Layer], width: int | None = None,
                    height: int | None = None, groups: list[Group] | None = None) -> None:
        """Swap in a whole new layer list (open, decompose-into-new); groups too when given."""
        ids = [layer.id for layer in layers]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate layer ids")
        old_layers, old_groups = self._layers, self._groups
        self._layers = list(layers)
        if groups is not None:
            self._groups = {g.id: g for g in groups}
        try:
            self._check_groups()
        except ValueError:
            self._layers, self._groups = old_layers, old_groups
            raise
        if width is not None:
            self.width = int(width)
        if height is not None:
            self.height = int(height)
        self._emit(DocumentEvent("reset"))

    def resize_canvas(self, width: int, height: int) -> tuple[int, int]:
        old = (self.width, self.height)
        if int(width) <= 0 or int(height) <= 0:
            raise ValueError("canvas size must be positive")
        self.width, self.height = int(width), int(height)
        self._emit(DocumentEvent("canvas"))
        return old

    def copy(self) -> "Document":
        """A deep-enough copy: new Layer objects (same ids), shared immutable pixels."""
        doc = Document(self.width, self.height, [layer.copy() for layer in self._layers],
                       path=self.path, groups=[g.copy() for g in self._groups.values()])
        doc.source = self.source
        return doc

"""One open document in the editor: the document, its undo stack and the current layer.

Every edit a person makes (canvas, layer panel, menus, dialogs) goes through
a method here, so the lock rule and undo wrapping live in one place and the
widgets stay thin. Methods return ``False`` and emit ``refused`` with a
sentence for the status bar when the edit is not allowed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ..document import (AddLayer, BlendMode, Command, DeleteLayer, Document, DocumentEvent,
                        DuplicateLayer, Layer, MacroCommand, MergeDown, MoveLayer, ReorderLayer,
                        ReplaceLayers, ReplacePixels, SetLayerProperties, SetVisibility)
from ..document.group_styles import finish_redraw, plan_redraws
from ..document.layer import new_layer_id
from ..document.layer_ops import MoveLayers
from .undo_adapter import CommandAdapter, MergeIds


class DocumentSession(QObject):
    currentLayerChanged = Signal(object)  # layer id or None
    selectionChanged = Signal()
    refused = Signal(str)
    titleChanged = Signal()
    editMaskChanged = Signal(bool)  # the brush paints the current layer's mask (True) or pixels
    _styleDrawn = Signal(object, object)  # a group style drawn on the pool (job, future)

    def __init__(self, doc: Document, *, path: str | None = None, save_path: str | None = None,
                 name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.id = new_layer_id()  # the same kind of random id (uuid4 hex)
        self.source_path = path  # where it came from (also for non-PSD sources)
        self.save_path = save_path  # where Ctrl+S writes (a PSD), None = ask
        self._name = name
        self.stack = QUndoStack(self)
        self.merge_ids = MergeIds()
        self.job = None  # the running DecomposeJob, if any
        self.overwrite_agreed = False  # the user chose to overwrite the source PSD anyway
        self.current_layer_id: str | None = doc.layers[-1].id if len(doc) else None
        #: the selected layers (the current one included); several with Ctrl/Shift-click
        self.selected_ids: list[str] = [self.current_layer_id] if self.current_layer_id else []
        #: the selected group rows of the layer panel; ``current_group_id`` when a group row is
        #: the current one (then ``current_layer_id`` is None, and the panel edits the group)
        self.selected_group_ids: list[str] = []
        self.current_group_id: str | None = None
        self.edit_mask = False  # the brush edits the current layer's mask (when it has one)
        self._styles_pending = False  # a group style redraw is queued
        self._style_jobs: dict = {}  # "(effects)" layer id -> state key being drawn on the pool
        self._style_pool = None
        #: group styles up to this many pixels are redrawn at once (~50 ms), bigger on a thread
        self.style_sync_pixels = 1_000_000
        self._styleDrawn.connect(self._style_drawn)
        self._unsubscribe = doc.subscribe(self._on_document_event)
        self.stack.cleanChanged.connect(self._clean_changed)

    def _clean_changed(self, _clean: bool) -> None:
        self.titleChanged.emit()

    # ----- naming and state -------------------------------------------------
    @property
    def display_name(self) -> str:
        if self._name:
            return self._name
        path = self.save_path or self.source_path
        return Path(path).name if path else "Untitled"

    def set_saved(self, path: str) -> None:
        self.save_path = os.fspath(path)
        self.doc.path = self.save_path
        self._name = None
        self.stack.setClean()
        self.titleChanged.emit()

    @property
    def modified(self) -> bool:
        return not self.stack.isClean()

    def close(self) -> None:
        self._unsubscribe()
        if self._style_pool is not None:
            self._style_pool.shutdown(wait=False, cancel_futures=True)

    # ----- current layer ------------------------------------------------------
    @property
    def current_layer(self) -> Layer | None:
        if self.current_layer_id is None:
            return None
        try:
            return self.doc.layer(self.current_layer_id)
        except KeyError:
            return None

    def set_current(self, layer_id: str | None) -> None:
        """Make a layer current; unless it is already selected, it becomes the only selection."""
        if layer_id is not None and (self.current_group_id is not None or self.selected_group_ids):
            self.current_group_id = None  # a layer made current from elsewhere (canvas, new layer)
            self.selected_group_ids = []
            if layer_id in self.selected_ids:
                self.selectionChanged.emit()
        if layer_id not in self.selected_ids:
            self._set_selected([layer_id] if layer_id is not None else [])
        if layer_id == self.current_layer_id:
            return
        self.current_layer_id = layer_id
        self.currentLayerChanged.emit(layer_id)

    def set_selection(self, layer_ids, current: str | None = None, groups=(),
                      current_group: str | None = None) -> None:
        """Select several layers and groups (the panel's Ctrl/Shift-click); ``current`` defaults
        to the current layer when it stays selected, else the top selected one. With
        ``current_group`` (a group row is the current row) no layer is current."""
        present = {ly.id for ly in self.doc.layers}
        ids = [lid for lid in dict.fromkeys(layer_ids) if lid in present]
        gids = [gid for gid in dict.fromkeys(groups) if gid in self.doc.groups]
        if current_group not in gids:
            current_group = None
        if current_group is not None:
            current = None
        elif current is None or current not in ids:
            current = self.current_layer_id if self.current_layer_id in ids else (
                max(ids, key=self.doc.index_of) if ids else None)
        groups_changed = (gids, current_group) != (self.selected_group_ids, self.current_group_id)
        self.selected_group_ids, self.current_group_id = gids, current_group
        if ids != self.selected_ids:
            self._set_selected(ids)
        elif groups_changed:
            self.selectionChanged.emit()
        if current is not None:
            self.set_current(current)
        elif self.current_layer_id is not None:
            self.current_layer_id = None
            self.currentLayerChanged.emit(None)
        elif groups_changed:
            self.currentLayerChanged.emit(None)

    @property
    def current_group(self):
        try:
            return self.doc.group(self.current_group_id) if self.current_group_id is not None else None
        except KeyError:
            return None

    def set_edit_mask(self, on: bool) -> None:
        """Choose what the brush paints: the current layer's mask or its pixels (Photoshop: a click
        on the mask or the layer thumbnail)."""
        if bool(on) != self.edit_mask:
            self.edit_mask = bool(on)
            self.editMaskChanged.emit(self.edit_mask)

    def _set_selected(self, ids: list[str]) -> None:
        if ids != self.selected_ids:
            self.selected_ids = list(ids)
            self.selectionChanged.emit()

    @property
    def selected_layers(self) -> list[Layer]:
        """The selected layers, bottom first, with the layers inside selected groups (so moving,
        hiding, aligning or merging a selected group acts on what it holds)."""
        chosen = set(self.selected_ids)
        if self.selected_group_ids:
            from ..document.tree import subtree_layers

            for gid in self.selected_group_ids:
                if gid in self.doc.groups:
                    chosen.update(ly.id for ly in subtree_layers(self.doc, gid))
        return [ly for ly in self.doc.layers if ly.id in chosen]

    def _on_document_event(self, event: DocumentEvent) -> None:
        if event.kind in ("group", "reset") and (self.selected_group_ids or self.current_group_id):
            groups = self.doc.groups
            kept = [gid for gid in self.selected_group_ids if gid in groups]
            if kept != self.selected_group_ids or (self.current_group_id is not None
                                                   and self.current_group_id not in groups):
                self.selected_group_ids = kept
                if self.current_group_id not in groups:
                    self.current_group_id = None
                self.selectionChanged.emit()
                if self.current_group_id is None and self.current_layer_id is None and len(self.doc):
                    self.set_current(self.doc.layers[-1].id)
        if event.kind in ("removed", "reset") and self.selected_ids:
            present = {ly.id for ly in self.doc.layers}
            kept = [lid for lid in self.selected_ids if lid in present]
            if kept != self.selected_ids:
                self._set_selected(kept)
        if event.kind == "inserted" and self.current_layer is None and self.current_group is None:
            self.set_current(event.layer_id)
        elif event.kind in ("removed", "reset") and self.current_layer is None and self.current_group is None:
            layers = self.doc.layers
            if not layers:
                self.set_current(None)
            else:
                index = min(event.index if event.index is not None else len(layers), len(layers))
                self.set_current(layers[max(0, index - 1)].id)
        styles = getattr(self.doc.source, "group_styles", None)
        if styles and event.kind != "canvas" and event.layer_id not in styles:
            # a PSD group's style follows its layers, redrawn once per event-loop turn (a drag's
            # many moves: one redraw; ~50 ms at 1000², ~300 ms at 2000²), never an undo step
            self._schedule_styles()

    def redraw_group_styles(self) -> None:
        """Redraw the styles of PSD groups whose layers changed (see ``document.group_styles``):
        here when small, on a worker thread when bigger than ``style_sync_pixels`` (the
        result is put in only if the group has not changed again meanwhile)."""
        self._styles_pending = False
        for job in plan_redraws(self.doc, skip=self._style_jobs):
            if job.pixels <= self.style_sync_pixels:
                if finish_redraw(self.doc, job, job.compute()) is None:
                    self._schedule_styles()
                continue
            if self._style_pool is None:
                self._style_pool = ThreadPoolExecutor(1, thread_name_prefix="group-style")
            self._style_jobs[job.layer_id] = job.key
            future = self._style_pool.submit(job.compute)
            future.add_done_callback(lambda f, job=job: self._styleDrawn.emit(job, f))

    def _style_drawn(self, job, future) -> None:
        if self._style_jobs.get(job.layer_id) == job.key:
            del self._style_jobs[job.layer_id]
        if future.exception() is not None:
            self.refused.emit(f"the layer style of a group could not be redrawn: {future.exception()}")
            return
        if finish_redraw(self.doc, job, future.result()) is None:
            self._schedule_styles()  # the group changed while drawing: again

    def _schedule_styles(self) -> None:
        if not self._styles_pending:
            self._styles_pending = True
            QTimer.singleShot(0, self, self.redraw_group_styles)

    @property
    def styles_busy(self) -> bool:
        """A group style redraw is queued or being drawn."""
        return self._styles_pending or bool(self._style_jobs)

    # ----- undo plumbing --------------------------------------------------------
    def new_gesture(self) -> int:
        return self.merge_ids.new_gesture()

    def push(self, cmd: Command, gesture: int | None = None, select=None) -> bool:
        """Run ``cmd`` through the undo stack; raises what its redo raised. ``select`` (no
        arguments) selects what the command made, now and again after each Redo."""
        adapter = CommandAdapter(self.doc, cmd, self.merge_ids.id_for(cmd.merge_key, gesture))
        self.stack.push(adapter)
        if adapter.error is not None:
            raise adapter.error
        if select is not None:
            select()
            adapter.reselect = select
        return True

    def check_editable(self, layer_id: str | None, action: str) -> bool:
        """True if the layer may be changed; otherwise say why (``refused``)."""
        return self._editable(layer_id, action) is not None

    def _editable(self, layer_id: str | None, action: str) -> Layer | None:
        if layer_id is None:
            self.refused.emit(f"Select a layer to {action}.")
            return None
        layer = self.doc.layer(layer_id)
        if layer.locked:
            self.refused.emit(f"“{layer.name}” is locked. Unlock it to {action} it.")
            return None
        return layer

    # ----- edits ----------------------------------------------------------------
    def move_layer(self, layer_id: str | None, dx: int, dy: int, gesture: int | None = None) -> bool:
        if not self._editable(layer_id, "move"):
            return False
        if dx == 0 and dy == 0:
            return True
        return self.push(MoveLayer(layer_id, dx, dy), gesture)

    def move_selection(self, dx: int, dy: int, gesture: int | None = None) -> bool:
        """Move every selected layer (locked ones refuse the whole move); one step per gesture."""
        layers = self.selected_layers
        if len(layers) <= 1 and not (layers and self.selected_group_ids):
            return self.move_layer(self.current_layer_id, dx, dy, gesture)
        locked = [ly for ly in layers if ly.locked]
        if locked:
            self.refused.emit(f"“{locked[0].name}” is locked. Unlock it to move the selection.")
            return False
        if dx == 0 and dy == 0:
            return True
        text = "Move group" if self.selected_group_ids and not self.selected_ids else "Move layers"
        return self.push(MoveLayers({ly.id: (dx, dy) for ly in layers}, text, merge=gesture is not None,
                                    group_deltas={gid: (dx, dy) for gid in self.selected_subgroups()}), gesture)

    def selected_subgroups(self) -> list[str]:
        """The selected groups and every group inside them (moved along: their masks go too)."""
        from ..document.tree import subtree_groups

        return list(dict.fromkeys(g for gid in self.selected_group_ids if gid in self.doc.groups
                                  for g in sorted(subtree_groups(self.doc, gid))))

    def selection_units(self) -> list[list[Layer]]:
        """The selection as things that align and distribute as one: each selected group (its
        layers keep their layout) and each selected layer outside them, bottom first."""
        from ..document.tree import subtree_layers

        taken: set[str] = set()
        units = []
        for gid in self.selected_group_ids:
            if gid not in self.doc.groups or any(g.id in self.selected_group_ids
                                                 for g in self.doc.group_chain(gid)[:-1]):
                continue  # inside another selected group: part of that one
            layers = subtree_layers(self.doc, gid)
            taken.update(ly.id for ly in layers)
            units.append(layers)
        units += [[ly] for ly in self.doc.layers if ly.id in self.selected_ids and ly.id not in taken]
        return units

    def move_layers(self, deltas: dict[str, tuple[int, int]], text: str,
                    group_deltas: dict[str, tuple[int, int]] | None = None) -> bool:
        """Move layers by their own offsets as one step (align, distribute); ``group_deltas``
        move groups' masks along with their layers."""
        deltas = {lid: d for lid, d in deltas.items() if tuple(d) != (0, 0)}
        if not deltas:
            return False
        for lid in deltas:
            if not self._editable(lid, "move"):
                return False
        return self.push(MoveLayers(deltas, text=text, group_deltas=group_deltas))

    def add_layer(self, layer: Layer, text: str = "New layer", above: str | None = None) -> bool:
        """Insert a new layer above ``above`` (default: the current layer) and make it current."""
        above = above if above is not None else self.current_layer_id
        index = self.doc.index_of(above) + 1 if above is not None else len(self.doc)
        if above is not None and layer.group is None and self.doc.layer(above).group is not None:
            layer.group = self.doc.layer(above).group  # above a layer in a group: in that group
        self.push(AddLayer(layer, index, text=text), select=lambda: self.set_current(layer.id))
        return True

    def delete_selection(self) -> bool:
        if self.selected_group_ids:
            return self.delete_groups_and_layers()
        layers = self.selected_layers
        if len(layers) <= 1:
            return self.delete(self.current_layer_id)
        for layer in layers:
            if not self._editable(layer.id, "delete"):
                return False
        return self.push(MacroCommand([DeleteLayer(ly.id) for ly in reversed(layers)],
                                      text=f"Delete {len(layers)} layers"))

    def set_selection_visible(self, visible: bool) -> bool:
        change = {ly.id: bool(visible) for ly in self.selected_layers if ly.visible != bool(visible)}
        if not change:
            return True
        text = ("Show" if visible else "Hide") + (" layers" if len(change) > 1 else " layer")
        return self.push(SetVisibility(change, text))

    def merge_selection(self) -> bool:
        """Merge the selected layers into one, where the top one was (Photoshop's Merge Layers)."""
        from ..document import merge_layers

        layers = self.selected_layers
        if len(layers) < 2:
            return self.merge_down(self.current_layer_id)
        for layer in layers:
            if not self._editable(layer.id, "merge"):
                return False
        top = layers[-1]
        merged = merge_layers(layers, name=top.name)
        merged.group = top.group  # where the top layer was, in its group (no group split in two)
        cmd = ReplaceLayers([ly.id for ly in layers], [merged], self.doc.index_of(top.id) - len(layers) + 1,
                            text=f"Merge {len(layers)} layers")
        self.push(cmd)
        self.set_current(merged.id)
        return True

    def set_visible(self, layer_id: str, visible: bool) -> bool:
        if self.doc.layer(layer_id).visible == bool(visible):
            return True
        text = "Show layer" if visible else "Hide layer"
        return self.push(SetVisibility({layer_id: bool(visible)}, text))

    def show_only(self, layer_id: str) -> bool:
        """Alt-click: show only this layer; Alt-click again brings the others back."""
        others = [ly for ly in self.doc.layers if ly.id != layer_id]
        target = self.doc.layer(layer_id)
        if target.visible and others and not any(ly.visible for ly in others):
            change = {ly.id: True for ly in others}
            text = "Show all layers"
        else:
            change = {ly.id: False for ly in others if ly.visible}
            if not target.visible:
                change[layer_id] = True
            text = "Show only this layer"
        if not change:
            return True
        return self.push(SetVisibility(change, text))

    def set_opacity(self, layer_id: str, opacity: float, gesture: int | None = None) -> bool:
        layer = self._editable(layer_id, "change the opacity of")
        if layer is None:
            return False
        if abs(layer.opacity - opacity) < 1e-6:
            return True
        return self.push(SetLayerProperties(layer_id, merge=gesture is not None, opacity=opacity), gesture)

    def set_blend_mode(self, layer_id: str, mode: BlendMode | str) -> bool:
        layer = self._editable(layer_id, "change the blend mode of")
        if layer is None:
            return False
        mode = BlendMode.parse(mode)
        if layer.blend_mode == mode:
            return True
        return self.push(SetLayerProperties(layer_id, blend_mode=mode))

    def set_locked(self, layer_id: str, locked: bool) -> bool:
        if self.doc.layer(layer_id).locked == bool(locked):
            return True
        return self.push(SetLayerProperties(layer_id, locked=bool(locked)))

    def rename(self, layer_id: str, name: str) -> bool:
        name = name.strip()
        if not name or self.doc.layer(layer_id).name == name:
            return False
        return self.push(SetLayerProperties(layer_id, name=name))

    def reorder(self, layer_id: str, new_index: int) -> bool:
        new_index = max(0, min(int(new_index), len(self.doc) - 1))
        if self.doc.index_of(layer_id) == new_index:
            return False
        return self.push(ReorderLayer(layer_id, new_index))

    def duplicate(self, layer_id: str | None) -> bool:
        if layer_id is None and self.current_group is not None:  # a group row: the whole group
            from ..document.tree import DuplicateGroup

            cmd = DuplicateGroup(self.current_group_id)
            self.push(cmd, select=lambda: self.set_selection([], groups=[cmd.new_group.id],
                                                             current_group=cmd.new_group.id))
            return True
        if layer_id is None:
            return False
        cmd = DuplicateLayer(layer_id)
        self.push(cmd, select=lambda: self.set_current(cmd.new_layer.id))
        return True

    def merge_down(self, layer_id: str | None) -> bool:
        layer = self._editable(layer_id, "merge")
        if layer is None:
            return False
        index = self.doc.index_of(layer_id)
        if index == 0:
            self.refused.emit(f"“{layer.name}” is the bottom layer: there is nothing below to merge into.")
            return False
        below = self.doc.layers[index - 1]
        if below.locked:
            self.refused.emit(f"“{below.name}” below is locked. Unlock it to merge into it.")
            return False
        cmd = MergeDown(self.doc, layer_id)
        self.push(cmd)
        self.set_current(cmd.new_layers[0].id)
        return True

    def delete(self, layer_id: str | None) -> bool:
        if not self._editable(layer_id, "delete"):
            return False
        return self.push(DeleteLayer(layer_id))

    def replace_pixels(self, layer_id: str, pixels: np.ndarray, text: str = "Edit pixels") -> bool:
        if not self._editable(layer_id, "edit"):
            return False
        return self.push(ReplacePixels(layer_id, pixels, text=text))

    def apply_split(self, split, layer: Layer) -> bool:
        """Put a finished :class:`LayerSplit` of ``layer`` into the document as one undo step.

        Refused (nothing changes) when the layer was deleted, moved or edited
        while the split ran: the parts were cut and placed for the old layer.
        """
        try:
            current = self.doc.layer(split.layer_id)
        except KeyError:
            self.refused.emit("The layer was deleted meanwhile; nothing was changed.")
            return False
        if current.pixels is not layer.pixels or (current.x, current.y) != (layer.x, layer.y):
            self.refused.emit(f"“{current.name}” changed while it was being split; split it again.")
            return False
        if not split.new_layers:
            self.refused.emit("The split returned no layers; the document is unchanged.")
            return False
        if len(split.new_layers) == 1:  # one object: replacing it by itself would be a step doing nothing
            self.refused.emit(f"“{current.name}” holds one object: there was nothing to split; "
                              "the layer is unchanged.")
            return False
        if not self._editable(split.layer_id, "split"):
            return False
        cmd = split.command()
        cmd.text = f"Split “{current.name}”"
        self.push(cmd)
        self.set_current(cmd.new_layers[-1].id)
        return True

    def replace_pixels_at(self, layer_id: str, pixels: np.ndarray, x: int, y: int, text: str) -> bool:
        """New pixels and offset for a layer (free transform, flip), one step."""
        if not self._editable(layer_id, "transform"):
            return False
        return self.push(ReplacePixels(layer_id, pixels, x, y, text=text))

    def replace_with_decomposition(self, result: Document, layer_id: str | None = None,
                                   remove_ids: list[str] | None = None) -> bool:
        """Put an engine's layers into the document as ONE undo step.

        Whole image: the result's layers replace the layers present when the
        job started (``remove_ids``; ones deleted meanwhile are skipped).
        One layer: its parts replace it, shifted by the layer's offset.
        """
        if not len(result):
            self.refused.emit("The decomposition returned no layers; the document is unchanged.")
            return False
        if layer_id is not None:
            source = self.doc.layer(layer_id)
            parts = [ly.copy(new_id=True, x=ly.x + source.x, y=ly.y + source.y,
                             name=f"{source.name} · {ly.name}") for ly in result.layers]
            cmd = ReplaceLayers([layer_id], parts, text=f"Split “{source.name}”")
        else:
            present = {ly.id for ly in self.doc.layers}
            keep = [lid for lid in (remove_ids if remove_ids is not None else list(present)) if lid in present]
            layers = [ly.copy() for ly in result.layers]
            size = None if (result.width, result.height) == self.doc.size else (result.width, result.height)
            drop = self._groups_left_empty(set(keep))
            if drop:  # the result is flat: groups whose layers all go, go too (one step)
                from ..document.tree import DeleteGroup, subtree_layers

                inside = {ly.id for gid in drop for ly in subtree_layers(self.doc, gid)}
                keep = [lid for lid in keep if lid not in inside]
            cmd = ReplaceLayers(keep, layers, None, text="Decompose into layers",
                                canvas_size=size)
            if drop:
                self.push(MacroCommand([DeleteGroup(gid) for gid in drop] + [cmd], text=cmd.text))
                self.set_current(cmd.new_layers[-1].id)
                return True
        self.push(cmd)
        self.set_current(cmd.new_layers[-1].id)
        return True

    # ----- groups (the layer panel's tree) ---------------------------------------------------------
    def _groups_left_empty(self, removed: set[str]) -> list[str]:
        """The outermost groups that hold no layer once ``removed`` are gone."""
        from ..document.tree import subtree_layers

        empty = [gid for gid in self.doc.groups
                 if all(ly.id in removed for ly in subtree_layers(self.doc, gid))]
        return [gid for gid in empty if self.doc.group(gid).parent not in empty]

    def _group(self, group_id: str | None, action: str):
        if group_id is None or group_id not in self.doc.groups:
            self.refused.emit(f"Select a group to {action}.")
            return None
        return self.doc.group(group_id)

    def set_group_properties(self, group_id: str, gesture: int | None = None, **values) -> bool:
        """Name, visibility, opacity or blend mode (None = pass through) of a group, one step
        (a slider drag with one ``gesture`` is one step)."""
        from ..document import SetGroupProperties

        group = self._group(group_id, "change")
        if group is None:
            return False
        values = {k: v for k, v in values.items() if getattr(group, k) != v}
        if not values:
            return True
        cmd = SetGroupProperties(group_id, merge=gesture is not None, **values)
        cmd.text = {"name": "Rename group", "visible": "Show group" if values.get("visible") else "Hide group",
                    "opacity": "Change group opacity", "blend_mode": "Change group blend mode"}.get(
            next(iter(values)), "Change group") if len(values) == 1 else "Change group"
        return self.push(cmd, gesture)

    def rename_group(self, group_id: str, name: str) -> bool:
        name = name.strip()
        if not name or group_id not in self.doc.groups or self.doc.group(group_id).name == name:
            return False
        return self.set_group_properties(group_id, name=name)

    def set_group_visible(self, group_id: str, visible: bool) -> bool:
        return self.set_group_properties(group_id, visible=bool(visible))

    def set_group_opacity(self, group_id: str, opacity: float, gesture: int | None = None) -> bool:
        return self.set_group_properties(group_id, gesture, opacity=float(opacity))

    def set_group_blend_mode(self, group_id: str, mode) -> bool:
        """``mode`` None (or "pass through") is Photoshop's pass-through; else a blend mode."""
        if isinstance(mode, str) and mode.replace("-", " ").strip().lower() in ("pass through", "pass"):
            mode = None
        return self.set_group_properties(group_id, blend_mode=None if mode is None else BlendMode.parse(mode))

    def move_in_tree(self, layer_ids, group_ids, parent: str | None, above: str | None) -> bool:
        """Drag and drop in the panel: layers and groups into ``parent`` directly above ``above``
        (None: at its bottom), one step; False (nothing changes) when they are already there."""
        from ..document.tree import MoveInTree

        try:
            cmd = MoveInTree(layer_ids, group_ids, parent, above)
            plan = cmd.plan(self.doc)
        except (ValueError, KeyError) as err:
            self.refused.emit(f"Cannot move there: {err.args[0] if err.args else err}.")
            return False
        current = ([ly.id for ly in self.doc.layers], {ly.id: ly.group for ly in self.doc.layers},
                   {g.id: g.parent for g in self.doc.groups.values()})
        if plan == current:
            return False
        cmd.new = plan
        cmd.text = ("Move into group" if parent is not None else
                    "Move group" if group_ids and not layer_ids else "Move layers")
        return self.push(cmd)

    def group_selection(self) -> bool:
        """Ctrl+G: the selected layers and groups into a new group, which becomes current."""
        from ..document.tree import GroupItems

        layer_ids = list(self.selected_ids)
        group_ids = list(self.selected_group_ids)
        if not layer_ids and not group_ids:
            self.refused.emit("Select the layers to group (Ctrl-click in the Layers panel).")
            return False
        taken = [n for n in (g.name for g in self.doc.groups.values()) if n.startswith("Group ")]
        number = 1 + max([int(n[6:]) for n in taken if n[6:].isdigit()] or [0])
        cmd = GroupItems(layer_ids, group_ids, name=f"Group {number}")
        try:
            self.push(cmd, select=lambda: self.set_selection([], groups=[cmd.group.id],
                                                             current_group=cmd.group.id))
        except ValueError as err:
            self.refused.emit(f"Cannot group: {err}.")
            return False
        return True

    def ungroup_selection(self) -> bool:
        """Ctrl+Shift+G: dissolve the selected groups (or the group of the current layer); what
        they held stays where it is, in their parent. One step."""
        from ..document import Ungroup

        gids = list(self.selected_group_ids)
        if not gids and self.current_layer is not None and self.current_layer.group is not None:
            gids = [self.current_layer.group]
        if not gids:
            self.refused.emit("Select a group to ungroup.")
            return False
        cmds = [Ungroup(g) for g in gids]
        self.push(cmds[0] if len(cmds) == 1 else MacroCommand(cmds, text=f"Ungroup {len(cmds)} groups"))
        if cmds[0].layers:
            top = max(cmds[0].layers, key=self.doc.index_of)
            self.set_current(top)
        return True

    def delete_groups_and_layers(self) -> bool:
        """Delete the selected groups with everything in them, and the selected layers, one step.
        Refused (nothing changes) when a layer that would go is locked."""
        from ..document.tree import DeleteGroup, subtree_groups, subtree_layers

        gids = [g for g in self.selected_group_ids if g in self.doc.groups]
        inside = set()
        for gid in gids:
            inside |= subtree_groups(self.doc, gid) - {gid}
        gids = [g for g in gids if g not in inside]
        covered = inside | set(gids)
        layers = [self.doc.layer(lid) for lid in self.selected_ids if self.doc.layer(lid).group not in covered]
        doomed = layers + [ly for gid in gids for ly in subtree_layers(self.doc, gid)]
        locked = next((ly for ly in doomed if ly.locked), None)
        if locked is not None:
            self.refused.emit(f"“{locked.name}” is locked. Unlock it to delete it"
                              + (" with its group." if locked not in layers else "."))
            return False
        cmds = [DeleteGroup(g) for g in gids] + [DeleteLayer(ly.id) for ly in
                                                 sorted(layers, key=lambda ly: -self.doc.index_of(ly.id))]
        if len(cmds) == 1:
            if gids:
                cmds[0].text = f"Delete group “{self.doc.group(gids[0]).name}”"
            return self.push(cmds[0])
        return self.push(MacroCommand(cmds, text=f"Delete {len(cmds)} items"))

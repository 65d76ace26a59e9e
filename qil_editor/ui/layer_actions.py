"""The window's Layer menu: actions on the current layer of the current document.

Each action goes through the document's session (lock rule, undo step);
this class only finds the current tab and layer and opens the dialogs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:  # pragma: no cover
    from .app_window import MainWindow
    from .recolor_dialog import RecolorDialog


#: clipboard format with where a copied layer sat: "canvas w,canvas h,x,y,name"
PLACE_MIME = "application/x-qil-layer-place"


class LayerActions:
    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self._reprompt_check: tuple[tuple, object] | None = None  # (settings key, Availability)
        self._pending_check: tuple | None = None  # the key being checked on the pool

    def reprompt_availability(self):
        """Whether Re-prompt can run (the edit weights are found), so the action is disabled with
        the reason as its tooltip instead of failing on click. The check reads the disk (the
        model folder, the Hugging Face cache), so it runs on the task pool; until it answers,
        the action stays enabled (a click then explains, as before)."""
        import os

        from ..engines.base import Availability
        from ..engines.edit import ENV_VAR

        settings = self.window.settings
        key = (settings.edit_model_dir, os.environ.get(ENV_VAR, ""))
        if self._reprompt_check is not None and self._reprompt_check[0] == key:
            return self._reprompt_check[1]
        if self._pending_check != key:
            self._pending_check = key
            self.window.tasks.submit(self._check_edit_model, callback=lambda result, error: self._checked(
                key, result, error))
        return Availability(True)

    def _check_edit_model(self):
        from .reprompt_dialog import base_options, editor_for

        return editor_for(self.window).availability(base_options(self.window))

    def _checked(self, key, result, error) -> None:
        from ..engines.base import Availability

        if self._pending_check == key:
            self._pending_check = None
        self._reprompt_check = (key, result if error is None else Availability(False, str(error)))
        self.window.update_actions()

    def forget_availability(self) -> None:
        """Preferences changed: check the model folders again."""
        self._reprompt_check = None
        self._pending_check = None

    def _current(self):
        tab = self.window.current
        return (tab, tab.session.current_layer) if tab is not None else (None, None)

    def op(self, method: str):
        """A slot running ``session.<method>(current layer id)``."""
        def run() -> None:
            tab = self.window.current
            if tab is not None:
                getattr(tab.session, method)(tab.session.current_layer_id)
        return run

    # ----- the selection ------------------------------------------------------------------------
    def delete(self) -> None:
        tab = self.window.current
        if tab is not None:
            tab.session.delete_selection()

    def merge(self) -> None:
        """Ctrl+E: merge the selected layers, or the current one down when only it is selected."""
        tab = self.window.current
        if tab is not None:
            tab.session.merge_selection()

    def align(self, mode: str) -> None:
        """Align the selection to itself (two or more layers or groups) or the one layer or group
        to the canvas; a selected group moves as one (its layers keep their layout)."""
        from ..document.layer_ops import align_units

        tab = self.window.current
        if tab is None:
            return
        session = tab.session
        units = session.selection_units() or ([[session.current_layer]] if session.current_layer else [])
        to = None if len(units) > 1 else (0, 0, session.doc.width, session.doc.height)
        deltas = align_units(units, mode, to)
        names = {"left": "left edges", "hcenter": "horizontal centres", "right": "right edges",
                 "top": "top edges", "vcenter": "vertical centres", "bottom": "bottom edges"}
        if not session.move_layers(deltas, f"Align {names[mode]}", _group_deltas(session, deltas)):
            self.window.statusBar().showMessage("Already aligned.", 3000)

    def distribute(self, mode: str) -> None:
        from ..document.layer_ops import distribute_units

        tab = self.window.current
        if tab is None:
            return
        session = tab.session
        units = session.selection_units()
        if len(units) < 3:
            session.refused.emit("Select three or more layers to distribute them (Ctrl-click in the Layers panel).")
            return
        deltas = distribute_units(units, mode)
        if not session.move_layers(deltas, f"Distribute {mode}ly", _group_deltas(session, deltas)):
            self.window.statusBar().showMessage("Already evenly spaced.", 3000)

    def group(self) -> None:
        """Ctrl+G: the selected layers and groups into a new group."""
        tab = self.window.current
        if tab is not None:
            tab.session.group_selection()

    def ungroup(self) -> None:
        """Ctrl+Shift+G: dissolve the selected group (or the current layer's group)."""
        tab = self.window.current
        if tab is not None:
            tab.session.ungroup_selection()

    # ----- new layers ------------------------------------------------------------------------------
    def new_layer(self) -> None:
        from ..document.layer_ops import empty_layer

        tab = self.window.current
        if tab is not None:
            tab.session.add_layer(empty_layer(tab.session.doc), "New layer")

    def copy(self) -> bool:
        """Ctrl+C: the current layer's pixels to the clipboard (with its place, for pasting in place)."""
        from PySide6.QtCore import QMimeData
        from PySide6.QtWidgets import QApplication

        from .qimage import rgba_to_qimage

        tab = self.window.current
        layer = tab.session.current_layer if tab is not None else None
        if layer is None:
            return False
        mime = QMimeData()
        mime.setImageData(rgba_to_qimage(layer.pixels).copy())
        mime.setData(PLACE_MIME, f"{tab.session.doc.width},{tab.session.doc.height},{layer.x},{layer.y},"
                                 f"{layer.name}".encode("utf-8"))
        QApplication.clipboard().setMimeData(mime)
        self.window.statusBar().showMessage(f"Copied “{layer.name}”.", 3000)
        return True

    def paste(self) -> bool:
        """Ctrl+V: the clipboard's image as a new layer above the current one: where it was copied
        from when it came from a document of the same size, else centred on the canvas."""
        from PySide6.QtWidgets import QApplication

        from .qimage import qimage_to_rgba

        tab = self.window.current
        if tab is None:
            return False
        mime = QApplication.clipboard().mimeData()
        if mime is None or not mime.hasImage():
            tab.session.refused.emit("The clipboard holds no image to paste.")
            return False
        image = mime.imageData()
        if image is None or image.isNull():
            tab.session.refused.emit("The clipboard holds no image to paste.")
            return False
        pixels = qimage_to_rgba(image)
        doc = tab.session.doc
        x, y = (doc.width - pixels.shape[1]) // 2, (doc.height - pixels.shape[0]) // 2
        name = "Pasted"
        place = bytes(mime.data(PLACE_MIME)).decode("utf-8", "replace") if mime.hasFormat(PLACE_MIME) else ""
        parts = place.split(",", 4)
        if len(parts) == 5 and parts[:2] == [str(doc.width), str(doc.height)]:
            try:
                x, y = int(parts[2]), int(parts[3])
            except ValueError:
                pass
            name = parts[4] + " copy"
        from ..document import Layer

        tab.session.add_layer(Layer(pixels, name=name, x=x, y=y), "Paste as layer")
        # replaces "Copied …", which otherwise stays up for the paste
        self.window.statusBar().showMessage(f"Pasted “{name}” as a new layer.", 3000)
        return True

    def add_files_as_layers(self, paths) -> int:
        """Dropped onto a document: each readable image becomes a layer (a PSD, its merged image)."""
        from ..document import Layer, composite
        from ..document.compositing import lone_layer_pixels
        from ..errors import QilError
        from ..io import open_document

        tab = self.window.current
        if tab is None:
            return 0
        added = 0
        doc = tab.session.doc
        for path in paths:
            try:
                source = open_document(path)
            except QilError as err:
                self.window.show_error(err, "Could not add the file as a layer")
                continue
            pixels = lone_layer_pixels(source)
            if pixels is None:  # a mask, a fade, several layers: what the file shows
                pixels = composite(source)
            import os

            name = os.path.splitext(os.path.basename(path))[0]
            layer = Layer(pixels, name=name, x=(doc.width - source.width) // 2, y=(doc.height - source.height) // 2)
            tab.session.add_layer(layer, "Add layer from file")
            added += 1
        return added

    def toggle_lock(self) -> None:
        tab, layer = self._current()
        if layer is not None:
            tab.session.set_locked(layer.id, not layer.locked)

    def toggle_visible(self) -> None:
        """Show or hide the selected layers (the opposite of the current one's state), or the
        current group."""
        tab, layer = self._current()
        group = tab.session.current_group if tab is not None else None
        if group is not None:
            tab.session.set_group_visible(group.id, not group.visible)
        elif layer is not None:
            tab.session.set_selection_visible(not layer.visible)

    def recolor_dialog(self) -> RecolorDialog | None:
        from .recolor_dialog import RecolorDialog  # made on first use, not with the window

        window = self.window
        tab = window.current
        if tab is None or not tab.session.check_editable(tab.session.current_layer_id, "recolor"):
            return None
        dialog = RecolorDialog(tab.session, tab.session.current_layer_id, tab.canvas, window.tasks, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.finished.connect(lambda _r: setattr(window, "active_dialog", None))
        window.active_dialog = dialog
        dialog.open()
        return dialog

    def reprompt_dialog(self):
        """Layer > Re-prompt… (the dialog module owns the editor, the job and the preview)."""
        from .reprompt_dialog import open_reprompt

        return open_reprompt(self.window)


def _group_deltas(session, deltas: dict) -> dict:
    """The selected groups move by their layers' offset (their masks go along)."""
    from ..document.tree import subtree_layers

    out = {}
    for gid in session.selected_subgroups():
        moved = [deltas[ly.id] for ly in subtree_layers(session.doc, gid) if ly.id in deltas]
        if moved:
            out[gid] = moved[0]
    return out

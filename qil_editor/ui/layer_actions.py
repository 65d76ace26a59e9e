"""The window's Layer menu: actions on the current layer of the current document.

Each action goes through the document's session (lock rule, undo step);
this class only finds the current tab and layer and opens the dialogs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from .recolor_dialog import RecolorDialog

if TYPE_CHECKING:  # pragma: no cover
    from .app_window import MainWindow


class LayerActions:
    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self._reprompt_check: tuple[tuple, object] | None = None  # (settings key, Availability)

    def reprompt_availability(self):
        """Whether Re-prompt can run (the edit weights are found), cached per model setting:
        the action is disabled with the reason as its tooltip instead of failing on click."""
        import os

        from ..engines.edit import ENV_VAR
        from .reprompt_dialog import base_options, editor_for

        settings = self.window.settings
        key = (settings.edit_model_dir, os.environ.get(ENV_VAR, ""))
        if self._reprompt_check is None or self._reprompt_check[0] != key:
            self._reprompt_check = (key, editor_for(self.window).availability(base_options(self.window)))
        return self._reprompt_check[1]

    def forget_availability(self) -> None:
        """Preferences changed: check the model folders again."""
        self._reprompt_check = None

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

    def toggle_lock(self) -> None:
        tab, layer = self._current()
        if layer is not None:
            tab.session.set_locked(layer.id, not layer.locked)

    def toggle_visible(self) -> None:
        tab, layer = self._current()
        if layer is not None:
            tab.session.set_visible(layer.id, not layer.visible)

    def recolor_dialog(self) -> RecolorDialog | None:
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

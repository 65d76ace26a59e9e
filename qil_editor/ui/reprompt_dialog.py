"""Layer > Re-prompt…: edit the current layer with a text prompt, preview, then Apply or Discard.

The edit runs as an edit :class:`~qil_editor.engines.jobs.Job` on a
:class:`JobThread` (one QThread per run, awaited through qasync), the same
runner as decomposition, so progress, cancel, errors and the
one-job-per-document rule are the same. The
result is previewed on the canvas and in the dialog; the document changes
only on Apply, as one undo step (``ReplacePixels``). Without edit weights
the action explains what to download and where, and opens nothing.

The buttons follow the run's state, set when it starts and when it ends.
Closing the dialog during a run cancels it and returns at once: the run
ends on its thread and the one-job slot frees itself then (the UI thread
never waits). The prompt, shape and steps are remembered between opens.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget)

from ..document import Layer
from ..engines.edit import DOWNLOAD_HINT, EditOptions, LayerEdit, QwenLayerEditor
from ..engines.edit.run import HAS_STRENGTH
from ..engines.jobs import Progress, format_eta
from ..errors import CancelledError, QilError
from .job_status import counting, describe
from .qimage import rgba_to_qimage
from .worker import JobThread, edit_job

log = logging.getLogger(__name__)

PREVIEW_SIZE = 220


def on_old_box(layer: Layer, edit: LayerEdit) -> np.ndarray:
    """The edit's pixels in the layer's current frame (for the canvas preview; parts outside are cut)."""
    if (edit.x, edit.y) == (layer.x, layer.y) and edit.pixels.shape == layer.pixels.shape:
        return edit.pixels
    out = np.zeros_like(layer.pixels)
    dx, dy = edit.x - layer.x, edit.y - layer.y
    h, w = edit.pixels.shape[:2]
    x0, y0 = max(dx, 0), max(dy, 0)
    x1, y1 = min(dx + w, out.shape[1]), min(dy + h, out.shape[0])
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = edit.pixels[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
    return out


def _checker_pixmap(rgba: np.ndarray, size: int) -> QPixmap:
    """A thumbnail of an RGBA array over a checkerboard."""
    h, w = rgba.shape[:2]
    scale = min(size / max(w, 1), size / max(h, 1), 1.0)
    tw, th = max(1, int(w * scale)), max(1, int(h * scale))
    import cv2

    small = cv2.resize(rgba, (tw, th), interpolation=cv2.INTER_AREA) if (tw, th) != (w, h) else rgba
    yy, xx = np.mgrid[0:th, 0:tw]
    board = np.where(((yy // 8 + xx // 8) % 2)[..., None] == 0, 230, 255).astype(np.float32)
    a = small[..., 3:4].astype(np.float32) / 255.0
    rgb = small[..., :3].astype(np.float32) * a + board * (1 - a)
    out = np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), np.full((th, tw), 255, np.uint8)])
    return QPixmap.fromImage(rgba_to_qimage(np.ascontiguousarray(out)).copy())


class RepromptDialog(QDialog):
    """Prompt, shape mode, steps, seed, guidance; Generate, then Apply or Discard."""

    def __init__(self, window, tab, layer_id: str, editor: QwenLayerEditor,
                 base: EditOptions | None = None) -> None:
        super().__init__(window)
        self.window_, self.tab, self.layer_id, self.editor = window, tab, layer_id, editor
        self.base = base or EditOptions(prompt="edit")
        self.memory = getattr(getattr(window, "settings", None), "q", None)  # QSettings, if any
        self.job: JobThread | None = None
        self._running = False
        self._step_message: str | None = None  # what the counted steps said (see job_status)
        self.task: asyncio.Future | None = None
        self.result: LayerEdit | None = None
        self.status_text = ""
        self._closed = False
        layer = tab.session.doc.layer(layer_id)
        self.setWindowTitle(f"Re-prompt “{layer.name}”")
        self.setObjectName("repromptDialog")
        self.target = QLabel(f"Editing the layer <b>“{layer.name}”</b> "
                             f"({layer.width} × {layer.height} px).")
        self.target.setObjectName("repromptTarget")

        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("e.g. make the bottle blue glass")
        self.keep_shape = QRadioButton("Keep shape (recolour, texture, style: the outline stays exactly)")
        self.new_shape = QRadioButton("New shape (the outline may change)")
        group = QButtonGroup(self)
        group.addButton(self.keep_shape)
        group.addButton(self.new_shape)
        (self.keep_shape if self.base.shape == "keep" else self.new_shape).setChecked(True)
        self.steps = QSpinBox()
        self.steps.setRange(1, 100)
        self.steps.setValue(int(self.base.steps))
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 2)
        self.random_seed = QCheckBox("Random")
        self.random_seed.setChecked(self.base.seed is None)
        if self.base.seed is not None:
            self.seed.setValue(int(self.base.seed))
        self.seed.setEnabled(self.base.seed is not None)
        self.random_seed.toggled.connect(lambda on: self.seed.setEnabled(not on))
        seed_row = QWidget()
        seed_layout = QHBoxLayout(seed_row)
        seed_layout.setContentsMargins(0, 0, 0, 0)
        seed_layout.addWidget(self.seed, 1)
        seed_layout.addWidget(self.random_seed)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(1.0, 10.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setValue(float(self.base.cfg_scale))
        self.guidance.setToolTip("How strongly the prompt applies. Qwen-Image-Edit has no img2img "
                                 "strength setting" if not HAS_STRENGTH else "Prompt guidance")
        self.layered_alpha = QCheckBox("Find the new outline with Qwen-Image-Layered (slower)")
        self.layered_alpha.setEnabled(editor.layered_available(self.base))
        self.new_shape.toggled.connect(self._update_buttons)
        self._recall()

        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Shape", self.keep_shape)
        form.addRow("", self.new_shape)
        form.addRow("", self.layered_alpha)
        form.addRow("Steps", self.steps)
        form.addRow("Seed", seed_row)
        form.addRow("Guidance", self.guidance)

        self.before = QLabel()
        self.after = QLabel("Press Generate to see the result here.")
        for label in (self.before, self.after):
            label.setMinimumSize(PREVIEW_SIZE, PREVIEW_SIZE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.before.setPixmap(_checker_pixmap(layer.pixels, PREVIEW_SIZE))
        previews = QHBoxLayout()
        previews.addWidget(self.before)
        previews.addWidget(self.after)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.generate_button = QPushButton("&Generate")
        self.cancel_button = QPushButton("&Cancel run")
        self.apply_button = QPushButton("&Apply")
        self.discard_button = QPushButton("&Discard")
        self.close_button = QPushButton("Close")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel_run)
        self.apply_button.clicked.connect(self.apply)
        self.discard_button.clicked.connect(self.discard)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.generate_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.apply_button, self.discard_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addWidget(self.target)
        layout.addLayout(form)
        layout.addLayout(previews)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.prompt.textChanged.connect(self._update_buttons)
        # the window's Undo/Redo work here too (the status after Apply suggests Ctrl+Z)
        actions = getattr(window, "actions_by_name", {})
        self.addActions([actions[name] for name in ("undo", "redo") if name in actions])
        self._update_buttons()

    # ----- remembered choices -------------------------------------------------------
    def _recall(self) -> None:
        """Prompt, shape and steps from the last time the dialog was used."""
        if self.memory is None:
            return
        self.prompt.setText(str(self.memory.value("reprompt/prompt", "") or ""))
        shape = str(self.memory.value("reprompt/shape", self.base.shape) or self.base.shape)
        (self.new_shape if shape == "new" else self.keep_shape).setChecked(True)
        try:
            self.steps.setValue(int(self.memory.value("reprompt/steps", self.base.steps)))
        except (TypeError, ValueError):
            pass
        self.layered_alpha.setChecked(str(self.memory.value("reprompt/layered", "false")).lower() == "true")

    def _remember(self) -> None:
        if self.memory is None:
            return
        self.memory.setValue("reprompt/prompt", self.prompt.text().strip())
        self.memory.setValue("reprompt/shape", "new" if self.new_shape.isChecked() else "keep")
        self.memory.setValue("reprompt/steps", self.steps.value())
        self.memory.setValue("reprompt/layered", self.layered_alpha.isChecked())

    # ----- state ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from Generate until the run has ended (not until the asyncio task returns:
        the buttons are updated from inside it)."""
        return self._running

    def _update_buttons(self, *_args) -> None:
        running = self.running
        self.generate_button.setEnabled(not running and bool(self.prompt.text().strip()))
        self.cancel_button.setEnabled(running)
        self.apply_button.setEnabled(not running and self.result is not None)
        self.discard_button.setEnabled(not running and self.result is not None)
        self.layered_alpha.setVisible(self.new_shape.isChecked())

    def _set_status(self, text: str) -> None:
        self.status_text = text
        self.status.setText(text)

    def options(self) -> EditOptions:
        shape = "new" if self.new_shape.isChecked() else "keep"
        alpha = "layered" if shape == "new" and self.layered_alpha.isChecked() else "matting"
        return EditOptions(
            prompt=self.prompt.text().strip(), shape=shape, steps=self.steps.value(),
            seed=None if self.random_seed.isChecked() else self.seed.value(),
            cfg_scale=self.guidance.value(), alpha_method=alpha, negative_prompt=self.base.negative_prompt,
            resolution=self.base.resolution, margin=self.base.margin, matte=self.base.matte,
            layered_steps=self.steps.value(), layered_model_dir=self.base.layered_model_dir,
            device=self.base.device, memory=self.base.memory, model_dir=self.base.model_dir,
            dtype=self.base.dtype)

    # ----- running -----------------------------------------------------------------
    def generate(self) -> asyncio.Future | None:
        session = self.tab.session
        if self.running:
            return None
        if session.job is not None:
            self._set_status("Another job is running for this document; wait for it or cancel it.")
            return None
        if not session.check_editable(self.layer_id, "edit"):
            self._set_status(f"“{session.doc.layer(self.layer_id).name}” is locked. Unlock it to edit it.")
            return None
        try:
            options = self.options()
        except QilError as err:
            self._set_status(str(err))
            return None
        self.discard()
        self._remember()
        layer = session.doc.layer(self.layer_id)
        # parented to the window: a run cancelled by closing the dialog outlives the dialog
        parent = self.window_ if isinstance(self.window_, QWidget) else self
        self.job = JobThread(edit_job(self.editor, layer, options), parent)
        self.job.progress.connect(self._on_progress)
        session.job = self.job
        self._running = True
        self.task = asyncio.ensure_future(self._run(layer))
        self._set_status("Loading the edit model…")
        self.progress.setRange(0, 0)  # busy until the first step: loading has no steps
        self._update_buttons()
        return self.task

    async def _run(self, layer: Layer) -> LayerEdit | None:
        session = self.tab.session
        job = self.job
        try:
            result = await job.start()
        except CancelledError:
            if not self._closed:
                self._set_status("Cancelled; the layer is unchanged.")
            return None
        except QilError as err:
            if not self._closed:
                self._set_status(f"{err.message} {err.hint}".strip())
            return None
        finally:
            self._running = False
            if session.job is job:
                session.job = None
            job.deleteLater()
            if not self._closed:
                self.progress.setRange(0, 1)
                self.progress.setValue(0)
                self._update_buttons()
            self._refresh_window()
        if self._closed:
            return None
        try:
            current = session.doc.layer(self.layer_id)
        except KeyError:
            self._set_status("The layer was deleted meanwhile; nothing was changed.")
            return None
        if current.pixels is not layer.pixels:
            self._set_status("The layer changed while the edit ran; press Generate again.")
            return None
        self.result = result
        self.tab.canvas.set_preview(self.layer_id, on_old_box(current, result))
        self.after.setPixmap(_checker_pixmap(result.pixels, PREVIEW_SIZE))
        self._set_status(f"Preview (seed {result.seed}, {result.seconds:.1f} s). Apply to keep it, "
                         "Discard to drop it.")
        self._update_buttons()
        return result

    def _on_progress(self, progress: Progress) -> None:
        if self._closed:
            return
        if not counting(progress):
            # loading (no step done yet) or decoding (all steps done): nothing to count
            self.progress.setRange(0, 0)
            self._set_status(describe(progress, "the edit model", self._step_message))
        else:
            self._step_message = progress.message
            self.progress.setRange(0, max(1, progress.total))
            self.progress.setValue(progress.step)
            self._set_status(f"{progress.message}: step {progress.step} of {progress.total}, "
                             f"about {format_eta(progress.eta_s)} left")
        self._refresh_window()

    def _refresh_window(self) -> None:
        for name in ("update_job_ui", "update_actions"):
            update = getattr(self.window_, name, None)
            if callable(update):
                update()

    def cancel_run(self) -> None:
        if self.job is not None and self.running:
            self.job.cancel()
            self._set_status("Cancelling…")

    # ----- closing -------------------------------------------------------------------
    def apply(self) -> bool:
        """Put the previewed result into the document as one undo step."""
        if self.result is None or self.running:
            return False
        result, self.result = self.result, None
        self.tab.canvas.set_preview(self.layer_id, None)
        session = self.tab.session
        if self.layer_id not in {layer.id for layer in session.doc.layers} \
                or not session.check_editable(self.layer_id, "edit"):
            self._update_buttons()
            return False
        session.push(result.command())
        self._set_status("Applied. Undo (Ctrl+Z) restores the old pixels.")
        self.after.setText("Applied.")
        self.before.setPixmap(_checker_pixmap(session.doc.layer(self.layer_id).pixels, PREVIEW_SIZE))
        self._update_buttons()
        return True

    def discard(self) -> None:
        if self.result is not None:
            self.result = None
            self.after.setText("Discarded.")
            self._set_status("Discarded; the layer is unchanged.")
        self.tab.canvas.set_preview(self.layer_id, None)
        self._update_buttons()

    def done(self, code: int) -> None:  # Close, Escape, window close: stop the run, drop the preview
        if self.running and self.job is not None:
            # never wait here: the run ends on its thread within a step and frees the
            # document's job slot itself (see _run's finally)
            self.job.cancel()
            if hasattr(self.window_, "statusBar"):
                self.window_.statusBar().showMessage("Re-prompt cancelled; the layer is unchanged.", 5000)
        self._closed = True
        self.discard()
        self._refresh_window()
        super().done(code)


# ----- the window's entry point ----------------------------------------------------------------

class _WindowDecomposer:
    """The window's Qwen-Image-Layered engine, looked up only when a run needs it.

    Runs happen on the worker thread, so building the window's registry
    there never stalls the UI; availability reads the disk only.
    """

    label = "Qwen-Image-Layered"

    def __init__(self, window) -> None:
        self.window = window

    def _engine(self):
        registry = self.window.registry
        return registry.get("qwen") if "qwen" in registry.names else None

    def availability(self, options=None):
        from ..engines.base import Availability
        from ..engines.qwen import find_model
        from ..errors import ModelError

        try:
            find_model(options.model_dir if options is not None else None)
        except ModelError as err:
            return Availability(False, str(err))
        return Availability(True)

    def decompose(self, image, options, progress=None, cancel=None):
        engine = self._engine()
        if engine is None:
            from ..errors import ModelError

            raise ModelError("The Qwen-Image-Layered engine is not part of this build.")
        return engine.decompose(image, options, progress, cancel)

    def unload(self) -> None:
        """Free the decomposer's memory before the edit model loads (two 20 B models rarely fit)."""
        engine = self._engine()
        if engine is not None and hasattr(engine, "unload"):
            engine.unload()


def editor_for(window) -> QwenLayerEditor:
    """The window's editor (kept between runs so the model stays loaded)."""
    editor = getattr(window, "_qil_layer_editor", None)
    if editor is None:
        decomposer = _WindowDecomposer(window)
        editor = QwenLayerEditor(layered=decomposer)  # one memory budget: the manager unloads as needed
        window._qil_layer_editor = editor
    return editor


def base_options(window) -> EditOptions:
    """Defaults from the window's settings (device, memory mode, edit model folder if set)."""
    settings = getattr(window, "settings", None)
    edit_dir = getattr(settings, "edit_model_dir", "") or None
    return EditOptions(prompt="edit", device=getattr(settings, "device", "auto") or "auto",
                       memory=getattr(settings, "memory", "auto") or "auto", model_dir=edit_dir)


def open_reprompt(window, editor: QwenLayerEditor | None = None,
                  base: EditOptions | None = None) -> RepromptDialog | None:
    """Layer > Re-prompt…; without the edit weights, say what to get and where, and change nothing."""
    tab = window.current
    if tab is None or not tab.session.check_editable(tab.session.current_layer_id, "re-prompt"):
        return None
    base = base or base_options(window)
    if editor is None:
        from .remote_server import ServerPrefs, remote_editor

        local = editor_for(window)
        remote = remote_editor(window)
        prefer = remote is not None and ServerPrefs(window.settings.q).reprompt_on_server
        editor = remote if prefer or (remote is not None and not local.availability(base).ok) else local
    available = editor.availability(base)
    if not available.ok:
        box = QMessageBox(QMessageBox.Icon.Information, "Re-prompt needs the edit model",
                          "Editing a layer by prompt needs the Qwen-Image-Edit weights on this computer.",
                          QMessageBox.StandardButton.Ok, window)
        box.setInformativeText(DOWNLOAD_HINT + " Then choose its folder in Edit > Preferences (Edit model).")
        box.setDetailedText(available.reason)
        box.exec()
        return None
    layer = tab.session.current_layer
    if layer is None or not layer.pixels[..., 3].any():
        window.statusBar().showMessage("The layer is empty; there is nothing to re-prompt.", 5000)
        return None
    dialog = RepromptDialog(window, tab, layer.id, editor, base)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if hasattr(window, "active_dialog"):
        dialog.finished.connect(lambda _r: setattr(window, "active_dialog", None))
        window.active_dialog = dialog
    dialog.open()
    return dialog

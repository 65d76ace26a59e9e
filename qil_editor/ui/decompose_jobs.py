"""The window's decomposition jobs: the engine registry, the Decompose dialog, runs and their status.

A run is an asyncio task on the qasync loop awaiting a QThread job, so the
UI never blocks on an engine. Splitting one layer runs the engine through
:func:`~qil_editor.engines.jobs.split_job` (``redecompose_layer``), so the parts keep the layer's opacity, blend
mode and visibility and are cut to the layer's own coverage.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from ..errors import CancelledError, ModelError, QilError

if TYPE_CHECKING:  # pragma: no cover
    # the engines and the document model load with the first job, not with the window (start-up)
    from ..engines.base import EngineRegistry
    from .app_window import DocumentTab, MainWindow
    from .worker import DecomposeRequest

log = logging.getLogger(__name__)

ENGINE_LABELS = {"qwen": "Qwen-Image-Layered (AI)", "classical": "Classical (fast, CPU)"}


class DecompositionJobs:
    """Owns the registry and starts, tracks and cancels each document's decomposition."""

    def __init__(self, window: "MainWindow", registry_factory: Callable[[], EngineRegistry]) -> None:
        self.window = window
        self._registry_factory = registry_factory
        self._registry: EngineRegistry | None = None
        self._registry_lock = threading.Lock()

    # ----- the registry --------------------------------------------------------------------
    def _build_registry(self) -> EngineRegistry:
        with self._registry_lock:
            if self._registry is None:
                from .remote_server import register_remote_engines

                registry = self._registry_factory()
                register_remote_engines(registry, self.window.settings.q)  # "Remote: HOST" when set
                self._registry = registry
            return self._registry

    @property
    def registry(self) -> EngineRegistry:
        """The engines, built once (thread-safe). Building imports the engine modules
        (scikit-image, scipy: about a second), so UI code awaits :meth:`registry_async`
        and decomposition jobs resolve through :meth:`resolve` on their worker thread."""
        return self._registry if self._registry is not None else self._build_registry()

    def resolve(self, name: str, options):
        """Registry stand-in for a job: builds the registry on the worker thread."""
        return self.registry.resolve(name, options)

    async def registry_async(self) -> EngineRegistry:
        if self._registry is not None:
            return self._registry
        return await self.window.tasks.future(self._build_registry)

    def prefetch(self) -> None:
        """Import the engine modules in the background while the user looks at the window."""
        if self._registry is None:
            self.window.tasks.submit(self._build_registry, callback=self._prefetched)

    @staticmethod
    def _prefetched(_registry, error) -> None:
        if error is not None:
            log.warning("the decomposition engines could not be loaded: %s", error)

    @staticmethod
    def engine_choices(registry: EngineRegistry) -> list[tuple[str, str]]:
        return [(name, ENGINE_LABELS.get(name) or (registry.get(name).label if name == "remote" else name.title()))
                for name in registry.names]

    @staticmethod
    def unavailable(registry: EngineRegistry, options) -> dict[str, str]:
        """Engines that cannot run now (no weights, a wrong folder) and why: a few file reads."""
        out = {}
        for name in registry.names:
            try:
                check = registry.get(name).availability(options)
            except Exception as exc:  # noqa: BLE001 - a check never breaks the dialog
                out[name] = str(exc)
                continue
            if not check.ok:
                out[name] = check.reason
        return out

    # ----- the dialog ------------------------------------------------------------------------
    async def dialog(self, layer: bool) -> None:
        window = self.window
        tab = window.current
        if tab is None:
            return
        layer_id = tab.session.current_layer_id if layer else None
        if layer and not tab.session.check_editable(layer_id, "split"):
            return
        target = f"the layer “{tab.session.current_layer.name}”" if layer else "the image"
        registry = await self.registry_async()
        if tab not in window.docs:
            return
        from .decompose_dialog import DecomposeDialog  # made on first use, not with the window

        request = window.settings.decompose_request()
        dialog = DecomposeDialog(request, self.engine_choices(registry), target=target, parent=window,
                                 unavailable=self.unavailable(registry, request.options))
        accepted = await window.dialog_result(dialog) == QDialog.DialogCode.Accepted.value
        request = dialog.request()
        dialog.deleteLater()  # only now: the request was read from its widgets
        if not accepted:
            return
        window.settings.remember_request(request)
        self.start(request, tab, layer_id)

    # ----- runs ---------------------------------------------------------------------------------
    def start(self, request: DecomposeRequest, tab: "DocumentTab | None" = None,
              layer_id: str | None = None) -> asyncio.Future | None:
        """Start a job for the tab (the whole image, or one layer); returns the asyncio task."""
        window = self.window
        tab = tab or window.current
        if tab is None:
            return None
        if tab.session.job is not None or (tab.task is not None and not tab.task.done()):
            window.statusBar().showMessage("A job is already running for this document.", 5000)
            return None
        task = window.spawn(self._run(tab, request, layer_id))
        tab.task = task
        return task

    def task_done(self, task: asyncio.Future) -> None:
        for tab in self.window.docs:
            if tab.task is task:
                tab.task = None
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            sys.excepthook(type(exc), exc, exc.__traceback__)

    async def _run(self, tab: "DocumentTab", request: DecomposeRequest, layer_id: str | None) -> bool:
        from ..document import composite
        from .worker import JobThread, decompose_job, split_job

        window = self.window
        session = tab.session
        layer = session.doc.layer(layer_id) if layer_id is not None else None
        if layer is not None:
            image, resolver = layer.pixels, self
        elif len(session.doc) == 1 and session.doc.layers[0].bbox == (0, 0, *session.doc.size) \
                and session.doc.layers[0].visible and session.doc.layers[0].opacity == 1.0:
            image, resolver = session.doc.layers[0].pixels, self
        else:
            image = await window.tasks.future(composite, session.doc.copy())
            resolver = self
        if tab not in window.docs:
            return False
        remove_ids = [ly.id for ly in session.doc.layers]
        # the registry is built on the worker; a split is its own job kind
        job = JobThread(split_job(self, request, layer) if layer is not None
                        else decompose_job(resolver, request, image), window)
        session.job = job
        job.progress.connect(window.update_job_ui)
        window.update_job_ui()
        window.update_actions()
        try:
            result = await job.start()
        except CancelledError:
            if tab in window.docs:
                window.statusBar().showMessage("Decomposition cancelled; the document is unchanged.", 5000)
            return False
        except QilError as err:
            if tab in window.docs:
                if isinstance(err, ModelError) and request.engine != "classical" and window.error_sink is None:
                    self.offer_classical(tab, request, layer_id, err)
                else:
                    window.show_error(err, "Decomposition failed")
            return False
        finally:
            if session.job is job:
                session.job = None
            job.deleteLater()
            window.update_job_ui()
            window.update_actions()
        if tab not in window.docs:
            return False
        engine = job.engine_label
        if layer is not None:
            if not session.apply_split(result, layer):
                return False
            window.statusBar().showMessage(
                f"Split “{layer.name}” into {len(result.new_layers)} layers with {engine}.", 8000)
            return True
        if not session.replace_with_decomposition(result, None, remove_ids):
            return False
        window.statusBar().showMessage(f"Decomposed into {len(result)} layers with {engine}.", 8000)
        return True

    def offer_classical(self, tab: "DocumentTab", request: DecomposeRequest, layer_id: str | None,
                        err: QilError) -> QMessageBox:
        """A model problem: say it, point to Preferences and offer the classical engine now."""
        window = self.window
        log.warning("Decomposition failed: %s %s", err.message, err.hint)
        window.last_error = err
        box = QMessageBox(QMessageBox.Icon.Warning, "Decomposition failed", err.message,
                          QMessageBox.StandardButton.Close, window)
        box.setObjectName("decomposeFailedBox")
        box.setInformativeText(f"{err.hint}\n\nChoose the model folder in Edit > Preferences, or "
                               "decompose with the Classical engine now (fast, no model needed).".strip())
        classical = box.addButton("Use Classical", QMessageBox.ButtonRole.AcceptRole)
        preferences = box.addButton("Preferences…", QMessageBox.ButtonRole.ActionRole)
        box.setDefaultButton(classical)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        def clicked(button) -> None:
            if button is classical and tab in window.docs:
                if layer_id is None or layer_id in {ly.id for ly in tab.session.doc.layers}:
                    self.start(type(request)("classical", request.options), tab, layer_id)
            elif button is preferences:
                window.preferences_dialog()

        box.buttonClicked.connect(clicked)
        box.open()  # not blocking: this runs inside an asyncio task
        return box

    def cancel(self, tab: "DocumentTab | None" = None) -> None:
        window = self.window
        tab = tab or window.current
        if tab is not None and tab.session.job is not None:
            tab.session.job.cancel()
            window.job_status.label.setText("Cancelling…")

    def update_status(self, *_args) -> None:
        window = self.window
        current = window.current
        job = current.session.job if current is not None else None
        if job is None:
            window.job_status.clear()
        else:
            label = job.engine_label if job.engine_label not in ("auto", "") else job.request.engine
            window.job_status.show_progress(job.last_progress, ENGINE_LABELS.get(label, label))

"""What one server replica does, without Ray: run jobs one at a time and stream their events.

The Ray Serve deployments in :mod:`qil_editor.server.app` are thin wrappers
around :class:`DecomposeService` and :class:`EditService`, so the queueing,
cancel and event logic is plain asyncio that tests can drive directly.

A replica runs one job at a time (a diffusers pipeline is not re-entrant and
one model fills a GPU); others wait in arrival order and are told their
position whenever it changes. The job itself runs on the replica's single
worker thread through the engines' own job runner (``engines/jobs.py``),
with a :class:`CancelToken`: when the caller goes away (client disconnect,
``DELETE /v1/jobs/ID``) the async generator is closed or cancelled, the
token is set, the engine stops at its next step, and only then does the
next job start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Callable

from ..engines.jobs import CancelToken, Progress
from ..errors import CancelledError, ModelError, QilError
from . import protocol

Work = Callable[[Callable[[Progress], None], CancelToken], dict]


class JobRunner:
    """One job at a time on this replica, FIFO, with positions and cancel."""

    def __init__(self) -> None:
        self._order: list[str] = []           # waiting and running job ids, running first
        self._changed: asyncio.Event | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qil-job")
        self._loop: asyncio.AbstractEventLoop | None = None
        self.finished = 0

    @property
    def queue_length(self) -> int:
        return len(self._order)

    def _signal(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    def _release(self, job: str) -> None:
        """Called on the event loop once a job's thread has really ended (or it never started)."""
        if job in self._order:
            self._order.remove(job)
            self.finished += 1
            self._signal()

    async def stream(self, job: str, work: Work) -> AsyncIterator[dict]:
        """Events for one job: queued (position), progress..., then result or error."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self._changed is None:
            self._changed = asyncio.Event()
        self._order.append(job)
        token = CancelToken()
        future = None
        try:
            last = None
            while True:
                changed = self._changed
                position = self._order.index(job)
                if position != last:
                    last = position
                    yield {"event": "queued", "job": job, "position": position}
                if position == 0:
                    break
                await changed.wait()

            events: asyncio.Queue = asyncio.Queue()

            def on_progress(p: Progress) -> None:
                event = {"event": "progress", "job": job, "step": p.step, "total": p.total,
                         "eta_s": None if p.eta_s is None else round(p.eta_s, 2), "message": p.message}
                loop.call_soon_threadsafe(events.put_nowait, event)

            def run() -> dict:
                try:
                    return work(on_progress, token)
                except QilError as err:
                    return protocol.error_event(job, err)
                except Exception as exc:  # noqa: BLE001 - becomes an error event, not a dead replica
                    return protocol.error_event(job, ModelError(f"The server failed: {type(exc).__name__}: {exc}"))

            future = loop.run_in_executor(self._executor, run)
            future.add_done_callback(lambda _f: loop.call_soon_threadsafe(self._release, job))
            while not future.done():
                getter = asyncio.ensure_future(events.get())
                done, _ = await asyncio.wait({getter, future}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
            while not events.empty():
                yield events.get_nowait()
            final = future.result()
            if token.cancelled and final.get("event") != "error":
                final = protocol.error_event(job, CancelledError())
            yield final
        finally:
            # Closed early (disconnect, DELETE) or cancelled: stop the engine at its next step.
            token.cancel()
            if future is None:
                self._release(job)


class _Service:
    """Common part of the two replica kinds: a runner, and engine facts for /v1/engines."""

    kind = ""

    def __init__(self, device: str = "auto", memory: str = "auto") -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.device = device
        self.memory = memory
        self.runner = JobRunner()
        self._lock = threading.Lock()

    def queue_length(self) -> int:
        return self.runner.queue_length

    @staticmethod
    def cpu_threads() -> int | None:
        """torch's CPU thread count in this replica (None before torch is loaded)."""
        import sys

        torch = sys.modules.get("torch")
        return torch.get_num_threads() if torch is not None else None


class DecomposeService(_Service):
    """Decomposes with the server's registry; the client chooses 'auto', 'qwen' or 'classical'."""

    kind = "decompose"

    def __init__(self, model_dir: str | None = None, lora_path: str | None = None,
                 device: str = "auto", memory: str = "auto", registry=None) -> None:
        super().__init__(device, memory)
        from ..engines.base import default_registry

        self.model_dir = model_dir
        self.lora_path = lora_path
        self.registry = registry if registry is not None else default_registry()

    def _server_options(self, options):
        memory = options.memory if self.memory == "auto" else self.memory
        return options.with_changes(model_dir=self.model_dir, lora_path=self.lora_path,
                                    device=self.device, memory=memory)

    def info(self) -> dict:
        from ..engines.base import DecomposeOptions

        probe = self._server_options(DecomposeOptions())
        engines = []
        for name in self.registry.names:
            engine = self.registry.get(name)
            avail = engine.availability(probe)
            engines.append({"name": name, "label": engine.label, "available": avail.ok, "reason": avail.reason})
        return {"kind": self.kind, "engines": engines, "device": self.device, "memory": self.memory,
                "queue": self.queue_length(), "pid": os.getpid(), "finished": self.runner.finished,
                "cpu_threads": self.cpu_threads()}

    async def decompose(self, job: str, image, engine: str, options) -> AsyncIterator[dict]:
        from ..engines.jobs import run_decompose

        options = self._server_options(options)

        def work(progress, token) -> dict:
            start = time.perf_counter()
            chosen = self.registry.resolve(engine, options)  # 'auto' -> the engine that will run
            doc = run_decompose(self.registry, chosen.name, image, options, progress, token)
            token.raise_if_cancelled()
            last = getattr(chosen, "last_run", None)
            result = protocol.document_result(job, doc, chosen.name, last.seed if last else options.seed)
            result["seconds"] = round(time.perf_counter() - start, 3)  # on the replica, without transfers
            return result

        async for event in self.runner.stream(job, work):
            yield event


class EditService(_Service):
    """Re-prompts one layer with the server's Qwen-Image-Edit (and Qwen-Image-Layered for alpha)."""

    kind = "edit"

    def __init__(self, edit_model_dir: str | None = None, model_dir: str | None = None,
                 device: str = "auto", memory: str = "auto", editor=None) -> None:
        super().__init__(device, memory)
        from ..engines.edit import QwenLayerEditor
        from ..engines.qwen import QwenDecomposer

        self.edit_model_dir = edit_model_dir
        self.model_dir = model_dir
        self.editor = editor if editor is not None else QwenLayerEditor(layered=QwenDecomposer())

    def _server_options(self, options):
        memory = options.memory if self.memory == "auto" else self.memory
        return dataclasses.replace(options, model_dir=self.edit_model_dir, layered_model_dir=self.model_dir,
                                   device=self.device, memory=memory)

    def info(self) -> dict:
        from ..engines.edit import EditOptions

        avail = self.editor.availability(self._server_options(EditOptions(prompt="probe")))
        return {"kind": self.kind, "engines": [{"name": self.editor.name, "label": self.editor.label,
                                                "available": avail.ok, "reason": avail.reason}],
                "device": self.device, "memory": self.memory, "queue": self.queue_length(),
                "pid": os.getpid(), "finished": self.runner.finished}

    async def edit(self, job: str, pixels, name: str, x: int, y: int, options) -> AsyncIterator[dict]:
        from ..document import Layer

        options = self._server_options(options)
        layer = Layer(pixels, name=name, x=x, y=y)

        def work(progress, token) -> dict:
            edit = self.editor.edit_layer(layer, options, progress, token)
            token.raise_if_cancelled()
            return {"event": "result", "job": job, "seed": edit.seed, "seconds": round(edit.seconds, 3),
                    "layer": protocol.layer_json(edit.pixels, name, edit.x, edit.y),
                    "model_input": protocol.png_b64(edit.model_input),
                    "model_output": protocol.png_b64(edit.model_output)}

        async for event in self.runner.stream(job, work):
            yield event

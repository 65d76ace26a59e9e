"""What a diffusion-pipeline engine shares: lock, load through the manager, unload, availability, ETA.

Thread safety: a worker thread may run the engine while the UI thread asks
:meth:`PipelineEngine.availability`. One lock serialises loading, running
and unloading (a diffusers pipeline is not re-entrant); availability only
reads the disk and does not take it. Cancel comes through the
:class:`CancelToken`, which is thread-safe.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager

from ...errors import ModelError, OutOfMemoryError
from ..base import Availability
from ..jobs import ProgressCallback, ProgressTracker
from ..model_extra import missing_model_packages, model_extra_hint
from .loader import LoadedPipeline
from .locate import ModelFolder, ModelSpec, SearchPlaces, find_folder
from .manager import ModelManager, shared_manager

def model_packages_problem() -> str | None:
    """Why the model engines cannot run in this install (no torch import), or None."""
    missing = missing_model_packages()
    if not missing:
        return None
    return (f"the model engines are not installed (missing: {', '.join(missing)}). "
            f"{model_extra_hint()}")


class StepProgress:
    """Progress with an ETA that counts from the first denoising step (loading and
    captioning are not steps): step 0 of a run restarts the clock."""

    def __init__(self, progress: ProgressCallback | None, total: int, message: str) -> None:
        self.progress = progress
        self.tracker = ProgressTracker(progress, total, message)

    def __call__(self, step: int, total: int, message: str) -> None:
        if step == 0:
            self.tracker = ProgressTracker(self.progress, total, message)
        self.tracker.update(step, message)

    def finish(self, step: int, message: str) -> None:
        self.tracker.update(step, message)


class PipelineEngine:
    """Base of the Qwen engines: subclasses set ``spec`` and ``pipeline_class``."""

    name = "pipeline"
    label = "diffusion model"
    spec: ModelSpec
    pipeline_class: str

    def __init__(self, places: SearchPlaces | None = None, manager: ModelManager | None = None) -> None:
        self.places = places
        self.manager = manager or shared_manager()
        self.owner = f"{self.name}#{id(self):x}"
        self._lock = threading.RLock()
        self.load_count = 0
        # an engine that goes away gives its memory back
        weakref.finalize(self, self.manager.release, self.owner)

    def locate(self, model_dir: str | None = None) -> ModelFolder:
        return find_folder(self.spec, model_dir, self.places)

    def model_availability(self, model_dir: str | None = None) -> Availability:
        """Cheap check (no torch import): packages installed, weights found and valid."""
        problem = model_packages_problem()
        if problem:
            return Availability(False, problem)
        try:
            self.locate(model_dir)
        except ModelError as err:
            return Availability(False, str(err))
        return Availability(True)

    @property
    def loaded(self) -> LoadedPipeline | None:
        return self.manager.resident(self.owner)

    def unload(self) -> None:
        """Free the model's memory; the next run loads it again."""
        with self._lock:
            self.manager.release(self.owner)

    def acquire(self, model_dir: str | None, *, device: str, memory: str, dtype: str | None,
                resolution: int, layers: int) -> LoadedPipeline:
        """The loaded pipeline for these settings (a new load only when they changed)."""
        folder = self.locate(model_dir)
        before = self.loaded
        loaded = self.manager.acquire(self.owner, self.spec, self.pipeline_class, folder, device=device,
                                      memory=memory, dtype=dtype, resolution=resolution, layers=layers)
        if loaded is not before:
            self.load_count += 1
        return loaded

    @contextmanager
    def running(self):
        """Hold the engine's lock; an out-of-memory error drops the pipeline so the next
        run re-plans (smaller, in auto mode)."""
        with self._lock:
            try:
                yield
            except OutOfMemoryError:
                self.manager.out_of_memory(self.owner)
                raise

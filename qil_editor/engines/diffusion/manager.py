"""One memory budget for every diffusion pipeline the process holds (decompose and edit).

Each engine is an *owner* with at most one resident pipeline. The manager:

- plans once per load: a resident pipeline whose settings (folder, device,
  memory mode, precision) did not change is reused without probing the
  device again, so our own weights never make the next plan smaller;
- re-plans only after a settings change or an out-of-memory error; after an
  OOM in auto mode the next plan only considers smaller modes;
- before loading a pipeline, unloads the other owners' pipelines unless the
  new one's predicted peak fits beside their resident weights (two 20 B
  models fit together only on the largest GPUs).
"""

from __future__ import annotations

import threading
from typing import Callable

from .device import DeviceInfo, MemoryPlan, choose_memory_mode, probe_device, ram_problem
from .loader import LoadedPipeline, load_pipeline, unload_pipeline
from .locate import ModelFolder, ModelSpec


class ModelManager:
    """Thread-safe; ``probe`` and ``loader`` are replaceable so tests can simulate GPUs."""

    def __init__(self, probe: Callable[[str], DeviceInfo] = probe_device,
                 loader: Callable[..., LoadedPipeline] = load_pipeline) -> None:
        self.probe = probe
        self.loader = loader
        self._lock = threading.RLock()
        self._resident: dict[str, LoadedPipeline] = {}
        self._settings: dict[str, tuple] = {}
        self._ceiling: dict[tuple[str, str], str] = {}
        self.events: list[tuple[str, str]] = []  # ("load"|"unload", owner), newest last

    def resident(self, owner: str) -> LoadedPipeline | None:
        return self._resident.get(owner)

    @property
    def owners(self) -> list[str]:
        return list(self._resident)

    def release(self, owner: str) -> None:
        """Unload ``owner``'s pipeline, if any."""
        with self._lock:
            loaded = self._resident.pop(owner, None)
            self._settings.pop(owner, None)
            if loaded is not None:
                self.events.append(("unload", owner))
                unload_pipeline(loaded)

    def release_all(self) -> None:
        with self._lock:
            for owner in list(self._resident):
                self.release(owner)

    def out_of_memory(self, owner: str) -> None:
        """After an OOM: drop the pipeline; in auto mode the next plan stays below this mode."""
        with self._lock:
            loaded = self._resident.get(owner)
            settings = self._settings.get(owner)
            if loaded is not None and settings is not None and settings[2] == "auto":
                self._ceiling[(loaded.key.folder, loaded.key.device)] = loaded.plan.mode
            self.release(owner)

    def _plan(self, info: DeviceInfo, folder: ModelFolder, memory: str, dtype: str | None,
              resolution: int, layers: int) -> MemoryPlan:
        below = self._ceiling.get((folder.key, info.torch_device)) if memory == "auto" else None
        return choose_memory_mode(info, folder.params, dtype=dtype, resolution=resolution, layers=layers,
                                  requested=memory, below=below)

    def _fits_beside_others(self, owner: str, info: DeviceInfo, folder: ModelFolder, plan: MemoryPlan) -> bool:
        others = [lp for o, lp in self._resident.items() if o != owner]
        if not others:
            return True
        if plan.budget_bytes is None:  # CPU: the RAM is the budget; others' weights are already used RAM
            return ram_problem(plan.mode, folder.params, plan.dtype, info) is None
        held = sum(lp.plan.weights_bytes for lp in others if lp.key.device == info.torch_device)
        return plan.need_bytes + held <= plan.budget_bytes

    def acquire(self, owner: str, spec: ModelSpec, pipeline_class: str, folder: ModelFolder, *,
                device: str = "auto", memory: str = "auto", dtype: str | None = None,
                resolution: int = 640, layers: int = 4) -> LoadedPipeline:
        """The owner's pipeline for these settings: the resident one, or a new load."""
        settings = (folder.key, device, memory, dtype)
        with self._lock:
            loaded = self._resident.get(owner)
            if loaded is not None and loaded.pipe is not None and self._settings.get(owner) == settings:
                return loaded
            self.release(owner)
            info = self.probe(device)
            plan = self._plan(info, folder, memory, dtype, resolution, layers)
            if not self._fits_beside_others(owner, info, folder, plan):
                for other in [o for o in self._resident if o != owner]:
                    self.release(other)
                info = self.probe(device)
                plan = self._plan(info, folder, memory, dtype, resolution, layers)
            loaded = self.loader(spec, pipeline_class, folder, info, plan)
            self._resident[owner] = loaded
            self._settings[owner] = settings
            self.events.append(("load", owner))
            return loaded


_shared: ModelManager | None = None
_shared_lock = threading.Lock()


def shared_manager() -> ModelManager:
    """The process's manager: every engine created without one shares this budget."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ModelManager()
        return _shared

"""What every decomposer offers, and how the editor picks one.

Engines take an RGBA image and return layers bottom->top as a Document,
so the CLI, the GUI worker and tests treat the classical engine, the real
model and test fakes alike. The registry is an ordinary object created by
the caller (no module-level state), so tests can register fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from ..document import Document
from ..errors import ModelError, QilError, UsageError
from .jobs import CancelToken, ProgressCallback
from .limits import MAX_LAYERS, MIN_LAYERS  # noqa: F401 (re-exported: engines.base is where callers look)


@dataclass(frozen=True)
class DecomposeOptions:
    """Options for one decomposition. ``layers=None`` means choose automatically.

    These defaults are the editor's and the CLI's alike (the Decompose dialog
    starts from ``DecomposeOptions()``, ``qil decompose`` takes its defaults
    from here): Auto layers, 640 px, 50 steps, CFG 4.0, a random seed.
    """

    layers: int | None = None
    resolution: int = 640
    steps: int = 50
    cfg_scale: float = 4.0
    negative_prompt: str = " "
    seed: int | None = None
    prompt: str = ""
    language: str = "en"
    device: str = "auto"
    memory: str = "auto"
    model_dir: str | None = None
    lora_path: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.layers is not None and not (MIN_LAYERS <= int(self.layers) <= MAX_LAYERS):
            raise UsageError(f"Layer count must be between {MIN_LAYERS} and {MAX_LAYERS} "
                             f"(or auto), got {self.layers}.")
        if int(self.steps) < 1:
            raise UsageError(f"Steps must be at least 1, got {self.steps}.")

    def with_changes(self, **changes) -> "DecomposeOptions":
        return replace(self, **changes)


@dataclass(frozen=True)
class Availability:
    """``error``: what made it unavailable when that is not the engine's own fault (a server that
    cannot be reached), raised as is so the exit code says where the problem lies."""

    ok: bool
    reason: str = ""
    error: QilError | None = None


@runtime_checkable
class Decomposer(Protocol):
    """An engine. ``decompose`` must honour the cancel token between steps."""

    name: str
    label: str

    def availability(self, options: DecomposeOptions | None = None) -> Availability: ...

    def decompose(self, image: np.ndarray, options: DecomposeOptions,
                  progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Document: ...


EngineFactory = Callable[[], Decomposer]


class EngineRegistry:
    """Named engine factories; engines are created lazily and kept (models stay loaded)."""

    def __init__(self) -> None:
        self._factories: dict[str, EngineFactory] = {}
        self._instances: dict[str, Decomposer] = {}
        self._order: list[str] = []

    def register(self, name: str, factory: EngineFactory) -> None:
        self._factories[name] = factory
        self._instances.pop(name, None)
        if name not in self._order:
            self._order.append(name)

    @property
    def names(self) -> list[str]:
        return list(self._order)

    def get(self, name: str) -> Decomposer:
        if name not in self._factories:
            raise UsageError(f"Unknown engine {name!r}.", f"Choose one of: auto, {', '.join(self._order)}.")
        if name not in self._instances:
            self._instances[name] = self._factories[name]()
        return self._instances[name]

    def resolve(self, name: str, options: DecomposeOptions | None = None) -> Decomposer:
        """'auto' -> the first available engine in preference order (qwen first)."""
        if name != "auto":
            engine = self.get(name)
            avail = engine.availability(options)
            if not avail.ok:
                if avail.error is not None:
                    raise avail.error
                raise ModelError(f"The {engine.label} engine is not available: {avail.reason}")
            return engine
        reasons = []
        for candidate in self._order:
            engine = self.get(candidate)
            avail = engine.availability(options)
            if avail.ok:
                return engine
            reasons.append(f"{engine.label}: {avail.reason}")
        raise ModelError("No decomposition engine is available. " + " ".join(reasons))


def default_registry() -> EngineRegistry:
    """A fresh registry with the engines that ship with the editor, best first."""
    from .classical import ClassicalDecomposer
    from .qwen import QwenDecomposer  # imports no torch: safe in the lite build

    registry = EngineRegistry()
    registry.register("qwen", QwenDecomposer)
    registry.register("classical", ClassicalDecomposer)
    return registry

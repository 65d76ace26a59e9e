"""The diffusion core both Qwen engines are built on (decompose and edit).

Importing this package is cheap: torch, diffusers and transformers are
imported inside the functions that load or run a model. Modules:
``device`` (device, dtype and memory plan, from measured costs), ``locate``
(a :class:`ModelSpec` drives finding and checking a model folder),
``loader`` (loading any pipeline class in a memory mode; the one error
mapping), ``run`` (one pipeline call: step callback, cancel, NaN check, VAE
strategy, resident text encoder for captions), ``manager`` (one memory
budget for all pipelines), ``engine`` (:class:`PipelineEngine`, the base).
"""

from .device import GB, MEMORY_CHOICES, MODES, DeviceInfo, MemoryPlan, choose_memory_mode
from .locate import ModelFolder, ModelSpec, SearchPlaces

__all__ = ["GB", "MEMORY_CHOICES", "MODES", "DeviceInfo", "MemoryPlan", "ModelFolder", "ModelSpec",
           "SearchPlaces", "choose_memory_mode"]

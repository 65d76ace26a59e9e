"""Device and memory planning for Qwen-Image-Layered: the shared planner in
:mod:`qil_editor.engines.diffusion.device` (kept importable here for the UI and CLI)."""

from ..diffusion.device import (DEFAULT_PARAMS, DEVICE_CHOICES, DTYPES, GB, HEADROOM, MEMORY_CHOICES, MODES,
                                NF4_SKIP_MODULES, QUANT_BYTES, QUANT_PACKAGES, DeviceInfo, MemoryPlan,
                                bytes_per_param, choose_dtype, choose_memory_mode, choose_vae_strategy,
                                installed_packages, mode_need_bytes, mode_problem, next_mode,
                                out_of_memory_hint, probe_device, ram_need_bytes, ram_problem, usable_modes,
                                vae_decode_bytes, weights_bytes)

__all__ = ["DEFAULT_PARAMS", "DEVICE_CHOICES", "DTYPES", "GB", "HEADROOM", "MEMORY_CHOICES", "MODES",
           "NF4_SKIP_MODULES", "QUANT_BYTES", "QUANT_PACKAGES", "DeviceInfo", "MemoryPlan", "bytes_per_param",
           "choose_dtype", "choose_memory_mode", "choose_vae_strategy", "installed_packages",
           "mode_need_bytes", "mode_problem", "next_mode", "out_of_memory_hint", "probe_device",
           "ram_need_bytes", "ram_problem", "usable_modes", "vae_decode_bytes", "weights_bytes"]

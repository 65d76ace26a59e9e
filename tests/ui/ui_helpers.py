"""Small helpers shared by the GUI tests."""

from __future__ import annotations

import numpy as np

from qil_editor.engines.base import DecomposeOptions
from qil_editor.ui.worker import DecomposeRequest


def classical_request(layers: int = 4) -> DecomposeRequest:
    return DecomposeRequest("classical", DecomposeOptions(layers=layers))


def tiny_request(model_dir, layers: int = 2, steps: int = 2) -> DecomposeRequest:
    return DecomposeRequest("qwen", DecomposeOptions(layers=layers, steps=steps, resolution=640, seed=7,
                                                     prompt="a summer festival poster",
                                                     model_dir=str(model_dir), device="cpu"))


def wait_task(qtbot, task, timeout_ms: int = 60_000):
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


def rgba(h: int, w: int, color, alpha: int = 255) -> np.ndarray:
    arr = np.zeros((h, w, 4), np.uint8)
    arr[..., :3] = color
    arr[..., 3] = alpha
    return arr

"""GPU check of the two model engines end to end, on the tiny random models (no download).

``gpu_check.py`` measures the real-size architecture through the run code alone; this one goes
through what the editor and the CLI call: the model folder on disk, ``from_pretrained``, the
device probe, the dtype and memory plan, placement in each memory mode, the run, the detail
restoration, unloading. The decomposition has no prompt, so the
model's own caption runs first, as in the editor. It builds the tiny Qwen-Image-Layered and Qwen-Image-Edit folders
(``qil make-tiny-model``), then per memory mode decomposes a 640 px image into 2 layers and
re-prompts one layer, and records: finite output, layer sizes, seconds, peak VRAM, the dtype
the plan chose, that the same seed gives the same layers, and VRAM left after unloading.

    python bench/gpu_engines.py [--device cuda] [--modes full,model-offload,...] [--json-out F]
    python bench/gpu_engines.py --device cpu --modes full     # the same path on the CPU (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

MODES = ("full", "model-offload", "group-offload", "sequential-offload")
GB = 1024 ** 3


def _image(height: int = 300, width: int = 400):
    """A small design: a gradient, a disc and a bar (not noise, so restoration has edges)."""
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width]
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., 0] = 40 + 150 * xx / width
    rgba[..., 1] = 90
    rgba[..., 2] = 200 - 120 * yy / height
    rgba[..., 3] = 255
    rgba[(xx - 140) ** 2 + (yy - 150) ** 2 < 70 ** 2, :3] = (230, 200, 40)
    rgba[220:250, 200:380, :3] = (20, 20, 30)
    return rgba


def _layer():
    import numpy as np

    from qil_editor.document import Layer

    pixels = np.zeros((64, 80, 4), np.uint8)
    yy, xx = np.mgrid[0:64, 0:80]
    inside = ((xx - 40) / 28.0) ** 2 + ((yy - 32) / 22.0) ** 2 <= 1
    pixels[inside] = (200, 40, 30, 255)
    return Layer(pixels, name="Bottle", x=30, y=24)


def _vram(device: str) -> tuple[float | None, float | None]:
    """(allocated now, peak since the last reset) in GiB, or Nones off CUDA."""
    if not device.startswith("cuda"):
        return None, None
    import torch

    return round(torch.cuda.memory_allocated() / GB, 3), round(torch.cuda.max_memory_allocated() / GB, 3)


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def check_mode(mode: str, device: str, layered_dir: Path, edit_dir: Path) -> dict:
    """Decompose twice (same seed) and edit once in ``mode``; failures are recorded, not raised."""
    import numpy as np

    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.engines.diffusion.locate import SearchPlaces
    from qil_editor.engines.diffusion.manager import ModelManager
    from qil_editor.engines.edit.engine import EditOptions, QwenLayerEditor
    from qil_editor.engines.qwen import QwenDecomposer

    nowhere = SearchPlaces(env={}, project_dirs=(), use_hf_cache=False)
    manager = ModelManager()
    row: dict = {"mode": mode, "device": device}
    decomposer = QwenDecomposer(nowhere, manager=manager)
    image = _image()
    # no prompt: the model captions the image first, as the editor does by default
    options = DecomposeOptions(layers=2, resolution=640, steps=2, seed=3, prompt="",
                               model_dir=str(layered_dir), device=device, memory=mode)
    try:
        _reset_peak(device)
        start = time.perf_counter()
        doc = decomposer.decompose(image, options)
        row["decompose_s"] = round(time.perf_counter() - start, 2)
        row["decompose_peak_vram_gb"] = _vram(device)[1]
        loaded = decomposer.loaded
        row["plan"] = {"mode": loaded.plan.mode, "dtype": loaded.plan.dtype,
                       "vae": loaded.vae_strategy} if loaded is not None else None
        pixels = [layer.pixels for layer in doc.layers]
        row["layers"] = len(pixels)
        row["sizes_ok"] = all(p.shape == (image.shape[0], image.shape[1], 4) for p in pixels)
        row["finite_and_not_empty"] = bool(any(int(p[..., 3].max()) > 0 for p in pixels))
        start = time.perf_counter()
        again = decomposer.decompose(image, options)
        row["second_run_s"] = round(time.perf_counter() - start, 2)
        row["same_seed_same_layers"] = all(np.array_equal(a.pixels, b.pixels)
                                           for a, b in zip(doc.layers, again.layers))
        row["loads"] = decomposer.load_count
        decomposer.unload()
        row["vram_after_unload_gb"] = _vram(device)[0]
    except Exception as exc:  # noqa: BLE001 - a mode that fails is a finding
        row["decompose_error"] = f"{type(exc).__name__}: {exc}"[:400]
        decomposer.unload()
    editor = QwenLayerEditor(nowhere, manager=manager)
    try:
        _reset_peak(device)
        start = time.perf_counter()
        bottle = _layer()
        edit = editor.edit_layer(bottle, EditOptions(prompt="make it blue glass", shape="keep", steps=2, seed=5,
                                                     resolution=256, model_dir=str(edit_dir), device=device,
                                                     memory=mode))
        row["edit_s"] = round(time.perf_counter() - start, 2)
        row["edit_peak_vram_gb"] = _vram(device)[1]
        row["edit_alpha_kept"] = bool(np.array_equal(edit.pixels[..., 3], bottle.pixels[..., 3]))
        row["edit_changed_colour"] = bool(not np.array_equal(edit.pixels[..., :3], bottle.pixels[..., :3]))
        editor.unload()
        row["vram_after_edit_unload_gb"] = _vram(device)[0]
    except Exception as exc:  # noqa: BLE001
        row["edit_error"] = f"{type(exc).__name__}: {exc}"[:400]
        editor.unload()
    row["ok"] = ("decompose_error" not in row and "edit_error" not in row and row.get("sizes_ok")
                 and row.get("finite_and_not_empty") and row.get("same_seed_same_layers")
                 and row.get("edit_alpha_kept") and row.get("edit_changed_colour"))
    return row


def run(device: str, modes: list[str], json_out: Path | None) -> dict:
    from qil_editor.engines.tiny_edit_model import make_tiny_edit_model
    from qil_editor.engines.tiny_models import make_tiny_layered_model

    started = time.perf_counter()
    report: dict = {"device": device, "rows": []}
    if device.startswith("cuda"):
        import torch

        report["gpu"] = torch.cuda.get_device_name()
        report["torch"] = torch.__version__
    with tempfile.TemporaryDirectory(prefix="qil-gpu-engines-") as tmp:
        layered_dir = make_tiny_layered_model(Path(tmp) / "Qwen-Image-Layered-tiny")
        edit_dir = make_tiny_edit_model(Path(tmp) / "Qwen-Image-Edit-tiny")
        for mode in modes:
            report["rows"].append(check_mode(mode, device, layered_dir, edit_dir))
            print(json.dumps(report["rows"][-1]), flush=True)
            if json_out:
                json_out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    report["seconds"] = round(time.perf_counter() - started, 1)
    if json_out:
        json_out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu [cuda]")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated [{','.join(MODES)}]")
    parser.add_argument("--json-out", type=Path, help="write the report here (after each mode, too)")
    args = parser.parse_args(argv)
    report = run(args.device, [m for m in args.modes.split(",") if m], args.json_out)
    return 0 if report["rows"] and all(row["ok"] for row in report["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())

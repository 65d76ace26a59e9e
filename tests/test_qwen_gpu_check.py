"""bench/gpu_check.py: the dry run's real-size figures, and its measuring path scaled down on the CPU.

The CUDA run itself needs a GPU; here the same code (build from configs on
the target device, place in a mode, the engine's run_layered, measurements,
report, README section) runs with the tiny configuration on the CPU.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
gpu_check = sys.modules.setdefault("gpu_check", importlib.util.module_from_spec(spec))
spec.loader.exec_module(gpu_check)

pytestmark = pytest.mark.slow


def test_dry_run_gives_the_published_sizes_and_the_planner_table(capsys):
    assert gpu_check.main(["--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    params = out["params"]
    assert params["transformer"] == pytest.approx(20.4e9, rel=0.01)
    assert params["text_encoder"] == pytest.approx(8.3e9, rel=0.01)
    assert params["vae"] == pytest.approx(126.9e6, rel=0.001)   # the size the VAE figures were measured at
    plans = {(p["gpu_gb"], p["resolution"], p["layers"]): p for p in out["plans"]}
    assert set(plans) == {(g, r, n) for g in (24, 48, 80, 141) for r, n in ((640, 4), (1024, 8))}
    assert plans[(80, 640, 4)]["mode"] == "full" and plans[(80, 1024, 8)]["mode"] == "full"
    assert plans[(80, 1024, 8)]["vae"] == "slicing"        # 8 layers at 1024 do not decode in one batch
    assert plans[(24, 640, 4)]["mode"] == "group-offload"  # without the quantization packages
    for p in out["plans"]:
        assert p["predicted_peak_gb"] <= p["gpu_gb"] * 0.9
    assert out["floor_tflop_per_step"]["1024px/8"] > out["floor_tflop_per_step"]["640px/4"]


def test_the_measuring_path_runs_scaled_down_on_the_cpu(tmp_path):
    report_file = tmp_path / "report.json"
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n## Other\n\ntext\n", encoding="utf-8")
    gpu_check.README = readme
    code = gpu_check.main(["--tiny", "--device", "cpu", "--cases", "640x2", "--steps", "2",
                           "--caption-tokens", "4", "--json-out", str(report_file), "--readme"])
    report = json.loads(report_file.read_text())
    assert code == 0, report
    (result,) = report["results"]
    assert result["mode"] == "full" and result["ok"] and result["finite"] is True
    assert result["s_per_step"] > 0 and result["decode_s"] > 0 and result["peak_ram_gb"] > 0
    assert result["vae"] == "batch" and result["peak_vram_gb"] is None
    assert {s["mode"] for s in report["skipped"]} == {"model-offload", "group-offload"}  # CPU: full only
    text = readme.read_text()
    assert "## Other" in text and gpu_check.BEGIN in text and "| full | 640 px, 2 |" in text
    gpu_check.write_readme("replaced", readme)
    assert readme.read_text().count(gpu_check.BEGIN) == 1 and "replaced" in readme.read_text()


def test_cuda_is_required_for_the_real_size_run():
    with pytest.raises(SystemExit):
        gpu_check.main(["--device", "cpu"])


def test_the_engines_check_runs_on_the_cpu(tmp_path):
    """bench/gpu_engines.py, the engines end to end (caption, decompose, edit, unload) on the
    tiny models: the same path as on a GPU, one mode."""
    spec = importlib.util.spec_from_file_location("gpu_engines", ROOT / "bench" / "gpu_engines.py")
    gpu_engines = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_engines)
    out = tmp_path / "engines.json"
    assert gpu_engines.main(["--device", "cpu", "--modes", "full", "--json-out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["ok"] and row["plan"]["mode"] == "full" and row["layers"] == 2
    assert row["same_seed_same_layers"] and row["edit_alpha_kept"] and row["loads"] == 1

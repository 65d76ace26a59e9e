"""Packaging: resources found in a bundle, windowed-build streams, the smoke test, and a real lite build.

The slow test builds the lite flavour with PyInstaller and runs its
``--smoke-test`` from a temporary folder with an empty environment (no
project venv on PATH), the way a designer's machine starts it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from qil_editor import resources, smoke

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_HOOK = ROOT / "packaging" / "rthooks" / "pyi_rth_qil_streams.py"
MODEL_PACKAGE_NAMES = ("torch", "triton", "diffusers", "transformers", "accelerate", "safetensors",
                       "tokenizers", "huggingface_hub", "nvidia", "libcudnn", "libcublas", "libnccl")


def test_resource_path_finds_the_source_tree_sample():
    assert resources.resource_path("samples", "poster.png").is_file()
    assert resources.build_flavour() is None  # no build-info file outside a bundle


def test_resource_path_and_build_info_inside_a_bundle(monkeypatch, tmp_path):
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / resources.BUILD_INFO_FILE).write_text(
        json.dumps({"name": "QIL Editor", "version": "9.9", "flavour": "lite"}), encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    resources.build_info.cache_clear()
    try:
        assert resources.resource_path("samples", "poster.png") == tmp_path / "resources" / "samples" / "poster.png"
        assert resources.build_flavour() == "lite"
        assert resources.build_info()["version"] == "9.9"
    finally:
        resources.build_info.cache_clear()


def test_runtime_hook_gives_a_windowed_build_working_streams(tmp_path):
    """With sys.stdout/stderr = None (Windows/macOS windowed), print, logging and tqdm must not crash."""
    code = (
        "import sys, runpy\n"
        "sys.stdout = None; sys.stderr = None\n"
        f"runpy.run_path({str(RUNTIME_HOOK)!r})\n"
        "print('printed line')\n"
        "import logging; logging.getLogger('qil').warning('logged warning')\n"
        "from tqdm import tqdm\n"
        "for _ in tqdm(range(3), desc='progress bar'): pass\n"
        "sys.stdout.flush(); sys.stderr.flush()\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "LOCALAPPDATA": str(tmp_path / "local")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    logs = list(tmp_path.rglob("qil-editor.log"))
    assert len(logs) == 1, f"expected one log file under {tmp_path}, found {logs}"
    text = logs[0].read_text(encoding="utf-8")
    for expected in ("printed line", "logged warning", "progress bar"):
        assert expected in text


def test_runtime_hook_leaves_real_streams_alone(tmp_path):
    code = (f"import runpy, sys; before = sys.stdout; runpy.run_path({str(RUNTIME_HOOK)!r}); "
            "print('same' if sys.stdout is before else 'replaced')")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "same"
    assert not list(tmp_path.rglob("qil-editor.log"))


def test_smoke_test_fails_with_a_reason_when_the_sample_is_missing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(smoke, "SAMPLE", ("samples", "no-such-sample.png"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = io.StringIO()
    assert smoke.run_smoke_test(None, out=out) == 1
    err = capsys.readouterr().err
    assert "smoke test failed" in err and "no-such-sample.png" in err
    assert "smoke test passed" not in out.getvalue()
    assert not list(tmp_path.iterdir()), "nothing was written, so nothing should be kept"


def test_mean_difference_ignores_colour_under_full_transparency():
    import numpy as np

    a = np.zeros((4, 4, 4), np.uint8)
    b = a.copy()
    b[..., :3] = 200  # colour hidden under alpha 0
    assert smoke._mean_difference(a, b) == 0.0
    b[..., 3] = 255
    assert smoke._mean_difference(a, b) > 100


def test_smoke_test_passes_from_the_source_tree(tmp_path):
    """The same checks the packaged app runs, in a fresh interpreter (its own QApplication)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "qil_editor.smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smoke test passed" in proc.stdout
    assert "ok  classical decomposition" in proc.stdout
    assert "ok  main window (offscreen)" in proc.stdout


def _clean_run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    """Run like a designer's machine would: no venv, no PYTHONPATH, nothing but a minimal PATH.

    TMPDIR only keeps the smoke test's files inside the test's own folder.
    """
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TMPDIR": str(home)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lite_bundle(tmp_path_factory):
    """Build the lite flavour once for this module into a temporary folder; removed afterwards."""
    if sys.platform != "linux":
        pytest.skip("the CI build check runs on Linux")
    base = tmp_path_factory.mktemp("lite-build")
    dist, work = base / "dist", base / "build"
    try:
        build = subprocess.run(
            ["bash", str(ROOT / "packaging" / "build.sh"), "lite", "--distpath", str(dist),
             "--workpath", str(work), "--log-level", "WARN"],
            cwd=ROOT, env={**os.environ, "PYTHON": sys.executable},
            capture_output=True, text=True, timeout=1100)
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
        print(build.stdout.strip().splitlines()[-1])  # "Built the lite flavour in Ns: ... (size)"
        (base / "elsewhere").mkdir()
        (base / "home").mkdir()
        yield dist / "qil-editor"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_lite_bundle_builds_without_torch_and_passes_its_smoke_test(lite_bundle):
    exe = lite_bundle / "qil-editor"
    assert exe.is_file() and os.access(exe, os.X_OK)
    leaked = sorted(str(p.relative_to(lite_bundle)) for p in lite_bundle.rglob("*")
                    if any(name in p.name.lower() for name in MODEL_PACKAGE_NAMES))
    assert not leaked, f"model packages in the lite bundle: {leaked[:20]}"
    info = json.loads((lite_bundle / "_internal" / "resources" / resources.BUILD_INFO_FILE).read_text())
    from qil_editor import __version__
    assert info == {"name": "QIL Editor", "version": __version__, "flavour": "lite"}

    base = lite_bundle.parent.parent
    run = _clean_run([str(exe), "--smoke-test"], base / "elsewhere", base / "home")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "smoke test passed" in run.stdout
    assert "packaged (lite build)" in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_lite_bundle_says_to_get_the_full_build_for_models(lite_bundle, tmp_path):
    """Model support degrades to a message, not a crash, in the lite build."""
    base = lite_bundle.parent.parent
    run = _clean_run([str(lite_bundle / "qil-editor"), "--smoke-test", "--model", str(tmp_path)],
                     base / "elsewhere", base / "home")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "full build" in run.stderr, run.stderr

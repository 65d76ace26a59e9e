"""The core install works without the ``model`` extra, and says how to add it.

The extra's absence is simulated by setting its packages to ``None`` in
``sys.modules``: ``importlib.util.find_spec`` then reports them missing and
``import torch`` fails, exactly as in a core install. The start-up check
runs in a fresh interpreter, so modules imported by other tests don't count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qil_editor.engines import model_extra
from qil_editor.engines.base import default_registry

ROOT = Path(__file__).resolve().parents[1]
POSTER = ROOT / "resources" / "samples" / "poster.png"
HEAVY = ("torch", "torchvision", "diffusers", "transformers", "accelerate", "peft", "safetensors")


@pytest.fixture
def no_model_extra(monkeypatch):
    """Make this process look like a core install (no torch, diffusers, transformers...)."""
    for name in model_extra.MODEL_PACKAGES:
        monkeypatch.setitem(sys.modules, name, None)
    assert not model_extra.model_extra_installed()


def test_extra_detection_follows_what_can_be_imported(monkeypatch):
    assert model_extra.missing_model_packages() == [
        name for name in model_extra.MODEL_PACKAGES if __import__("importlib").util.find_spec(name) is None]
    monkeypatch.setitem(sys.modules, "diffusers", None)
    assert "diffusers" in model_extra.missing_model_packages()
    assert not model_extra.model_extra_installed()


def test_a_missing_scikit_image_is_a_missing_model_package(monkeypatch):
    """The re-prompt engine's alpha recovery imports scikit-image after the model run: its
    absence must show up front, in the model engines' availability."""
    from qil_editor.engines.diffusion.engine import model_packages_problem

    for name in model_extra.MODEL_PACKAGES:  # everything else present (found or stood in)
        if name != "skimage" and __import__("importlib").util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed here")
    monkeypatch.setitem(sys.modules, "skimage", None)
    assert model_extra.missing_model_packages() == ["skimage"]
    assert not model_extra.model_extra_installed()
    assert "missing: skimage" in model_packages_problem()


def test_install_command_matches_the_installation(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "prefix", str(ROOT / ".venv"))
    if (ROOT / ".venv").exists():  # a checkout set up by tools/setup.sh: its own script
        assert model_extra.model_install_command() == "bash tools/setup.sh --model"
        monkeypatch.chdir(tmp_path)
        assert model_extra.model_install_command() == f"bash {ROOT / 'tools' / 'setup.sh'} --model"
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "some-other-venv"))
    command = model_extra.model_install_command()
    assert command == f'{sys.executable} -m pip install -e "{ROOT}[model]"'


def test_auto_uses_the_classical_engine_without_the_extra(no_model_extra):
    registry = default_registry()
    assert registry.resolve("auto").name == "classical"
    reason = registry.get("qwen").availability().reason
    assert "model engines are not installed" in reason and model_extra.model_install_command() in reason


def test_cli_qwen_without_the_extra_exits_4_naming_the_install_command(no_model_extra, tmp_path, capsys):
    from qil_editor.cli import main

    out = tmp_path / "out.psd"
    code = main(["decompose", str(POSTER), "-o", str(out), "--engine", "qwen"])
    err = capsys.readouterr().err
    assert code == 4
    assert model_extra.model_install_command() in err
    assert "Qwen-Image-Layered" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_auto_without_the_extra_decomposes_with_the_classical_engine(no_model_extra, tmp_path, capsys):
    from qil_editor.cli import main

    out = tmp_path / "out.psd"
    assert main(["decompose", str(POSTER), "-o", str(out), "--engine", "auto"]) == 0
    err = capsys.readouterr().err
    assert out.is_file()
    assert "Classical" in err and model_extra.model_install_command() in err


def test_decompose_dialog_disables_the_model_engines_with_the_command(no_model_extra, qtbot):
    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.ui.decompose_dialog import DecomposeDialog
    from qil_editor.ui.worker import DecomposeRequest

    engines = [("qwen", "Qwen-Image-Layered (AI)"), ("classical", "Classical (fast, CPU)")]
    # remembered from an install that had the model: the dialog falls back to Auto
    dialog = DecomposeDialog(DecomposeRequest("qwen", DecomposeOptions()), engines)
    qtbot.addWidget(dialog)
    items = dialog.engine.model()
    qwen_row = dialog.engine.findData("qwen")
    assert not items.item(qwen_row).isEnabled()
    assert items.item(dialog.engine.findData("classical")).isEnabled()
    assert items.item(dialog.engine.findData("auto")).isEnabled()
    assert dialog.disabled_engines == {"qwen"}
    assert dialog.engine.currentData() == "auto"
    assert model_extra.model_install_command() in dialog.model_note.text()
    assert model_extra.model_install_command() in items.item(qwen_row).toolTip()
    assert dialog.model_note.isVisibleTo(dialog)
    assert not dialog.steps.isEnabled()  # auto means classical here: no diffusion options
    assert dialog.request().engine == "auto"


def test_decompose_dialog_with_the_extra_enables_every_engine(qtbot):
    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.ui.decompose_dialog import DecomposeDialog
    from qil_editor.ui.worker import DecomposeRequest

    engines = [("qwen", "Qwen-Image-Layered (AI)"), ("classical", "Classical (fast, CPU)")]
    dialog = DecomposeDialog(DecomposeRequest("qwen", DecomposeOptions()), engines, model_extra=True)
    qtbot.addWidget(dialog)
    assert all(dialog.engine.model().item(i).isEnabled() for i in range(dialog.engine.count()))
    assert dialog.engine.currentData() == "qwen" and dialog.steps.isEnabled()
    assert not dialog.model_note.isVisibleTo(dialog)


def test_start_up_and_classical_path_import_no_model_package(tmp_path):
    """The editor's window, the CLI and a classical decomposition load no torch, diffusers or transformers."""
    code = textwrap.dedent(f"""
        import json, sys
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        import qil_editor.app, qil_editor.cli
        from qil_editor.cli import build_parser
        from qil_editor.engines.base import DecomposeOptions, default_registry
        from qil_editor.io import open_image, save_document
        from qil_editor.ui.app_window import MainWindow
        from qil_editor.ui.settings import AppSettings
        app = QApplication([])
        window = MainWindow(AppSettings(QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat)),
                            __import__('pathlib').Path({str(tmp_path / 'data')!r}))
        window.show(); app.processEvents()
        build_parser()
        registry = default_registry()
        engine = registry.resolve("classical")
        doc = engine.decompose(open_image({str(POSTER)!r}), DecomposeOptions())
        save_document(doc, {str(tmp_path / 'out.psd')!r})
        registry.get("qwen").availability()
        window.close()
        print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"imported at start-up or by the classical path: {loaded[:10]}"


def test_hf_cache_lookup_matches_huggingface_hub_without_importing_it(tmp_path, monkeypatch):
    """The model locator finds cached snapshots as huggingface_hub does, but cheaply (start-up)."""
    from qil_editor.engines.diffusion.locate import hf_cache_snapshots, hf_hub_cache_dir
    from qil_editor.engines.qwen.locate import SPEC

    hub_id = SPEC.hub_ids[0]
    repo = tmp_path / "hub" / ("models--" + hub_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123", encoding="utf-8")
    assert hf_cache_snapshots(SPEC, tmp_path / "hub") == []  # a ref without its snapshot
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "model_index.json").write_text("{}", encoding="utf-8")
    found = hf_cache_snapshots(SPEC, tmp_path / "hub")
    assert found == [repo / "snapshots" / "abc123"]
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        pass
    else:
        hit = try_to_load_from_cache(hub_id, "model_index.json", cache_dir=str(tmp_path / "hub"))
        assert Path(hit).parent == found[0]
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert hf_hub_cache_dir() == tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hf_hub_cache_dir() == tmp_path / "elsewhere"
    code = ("import sys\nfrom qil_editor.engines.qwen import QwenDecomposer\nQwenDecomposer().availability()\n"
            "print('huggingface_hub' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "False"

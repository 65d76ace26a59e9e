"""Start-up, the error hook and screenshot mode (real processes where it matters)."""

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from qil_editor.app import build_parser
from qil_editor.errors import InputFileError
from qil_editor.ui.crash import make_excepthook, setup_logging
from qil_editor.ui.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]


def run(args, tmp_path, timeout=180, **kwargs):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=str(tmp_path), **kwargs)


def test_window_is_up_before_torch_or_diffusers_load(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        from qil_editor.ui.app_window import MainWindow
        from qil_editor.ui.settings import AppSettings
        app = QApplication([])
        window = MainWindow(AppSettings(QSettings(r"{tmp_path / 's.ini'}", QSettings.Format.IniFormat)),
                            r"{tmp_path / 'data'}")
        window.show()
        window.open_path(r"{ROOT / 'resources/samples/poster.png'}")
        app.processEvents()
        heavy = sorted(m for m in ("torch", "diffusers", "transformers") if m in sys.modules)
        print("HEAVY", heavy, window.isVisible())
        window.discard_all()
    """)
    result = run(["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "HEAVY [] True" in result.stdout


def test_main_starts_opens_and_quits(tmp_path):
    result = run([str(ROOT / "main.py"), str(ROOT / "resources/samples/poster.png"), "--quit-after-show",
                  "--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data")], tmp_path)
    assert result.returncode == 0, result.stderr
    recent = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)).recent_files
    assert recent == [str(ROOT / "resources/samples/poster.png")]
    assert (tmp_path / "data" / "logs" / "qil-editor.log").is_file()


def test_screenshot_mode_decomposes_and_writes_the_window(tmp_path):
    out = tmp_path / "shot.png"
    result = run([str(ROOT / "main.py"), str(ROOT / "resources/samples/poster.png"), "--decompose",
                  "--engine", "classical", "--layers", "3", "--screenshot", str(out),
                  "--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data")], tmp_path)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1440, 900)
    # the dark theme: the window background is dark
    assert image.pixelColor(1430, 500).lightness() < 80


def test_screenshot_mode_fails_loudly(tmp_path):
    result = run([str(ROOT / "main.py"), str(tmp_path / "nope.png"), "--decompose", "--screenshot",
                  str(tmp_path / "shot.png"), "--settings", str(tmp_path / "s.ini"),
                  "--data-dir", str(tmp_path / "data")], tmp_path)
    assert result.returncode == 3
    assert "nope.png" in result.stderr and not (tmp_path / "shot.png").exists()


def test_parser_validates_layers():
    assert build_parser().parse_args(["a.png", "--layers", "auto"]).layers is None
    assert build_parser().parse_args(["a.png", "--layers", "7"]).layers == 7
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--layers", "11"])


def test_excepthook_logs_and_shows_never_exits(tmp_path):
    log_path = setup_logging(tmp_path / "logs")
    shown = []
    hook = make_excepthook(lambda title, message, hint: shown.append((title, message, hint)), log_path)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        hook(type(exc), exc, exc.__traceback__)
    hook(InputFileError, InputFileError("x.png is damaged.", "Open another file."), None)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert shown[0][0] == "Unexpected error" and "boom" in shown[0][1] and str(log_path) in shown[0][2]
    assert shown[1] == ("QIL Editor", "x.png is damaged.", "Open another file.")
    text = log_path.read_text()
    assert "Traceback" in text and "RuntimeError: boom" in text

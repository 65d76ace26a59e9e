"""The editor and the command line start from one set of decomposition defaults."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from qil_editor.cli import build_parser
from qil_editor.cli.decompose import build_options
from qil_editor.engines.base import DecomposeOptions
from qil_editor.ui.settings import AppSettings

SHARED = ("layers", "resolution", "steps", "cfg_scale", "seed", "prompt", "negative_prompt", "language",
          "device", "memory")


def test_gui_and_cli_defaults_are_the_same(tmp_path):
    defaults = DecomposeOptions()
    assert defaults.layers is None  # Auto, in both
    gui = AppSettings(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)).decompose_request()
    cli = build_options(build_parser().parse_args(["decompose", "in.png", "-o", "out.psd"]))
    assert gui.engine == "auto"
    for name in SHARED:
        assert getattr(gui.options, name) == getattr(cli, name) == getattr(defaults, name), name


def test_gui_remembers_auto_layers(tmp_path):
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    request = settings.decompose_request()
    settings.remember_request(type(request)("classical", request.options.with_changes(layers=5)))
    assert settings.decompose_request().options.layers == 5
    settings.remember_request(type(request)("classical", request.options.with_changes(layers=None)))
    assert settings.decompose_request().options.layers is None

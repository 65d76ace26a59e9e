"""``qil decompose`` progress on a non-terminal: whole lines, not a carriage-return bar."""

from __future__ import annotations

import re
from pathlib import Path

from qil_editor.cli import decompose as cli_decompose
from qil_editor.cli import main
from qil_editor.engines.jobs import Progress

POSTER = Path(__file__).resolve().parents[1] / "resources" / "samples" / "poster.png"


def test_log_lines_are_periodic_with_first_and_last_step(capsys):
    now = [100.0]
    lines = cli_decompose._LogLines("x.png", every_s=5.0)
    lines._clock = lambda: now[0]
    for step in range(0, 51):
        lines(Progress(step, 50, "Denoising", eta_s=50 - step))
        now[0] += 0.5  # 25 s in all: the first line, one every 5 s, and the last
    err = capsys.readouterr().err
    printed = err.splitlines()
    assert "\r" not in err
    assert printed[0] == "qil: x.png: Denoising 0/50 (0%, ETA 00:50)"
    assert printed[-1] == "qil: x.png: Denoising 50/50 (100%)"
    assert 5 <= len(printed) <= 7, printed


def test_decompose_to_a_pipe_prints_lines(tmp_path, capsys):
    assert main(["decompose", str(POSTER), "-o", str(tmp_path / "out.psd"), "--engine", "classical"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert re.search(r"^qil: poster\.png: .* (\d+)/\1 \(100%\)$", err, re.M), err


def test_quiet_prints_no_progress(tmp_path, capsys):
    assert main(["decompose", str(POSTER), "-o", str(tmp_path / "out.psd"), "--engine", "classical", "-q"]) == 0
    assert capsys.readouterr().err == ""

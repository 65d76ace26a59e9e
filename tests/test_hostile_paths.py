"""Issue #17, problems 3 and 8: every path problem is one clear line and a documented exit code."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from qil_editor.cli import main
from qil_editor.errors import EXIT_CODES
from qil_editor.io import atomic

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "p.png"
    Image.new("RGBA", (12, 8), (10, 200, 30, 255)).save(path)
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("qil: error")]
    return code, err, lines


def test_symlink_loop_as_input_and_output(tmp_path, picture, capsys):
    loop = tmp_path / "loop.psd"
    loop.symlink_to(loop)
    code, err, lines = run(capsys, "info", loop)
    assert code == 3 and len(lines) == 1 and "link loop" in err
    code, err, lines = run(capsys, "convert", loop, "-o", tmp_path / "o.psd")
    assert code == 3 and len(lines) == 1
    a, b = tmp_path / "a.psd", tmp_path / "b.psd"
    a.symlink_to(b)
    b.symlink_to(a)
    code, err, lines = run(capsys, "convert", picture, "-o", a)
    assert code == 6 and len(lines) == 1 and "loop" in err


@pytest.mark.timeout(20)
def test_fifo_and_devices_are_refused_without_opening(tmp_path, capsys):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code, err, _ = run(capsys, "info", fifo)  # opening it would wait for a writer forever
    assert code == 3 and "named pipe" in err
    code, err, _ = run(capsys, "info", "/dev/zero")
    assert code == 3 and "device" in err


def test_outputs_that_cannot_become_the_file(tmp_path, picture, capsys):
    folder = tmp_path / "x.psd"
    folder.mkdir()
    code, err, lines = run(capsys, "convert", picture, "-o", folder)
    assert code == 6 and "folder with that name" in err and list(folder.iterdir()) == []
    code, err, _ = run(capsys, "convert", picture, "-o", "/dev/null")
    assert code == 6 and "device" in err
    code, err, _ = run(capsys, "convert", picture, "-o", tmp_path / "missing" / "o.psd")
    assert code == 6 and "does not exist" in err
    code, _err, _ = run(capsys, "convert", picture, "-o", tmp_path / "layers")  # a new folder is fine
    assert code == 0 and (tmp_path / "layers").is_dir()


def test_unwritable_output_folder_exits_6(tmp_path, picture, capsys, monkeypatch):
    def refuse(target):
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(atomic, "_open_temp", refuse)  # root ignores chmod
    code, err, lines = run(capsys, "convert", picture, "-o", tmp_path / "o.psd")
    assert code == 6 and "no permission" in err and len(lines) == 1


def test_internal_errors_are_one_line_exit_1(picture, capsys, monkeypatch):
    from qil_editor.cli import info

    def boom(*a, **k):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(info, "file_info", boom)
    code, err, _ = run(capsys, "info", picture)
    assert code == 1 and "internal error" in err and "report" in err


def test_every_exit_code_is_documented(capsys):
    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("Exit codes:"))
    assert sorted(int(c) for c in re.findall(r"\b(\d+) ", line)) == sorted(EXIT_CODES)
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(f"{code} " in out for code in EXIT_CODES)


def test_real_process_exit_codes(tmp_path, picture):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    code = "import sys; from qil_editor.cli import main; sys.exit(main(sys.argv[1:]))"
    for args, expect in ((["info", str(picture)], 0), (["info", str(loop)], 3),
                         (["convert", str(picture), "-o", str(tmp_path / "no" / "o.psd")], 6)):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)
        assert proc.returncode == expect and "Traceback" not in proc.stderr, proc.stderr

"""Issue #17, problem 4: no temporary save file outlives the process that wrote it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qil_editor.document import Document, Layer
from qil_editor.io import atomic, open_document, save_psd

ROOT = Path(__file__).resolve().parents[1]

WRITER = """
import sys, time
from qil_editor.io.atomic import atomic_write
with atomic_write(sys.argv[1]) as fh:
    fh.write(b"x" * 4096)
    fh.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def _default_signals() -> None:
    """A user's editor starts with the default handling of these signals; a test run under
    nohup or in a background job inherits them ignored, and the writer would outlive them."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


def start_writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)
    assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
    assert len(parts(target.parent)) == 1
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_during_save_removes_the_temporary_file(tmp_path, sig):
    target = tmp_path / "doc.psd"
    target.write_bytes(b"old")
    proc = start_writer(target)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    if sig != signal.SIGINT:
        assert proc.returncode == -sig  # died of the signal, as it should
    assert parts(tmp_path) == [] and target.read_bytes() == b"old"


def test_sigkill_leftover_is_removed_by_the_next_save_and_open(tmp_path):
    target = tmp_path / "doc.psd"
    proc = start_writer(target)
    proc.kill()
    proc.wait(timeout=30)
    assert len(parts(tmp_path)) == 1  # nothing survives SIGKILL...
    doc = Document(4, 4, [Layer(np.zeros((4, 4, 4), np.uint8))])
    save_psd(doc, tmp_path / "other.psd")  # ...until the next save into the folder
    assert parts(tmp_path) == []
    proc = start_writer(target)
    proc.kill()
    proc.wait(timeout=30)
    open_document(tmp_path / "other.psd")  # or the next open of a file there
    assert parts(tmp_path) == []


def test_files_of_live_writers_and_strangers_are_kept(tmp_path):
    live = tmp_path / f".a.psd.qil-{os.getppid()}-abcdefgh.part"  # a running process
    stranger = tmp_path / ".notes.txt.part"  # not our pattern
    recent_legacy = tmp_path / ".b.psd.abcd1234.part"  # old naming, young
    old_legacy = tmp_path / ".c.psd.wxyz5678.part"  # old naming, a day old
    dead = tmp_path / ".d.psd.qil-999999999-abcdefgh.part"
    for p in (live, stranger, recent_legacy, old_legacy, dead):
        p.write_bytes(b"x")
    day_ago = time.time() - 86400
    os.utime(old_legacy, (day_ago, day_ago))
    assert atomic.clean_stale_parts(tmp_path) == 2
    assert parts(tmp_path) == sorted(p.name for p in (live, stranger, recent_legacy))


def test_error_during_save_leaves_nothing(tmp_path):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic.atomic_write(tmp_path / "x.psd") as fh:
            fh.write(b"partial")
            raise Boom
    assert list(tmp_path.iterdir()) == []

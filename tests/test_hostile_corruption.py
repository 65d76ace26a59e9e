"""Issue #17, problems 5 and 7: damaged PSD layers are reported, messages are for people."""

import struct
from pathlib import Path

import numpy as np
import pytest

from qil_editor.cli import main
from qil_editor.document import Document, Layer
from qil_editor.errors import InputFileError
from qil_editor.io import limits, open_document, psd_guard, save_psd
from qil_editor.io.files import damage_detail

ROOT = Path(__file__).resolve().parents[1]


def rle_tables(data: bytes) -> list[tuple[int, int]]:
    """(offset of the row-length table, rows) of every RLE layer channel in a PSD (version 1)."""
    assert struct.unpack(">H", data[4:6])[0] == 1
    pos = 26
    pos += 4 + struct.unpack(">I", data[pos:pos + 4])[0]
    pos += 4 + struct.unpack(">I", data[pos:pos + 4])[0]
    pos += 8
    count = abs(struct.unpack(">h", data[pos:pos + 2])[0])
    pos += 2
    layers = []
    for _ in range(count):
        top, left, bottom, right, n = struct.unpack(">iiiiH", data[pos:pos + 18])
        chans = [struct.unpack(">hI", data[pos + 18 + 6 * i:pos + 24 + 6 * i]) for i in range(n)]
        pos += 18 + 6 * n + 12
        pos += 4 + struct.unpack(">I", data[pos:pos + 4])[0]
        layers.append((bottom - top, chans))
    found = []
    for rows, chans in layers:
        for cid, length in chans:
            if struct.unpack(">H", data[pos:pos + 2])[0] == 1 and cid >= -1 and rows > 1:
                found.append((pos + 2, rows))
            pos += length
    return found


@pytest.fixture
def layered_psd(tmp_path):
    rng = np.random.default_rng(11)
    px = rng.integers(0, 4, (40, 30, 4), dtype=np.uint8) * 60
    doc = Document(30, 40, [Layer(np.full((40, 30, 4), 255, np.uint8), name="Paper"),
                            Layer(px, name="Ink ✒")])
    path = tmp_path / "ok.psd"
    save_psd(doc, path)
    return path


def corrupt(path: Path, out: Path, table_index: int, row: int, delta: int) -> Path:
    data = bytearray(path.read_bytes())
    at, rows = rle_tables(bytes(data))[table_index]
    value = struct.unpack(">H", data[at + 2 * row:at + 2 * row + 2])[0]
    data[at + 2 * row:at + 2 * row + 2] = struct.pack(">H", max(0, value + delta))
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("delta", [1, -1, 40, -3])
def test_corrupted_rle_row_count_is_reported_with_the_layer(layered_psd, tmp_path, delta):
    tables = rle_tables(layered_psd.read_bytes())
    bad = corrupt(layered_psd, tmp_path / "bad.psd", len(tables) - 2, 5, delta)  # a channel of "Ink ✒"
    with pytest.raises(InputFileError) as info:
        open_document(bad)
    assert "'Ink ✒'" in info.value.message and "damaged" in info.value.message
    assert "--allow-damaged" in info.value.hint
    doc = open_document(bad, allow_damaged=True)
    assert [name for name, _ in doc.damaged_layers] == ["Ink ✒"]
    assert len(doc.layers) == 2


def test_rle_stream_that_decodes_short_is_damage(layered_psd, tmp_path):
    data = bytearray(layered_psd.read_bytes())
    at, rows = rle_tables(bytes(data))[-1]
    body = at + 2 * rows
    first = struct.unpack(">H", data[at:at + 2])[0]
    # row 0 decodes to 3 bytes instead of 30, the row-length table untouched:
    # a run of three, padded with no-op headers (128) to the same byte count
    data[body:body + first] = bytes([0xFE, 7]) + bytes([128]) * (first - 2)
    bad = tmp_path / "short.psd"
    bad.write_bytes(bytes(data))
    found = psd_guard.damaged_channels(__import__("psd_tools").PSDImage.open(bad), 1)
    assert found and found[0][0] == "Ink ✒"


def test_cli_warns_and_exits_3_unless_allow_damaged(layered_psd, tmp_path, capsys):
    tables = rle_tables(layered_psd.read_bytes())
    bad = corrupt(layered_psd, tmp_path / "bad.psd", len(tables) - 1, 2, 7)
    assert main(["info", str(bad)]) == 3
    err = capsys.readouterr().err
    assert "Ink ✒" in err and "Traceback" not in err
    out = tmp_path / "out.psd"
    assert main(["convert", str(bad), "-o", str(out)]) == 3 and not out.exists()
    capsys.readouterr()
    assert main(["info", str(bad), "--allow-damaged"]) == 0
    assert "qil: warning: layer 'Ink ✒' is damaged" in capsys.readouterr().err
    assert main(["convert", str(bad), "-o", str(out), "--allow-damaged"]) == 0 and out.exists()


def test_intact_files_have_no_damage():
    from psd_tools import PSDImage
    for path in sorted((ROOT / "tests/data/psd-cases").glob("*/src.ps*")):
        psd = PSDImage.open(path)
        assert psd_guard.damaged_channels(psd, psd.version) == [], path


# ----- problem 7: messages --------------------------------------------------------------------
def test_psd_tools_allocation_budget_is_a_size_message_not_damage(layered_psd, monkeypatch):
    monkeypatch.setattr(psd_guard, "estimate_peak", lambda *a: (0, "nothing"))
    limits.set_memory_budget(500)  # psd-tools' own guard refuses the first layer read
    try:
        with pytest.raises(InputFileError) as info:
            open_document(layered_psd)
    finally:
        limits.set_memory_budget()
    text = str(info.value)
    assert "memory budget" in text and "damaged" not in text and "max_alloc_bytes" not in text


def test_damage_details_never_carry_raw_exception_text():
    class Attribute:  # what attrs validators put in their messages
        def __repr__(self):
            return "Attribute(name='width', default=NOTHING, validator=<in_ range>)"
    samples = [ValueError("'width' must be in range(0, 300001)", Attribute(), 400000),
               struct.error("unpack requires a buffer of 4 bytes"), EOFError(), KeyError(b"8BIM"),
               OSError("image file is truncated (5 bytes not processed)"), IndexError("index 7"),
               RuntimeError("<psd_tools.psd.layer_and_mask.LayerRecord object at 0x7f00>")]
    for exc in samples:
        detail = damage_detail(exc)
        assert detail and not any(bad in detail for bad in ("Attribute", "0x", "<", "buffer", "'", "index"))

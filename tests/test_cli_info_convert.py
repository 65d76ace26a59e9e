"""qil info / qil convert through the dispatcher (and once through the installed entry point)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from qil_editor.cli import main
from qil_editor.document import BlendMode, Document, Layer
from qil_editor.io import read_psd, save_psd


@pytest.fixture
def layered(tmp_path):
    doc = Document(20, 10, [
        Layer(np.full((10, 20, 4), 255, np.uint8), name="Background"),
        Layer(np.full((4, 4, 4), 90, np.uint8), name="Ébène ✨", x=-2, y=3, opacity=128 / 255,
              blend_mode=BlendMode.MULTIPLY, visible=False),
    ])
    path = tmp_path / "in.psd"
    save_psd(doc, path)
    return path


def test_info_json(layered, capsys):
    assert main(["info", str(layered), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["format"], info["width"], info["height"]) == ("PSD", 20, 10)
    assert (info["color_mode"], info["bit_depth"]) == ("RGB + alpha", 8)
    top = info["layers"][1]
    assert top == {"index": 1, "name": "Ébène ✨", "box": [-2, 3, 2, 7], "opacity": 0.502,
                   "visible": False, "blend_mode": "multiply", "locked": False}


def test_info_text_lists_top_layer_first(layered, capsys):
    assert main(["info", str(layered)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "20 x 10 px" in out[0] and "2 layer(s)" in out[0]
    assert "Ébène ✨" in out[2] and "multiply" in out[2] and "no" in out[2]
    assert "Background" in out[3]


def test_info_flat_png(tmp_path, capsys):
    Image.new("LA", (5, 3)).save(tmp_path / "g.png")
    assert main(["info", str(tmp_path / "g.png"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "PNG" and info["color_mode"] == "Grayscale + alpha"
    assert [ly["name"] for ly in info["layers"]] == ["g"]


@pytest.mark.parametrize("args", [["info", "{bad}"], ["convert", "{bad}", "-o", "{out}"]])
def test_bad_input_exits_3(tmp_path, capsys, args):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    out = tmp_path / "out.psd"
    code = main([a.format(bad=bad, out=out) for a in args])
    err = capsys.readouterr().err
    assert code == 3 and "bad.png" in err and "Traceback" not in err
    assert not out.exists()


def test_convert_image_to_psd_png_zip(tmp_path, capsys):
    src = tmp_path / "photo.jpg"
    Image.new("RGB", (16, 8), (200, 100, 50)).save(src, quality=95)
    assert main(["convert", str(src), "-o", str(tmp_path / "photo.psd")]) == 0
    doc = read_psd(tmp_path / "photo.psd")
    assert (doc.width, doc.height, len(doc.layers)) == (16, 8, 1) and doc.layers[0].name == "photo"
    assert main(["convert", str(tmp_path / "photo.psd"), "-o", str(tmp_path / "flat.png")]) == 0
    assert Image.open(tmp_path / "flat.png").size == (16, 8)
    assert main(["convert", str(tmp_path / "photo.psd"), "-o", str(tmp_path / "layers.zip")]) == 0
    assert (tmp_path / "layers.zip").stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


def test_convert_psd_keeps_layers(layered, tmp_path):
    assert main(["convert", str(layered), "-o", str(tmp_path / "out.psd")]) == 0
    a, b = read_psd(layered), read_psd(tmp_path / "out.psd")
    assert [ly.properties() for ly in a.layers] == [ly.properties() for ly in b.layers]


def test_convert_refuses_to_overwrite_input_and_unknown_types(layered, capsys):
    assert main(["convert", str(layered), "-o", str(layered)]) == 2
    assert main(["convert", str(layered), "-o", str(layered.with_suffix(".bmp"))]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_entry_point_subprocess(layered):
    exe = shutil.which("qil", path=os.path.dirname(sys.executable)) or shutil.which("qil")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from qil_editor.cli import main; sys.exit(main())"]
    run = subprocess.run(cmd + ["info", str(layered), "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["layers"][0]["name"] == "Background"
    run = subprocess.run(cmd + ["info", str(layered.parent / "missing.psd")], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 3 and "not found" in run.stderr and "Traceback" not in run.stderr

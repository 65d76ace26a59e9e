"""``qil decompose`` and ``qil make-tiny-model``: outputs, batch, exit codes, Ctrl+C."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from qil_editor.cli import main
from qil_editor.engines.base import EngineRegistry
from qil_editor.engines.qwen import QwenDecomposer, SearchPlaces

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--steps", "1", "--layers", "2", "--prompt", "a poster", "--seed", "1", "--device", "cpu", "-q"]


def _png(path, h, w, mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    arr = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    Image.fromarray(arr[..., 0] if channels == 1 else arr, mode).save(path)
    return path


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(tiny_model_dir, dst)
    return dst


@pytest.fixture(scope="module")
def shared_engine():
    eng = QwenDecomposer(SearchPlaces(env={}, project_dirs=(), use_hf_cache=False))
    yield eng
    eng.unload()


@pytest.fixture
def reuse_engine(shared_engine, monkeypatch):
    """The CLI code as is, but with one loaded engine across tests (loading is tested elsewhere)."""
    def registry():
        reg = EngineRegistry()
        reg.register("qwen", lambda: shared_engine)
        return reg

    monkeypatch.setattr("qil_editor.engines.base.default_registry", registry)
    return shared_engine


# ----- model problems: exit 4 with a message that says what to do -------------------

def _break_no_weights(folder):
    for f in (folder / "transformer").glob("*.safetensors"):
        f.unlink()
    return "no weights in transformer/"


def _break_corrupt(folder):
    f = next((folder / "vae").glob("*.safetensors"))
    f.write_bytes(f.read_bytes()[:1000])
    return "Download the model again"


def _break_wrong_type(folder):
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "QwenImagePipeline"
    (folder / "model_index.json").write_text(json.dumps(index))
    return "not Qwen-Image-Layered"


@pytest.mark.parametrize("breaker", [_break_no_weights, _break_corrupt, _break_wrong_type])
def test_broken_model_folder_exits_4(model_copy, tmp_path, capsys, breaker):
    expected = breaker(model_copy)
    img = _png(tmp_path / "in.png", 20, 30)
    out = tmp_path / "out.psd"
    code = main(["decompose", str(img), "-o", str(out), "--engine", "qwen", "--model", str(model_copy), *FAST])
    err = capsys.readouterr().err
    assert code == 4
    assert expected in err and "model/README.md" in err
    assert not out.exists()


def test_missing_model_folder_exits_4(tmp_path, capsys):
    img = _png(tmp_path / "in.png", 20, 30)
    code = main(["decompose", str(img), "-o", str(tmp_path / "o.psd"), "--engine", "qwen",
                 "--model", str(tmp_path / "nowhere"), *FAST])
    err = capsys.readouterr().err
    assert code == 4 and "does not exist" in err and "hf download Qwen/Qwen-Image-Layered" in err


@pytest.mark.slow
def test_weights_that_do_not_fit_the_config_exit_4(model_copy, tmp_path, capsys):
    cfg_file = model_copy / "transformer" / "config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["attention_head_dim"] = 8
    cfg_file.write_text(json.dumps(cfg))
    img = _png(tmp_path / "in.png", 20, 30)
    code = main(["decompose", str(img), "-o", str(tmp_path / "o.psd"), "--model", str(model_copy), *FAST])
    err = capsys.readouterr().err
    assert code == 4 and "Could not load Qwen-Image-Layered" in err and "download it again" in err


def test_gpu_only_settings_on_cpu_exit_4(tiny_model_dir, tmp_path, capsys):
    img = _png(tmp_path / "in.png", 20, 30)
    args = ["decompose", str(img), "-o", str(tmp_path / "o.psd"), "--model", str(tiny_model_dir), *FAST]
    assert main(args + ["--memory", "nf4"]) == 4
    assert "NVIDIA GPU" in capsys.readouterr().err
    import torch
    if not torch.cuda.is_available():
        assert main(args + ["--device", "cuda"]) == 4
        assert "--device cpu" in capsys.readouterr().err


def test_usage_and_input_errors(tmp_path, capsys):
    img = _png(tmp_path / "in.png", 20, 30)
    with pytest.raises(SystemExit) as info:
        main(["decompose", str(img), "-o", str(tmp_path / "o.psd"), "--layers", "11"])
    assert info.value.code == 2
    assert main(["decompose", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.psd")]) == 3
    capsys.readouterr()


def test_auto_falls_back_to_classical_without_weights(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QIL_MODEL_DIR", str(tmp_path / "no-weights-here"))
    img = _png(tmp_path / "in.png", 40, 60)
    out = tmp_path / "out.psd"
    code = main(["decompose", str(img), "-o", str(out), "--layers", "3"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "classical" in err.lower() and "does not exist" in err
    assert out.is_file()


def test_lora_step_count_sets_steps_and_cfg():
    from qil_editor.cli import build_parser
    from qil_editor.cli.decompose import build_options

    parse = build_parser().parse_args
    opts = build_options(parse(["decompose", "a.png", "-o", "b.psd", "--lora", "x/Qwen-Lightning-4steps-V1.safetensors"]))
    assert (opts.steps, opts.cfg_scale) == (4, 1.0)
    opts = build_options(parse(["decompose", "a.png", "-o", "b.psd", "--lora", "Lightning-8step.safetensors",
                                "--steps", "6", "--cfg", "2.5"]))
    assert (opts.steps, opts.cfg_scale) == (6, 2.5)
    opts = build_options(parse(["decompose", "a.png", "-o", "b.psd", "--layers", "auto"]))
    assert (opts.layers, opts.steps, opts.cfg_scale) == (None, 50, 4.0)


# ----- end to end on the tiny model ------------------------------------------------------

@pytest.mark.slow
def test_decompose_to_psd_through_the_real_registry(tiny_model_dir, tmp_path, capsys):
    from qil_editor.io import read_psd

    img = _png(tmp_path / "odd.png", 37, 91, "RGBA")
    out = tmp_path / "odd.psd"
    code = main(["decompose", str(img), "-o", str(out), "--model", str(tiny_model_dir),
                 "--steps", "2", "--layers", "3", "--prompt", "x", "--seed", "4"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Separating layers" in err and "wrote" in err and "seed 4" in err  # progress bar, summary
    doc = read_psd(out)
    assert (doc.width, doc.height) == (91, 37) and len(doc) == 3
    assert [layer.name for layer in doc.layers] == ["Background", "Layer 1", "Layer 2"]


@pytest.mark.slow
def test_zip_and_folder_outputs(reuse_engine, tiny_model_dir, tmp_path):
    img = _png(tmp_path / "grey.png", 50, 21, "L")
    base = ["decompose", str(img), "--model", str(tiny_model_dir), *FAST]
    assert main(base + ["-o", str(tmp_path / "layers.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "layers.zip") as zf:
        names = zf.namelist()
        assert len(names) == 2 and all(n.endswith(".png") for n in names)
        with zf.open(names[0]) as fh:
            assert Image.open(fh).size == (21, 50)
    assert main(base + ["-o", str(tmp_path / "pngs")]) == 0
    pngs = sorted((tmp_path / "pngs").glob("*.png"))
    assert len(pngs) == 2 and Image.open(pngs[0]).mode == "RGBA"
    assert reuse_engine.load_count == 1


@pytest.mark.slow
def test_batch_folder_goes_on_past_bad_files(reuse_engine, tiny_model_dir, tmp_path, capsys):
    from qil_editor.io import read_psd

    src = tmp_path / "in"
    src.mkdir()
    _png(src / "a.png", 30, 70, "RGBA", seed=1)
    _png(src / "b.jpg", 64, 16, "RGB", seed=2)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (src / "notes.txt").write_text("not an image, ignored")
    out = tmp_path / "out"
    code = main(["decompose", str(src), "-o", str(out), "--model", str(tiny_model_dir), *FAST])
    err = capsys.readouterr().err
    assert code == 3, err  # every failure was a bad input file
    assert sorted(p.name for p in out.iterdir()) == ["a.psd", "b.psd"]
    assert "broken.png" in err and "1 failed" in err and "2 of 3 images" in err
    doc = read_psd(out / "b.psd")
    assert (doc.width, doc.height) == (16, 64) and len(doc) == 2


@pytest.mark.slow
def test_ctrl_c_cancels_with_130_and_writes_nothing(tiny_model_dir, tmp_path):
    img = _png(tmp_path / "in.png", 40, 40)
    out_dir = tmp_path / "result"
    out_dir.mkdir()
    out = out_dir / "out.psd"
    cmd = [sys.executable, "-c", "import sys; from qil_editor.cli import main; sys.exit(main())",
           "decompose", str(img), "-o", str(out), "--model", str(tiny_model_dir), "--steps", "50",
           "--layers", "2", "--prompt", "x", "--device", "cpu"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = bytearray()
    started = threading.Event()

    def reader():
        while True:
            chunk = proc.stderr.read1(4096) if hasattr(proc.stderr, "read1") else proc.stderr.read(1)
            if not chunk:
                return
            seen.extend(chunk)
            if b"Separating layers" in seen and b"/50" in seen:
                started.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        assert started.wait(240), seen.decode(errors="replace")[-2000:]
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    thread.join(5)
    text = seen.decode(errors="replace")
    assert code == 130, text[-2000:]
    assert "cancel" in text.lower()
    assert list(out_dir.iterdir()) == [], "no partial or temporary output"


@pytest.mark.slow
def test_make_tiny_model_command(tmp_path, capsys):
    from qil_editor.engines.qwen import check_model_folder

    target = tmp_path / "tiny"
    assert main(["make-tiny-model", str(target)]) == 0
    assert check_model_folder(target).params["transformer"] > 0
    assert main(["make-tiny-model", str(target)]) == 2  # not an empty folder
    assert "already exists" in capsys.readouterr().err

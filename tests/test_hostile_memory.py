"""Issue #17, problems 1, 2 and 6: memory is bounded before decoding; one pixel limit everywhere.

Also the helpers that craft the hostile files (a fill layer on a huge canvas,
a corrupted mask rectangle), shared with ``bench/bench_memory.py``.
"""

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qil_editor.cli import main
from qil_editor.errors import InputFileError
from qil_editor.io import limits, open_document, open_image
from qil_editor.io import psd_guard

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "psd-cases"


# ----- crafting -------------------------------------------------------------------------------
def _pascal4(name: bytes) -> bytes:
    data = bytes([len(name)]) + name
    return data + b"\0" * (-len(data) % 4)


def _ustr(s: str) -> bytes:
    return struct.pack(">I", len(s) + 1) + (s + "\0").encode("utf-16-be")


def _key(k: bytes) -> bytes:
    return struct.pack(">I", 0) + k


def _solid_color_descriptor(rgb) -> bytes:
    color = (_ustr("") + _key(b"RGBC") + struct.pack(">I", 3)
             + _key(b"Rd  ") + b"doub" + struct.pack(">d", rgb[0])
             + _key(b"Grn ") + b"doub" + struct.pack(">d", rgb[1])
             + _key(b"Bl  ") + b"doub" + struct.pack(">d", rgb[2]))
    return (struct.pack(">I", 16) + _ustr("") + _key(b"null") + struct.pack(">I", 1)
            + _key(b"Clr ") + b"Objc" + color)


def craft_fill_psd(path, width, height, rgb=(255.0, 0.0, 0.0), name=b"Fill", mask=None):
    """A PSD whose only layer is a solid-colour fill layer (no stored pixels), as Photoshop writes one.

    ``mask``: (left, top, uint8 plane, default colour) for a user mask. The
    merged image is ZIP-compressed white, written row by row, so even a
    16384x16384 canvas makes a small file without a big buffer.
    """
    soco = _solid_color_descriptor(rgb)
    soco += b"\0" * (-len(soco) % 2)
    tagged = b"8BIM" + b"SoCo" + struct.pack(">I", len(soco)) + soco
    mask_data, channels, channel_data = struct.pack(">I", 0), [(-1, 2), (0, 2), (1, 2), (2, 2)], b""
    channel_data = struct.pack(">H", 0) * 4
    if mask is not None:
        ml, mt, plane, default = mask
        mh, mw = plane.shape
        mask_data = struct.pack(">IiiiiBBH", 20, mt, ml, mt + mh, ml + mw, default, 0, 0)
        channels.append((-2, 2 + plane.size))
        channel_data += struct.pack(">H", 0) + plane.astype(np.uint8).tobytes()
    extra = mask_data + struct.pack(">I", 0) + _pascal4(name) + tagged
    record = struct.pack(">iiii", 0, 0, 0, 0) + struct.pack(">H", len(channels))
    for cid, length in channels:
        record += struct.pack(">hI", cid, length)
    record += b"8BIMnorm" + bytes([255, 0, 0, 0]) + struct.pack(">I", len(extra)) + extra
    info = struct.pack(">h", 1) + record + channel_data
    info += b"\0" * (-len(info) % 4)
    lmi = struct.pack(">I", len(info)) + info + struct.pack(">I", 0)
    with open(path, "wb") as fh:
        fh.write(b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3))
        fh.write(struct.pack(">II", 0, 0))
        fh.write(struct.pack(">I", len(lmi)) + lmi)
        fh.write(struct.pack(">H", 2))
        z = zlib.compressobj(6)
        row = b"\xff" * width
        for _ in range(3 * height):
            fh.write(z.compress(row))
        fh.write(z.flush())
    return Path(path)


def _first_record_offset(data: bytes) -> tuple[int, int]:
    """(offset of the first layer record, PSD version) in a PSD/PSB file's bytes."""
    version = struct.unpack(">H", data[4:6])[0]
    pos = 26
    pos += 4 + struct.unpack(">I", data[pos:pos + 4])[0]  # colour mode data
    pos += 4 + struct.unpack(">I", data[pos:pos + 4])[0]  # image resources
    pos += 4 if version == 1 else 8  # layer and mask information length
    pos += 4 if version == 1 else 8  # layer info length
    return pos + 2, version  # after the layer count


def inflate_mask_rect(src, dst, width, height) -> Path:
    """Copy a PSD whose first layer has a mask, with that mask's rectangle set to width x height."""
    data = bytearray(Path(src).read_bytes())
    pos, version = _first_record_offset(bytes(data))
    channels = struct.unpack(">H", data[pos + 16:pos + 18])[0]
    pos += 18 + channels * (6 if version == 1 else 10) + 12 + 4
    assert struct.unpack(">I", data[pos:pos + 4])[0] >= 20, "the first layer has no mask"
    data[pos + 4:pos + 20] = struct.pack(">iiii", 0, 0, height, width)
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def tiny_jpeg_claiming(path, width, height) -> Path:
    """A real 16x16 JPEG whose frame header is patched to claim width x height."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    Path(path).write_bytes(bytes(data))
    return Path(path)


#: Peak resident memory of a child is read from its own /proc/self/status (VmHWM) at exit:
#: ru_maxrss from wait4 also counts the parent's memory when the child was spawned by vfork/fork
#: (Linux folds the pre-exec high-water mark in), so a big pytest process would inflate it.
HWM_AT_EXIT = ("import atexit, os, sys\n"
               "def _hwm():\n"
               "    with open('/proc/self/status') as f:\n"
               "        kb = next(int(x.split()[1]) for x in f if x.startswith('VmHWM:'))\n"
               "    with open(os.environ['QIL_HWM_FILE'], 'w') as out:\n"
               "        out.write(str(kb * 1024))\n"
               "atexit.register(_hwm)\n")


def peak_rss_of(code: str, *args: str, env_extra: dict | None = None) -> tuple[int, int, str]:
    """(exit code, peak RSS bytes, stderr) of ``python -c code args`` in a fresh process."""
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        hwm = Path(tmp) / "hwm"
        env = dict(os.environ, QIL_HWM_FILE=str(hwm), **(env_extra or {}))
        proc = subprocess.run([sys.executable, "-c", HWM_AT_EXIT + code, *args], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        return proc.returncode, int(hwm.read_text()), proc.stderr.decode(errors="replace")


QIL = "import sys; from qil_editor.cli import main; sys.exit(main(sys.argv[1:]))"


# ----- problem 1: a fill layer on a huge canvas -------------------------------------------------
def test_solid_fill_is_drawn_as_psd_tools_draws_it(tmp_path, monkeypatch):
    path = craft_fill_psd(tmp_path / "fill.psd", 120, 50, (0.0, 128.0, 255.0))
    doc = open_document(path)
    (layer,) = doc.layers
    assert layer.bbox == (0, 0, 120, 50)
    assert (layer.pixels == np.array([0, 128, 255, 255], np.uint8)).all()
    monkeypatch.setattr(psd_guard, "solid_fill", lambda layer: None)  # psd-tools' renderer instead
    assert np.array_equal(open_document(path).layers[0].pixels, layer.pixels)


@pytest.mark.parametrize("default", [0, 255])
def test_masked_solid_fill_matches_psd_tools(tmp_path, monkeypatch, default):
    plane = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (12, 1))  # 12 x 25 ramp
    path = craft_fill_psd(tmp_path / "m.psd", 60, 40, (10.0, 200.0, 90.0), mask=(20, 5, plane, default))
    ours = open_document(path).layers[0]
    monkeypatch.setattr(psd_guard, "solid_fill", lambda layer: None)
    theirs = open_document(path).layers[0]
    assert ours.bbox == theirs.bbox
    a, b = ours.pixels.astype(int), theirs.pixels.astype(int)
    assert np.abs(a[..., 3] - b[..., 3]).max() <= 1
    shown = (a[..., 3] > 0) & (b[..., 3] > 0)  # colour under alpha 0 means nothing
    assert np.abs(a[shown][:, :3] - b[shown][:, :3]).max() <= 1


@pytest.mark.slow
def test_fill_layer_on_a_16384_canvas_stays_within_twice_its_rgba(tmp_path):
    """The 22 KB PSD that took more than 16 GB: now about the layer plus bands."""
    path = craft_fill_psd(tmp_path / "fill.psd", 16384, 16384)
    code, peak, err = peak_rss_of(QIL, "info", str(path))
    assert code == 0, err
    rgba = 16384 * 16384 * 4
    assert peak < 2 * rgba + 400 * 2 ** 20, f"peak {peak / 2**30:.2f} GiB"


def test_psd_over_the_budget_is_refused_before_decoding(tmp_path):
    path = craft_fill_psd(tmp_path / "fill.psd", 3000, 3000)
    limits.set_memory_budget(16 * 2 ** 20)
    try:
        with pytest.raises(InputFileError) as info:
            open_document(path)
    finally:
        limits.set_memory_budget()
    assert "memory" in info.value.message and "3000x3000 canvas" in info.value.message
    assert "--memory-budget" in info.value.hint


def test_corrupted_mask_rectangle_is_refused_quickly(tmp_path):
    path = inflate_mask_rect(DATA / "layer-mask" / "src.psd", tmp_path / "m.psd", 30000, 30000)
    with pytest.raises(InputFileError) as info:
        open_document(path)
    text = str(info.value)
    assert "Layer 1" in text and ("damaged" in text or "memory" in text)


def test_budget_from_env_and_option(monkeypatch):
    monkeypatch.setenv(limits.ENV_MEMORY_BUDGET, "1.5G")
    assert limits.memory_budget() == int(1.5 * 2 ** 30)
    monkeypatch.setenv(limits.ENV_MEMORY_BUDGET, "unlimited")
    assert limits.memory_budget() is None
    monkeypatch.delenv(limits.ENV_MEMORY_BUDGET)
    default = limits.memory_budget()
    avail = limits.available_memory()
    assert default >= limits.MIN_DEFAULT_BUDGET and (avail is None or default <= max(avail, limits.MIN_DEFAULT_BUDGET))
    assert limits.parse_size("512M") == 512 * 2 ** 20 and limits.parse_size("123") == 123
    with pytest.raises(ValueError):
        limits.parse_size("lots")


def test_cli_memory_budget_option(tmp_path, capsys):
    path = tmp_path / "a.png"
    Image.new("RGBA", (400, 300)).save(path)
    assert main(["--memory-budget", "100K", "info", str(path)]) == 3
    err = capsys.readouterr().err
    assert "needs about" in err and "400x300" in err and err.count("\n") == 2
    assert main(["info", str(path)]) == 0  # the option lasted one call
    with pytest.raises(SystemExit) as usage:  # argparse's own exit
        main(["--memory-budget", "lots", "info", str(path)])
    assert usage.value.code == 2


# ----- problem 2: images at the pixel limit -------------------------------------------------------
def test_tiny_jpeg_claiming_16384_is_refused_without_decoding(tmp_path):
    path = tiny_jpeg_claiming(tmp_path / "t.jpg", 16384, 16384)
    assert path.stat().st_size < 1000
    code, peak, err = peak_rss_of(QIL, "info", str(path))
    assert code == 3 and "cut short or forged" in err, err
    assert peak < 400 * 2 ** 20


def test_jpeg_plausibility_keeps_real_files(tmp_path):
    rng = np.random.default_rng(3)
    for size, kw in (((640, 480), {}), ((64, 64), {"progressive": True})):
        path = tmp_path / f"ok{size[0]}.jpg"
        flat = np.full(size[::-1] + (3,), 200, np.uint8)  # as compressible as a JPEG gets
        flat[::7, ::5] = rng.integers(0, 255, flat[::7, ::5].shape, dtype=np.uint8)
        Image.fromarray(flat).save(path, quality=5, **kw)
        assert open_image(path).shape == size[::-1] + (4,)
    white = tmp_path / "white.png"
    Image.new("L", (4000, 4000), 255).save(white, optimize=True)
    assert open_image(white).shape == (4000, 4000, 4)


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "P"])
def test_direct_decode_gives_pillows_pixels(tmp_path, mode):
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 255, (37, 53, 4), dtype=np.uint8)
    im = Image.fromarray(arr, "RGBA").convert(mode)
    kw = {"transparency": 3} if mode == "P" else {}
    for fmt, ext in (("PNG", "png"), ("TIFF", "tif"), ("BMP", "bmp")):
        if fmt == "BMP" and mode == "RGBA":
            continue
        path = tmp_path / f"x.{ext}"
        im.save(path, fmt, **(kw if fmt == "PNG" else {}))
        with Image.open(path) as ref:
            expect = np.array(ref.convert("RGBA"))
        assert np.array_equal(open_image(path), expect), (fmt, mode)


@pytest.mark.slow
def test_png_at_the_pixel_limit_peaks_under_twice_its_rgba(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_memory import make_png_rgba
    path = tmp_path / "big.png"
    make_png_rgba(path)
    code, peak, err = peak_rss_of(QIL, "info", str(path))
    assert code == 0, err
    assert peak < 2 * 16384 * 16384 * 4, f"peak {peak / 2**30:.2f} GiB"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    from PIL import ImageOps
    rng = np.random.default_rng(orientation)
    im = Image.fromarray(rng.integers(0, 255, (6, 9, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    im.save(path, quality=100, exif=exif.tobytes())
    with Image.open(path) as ref:
        expect = np.array(ImageOps.exif_transpose(ref).convert("RGBA"))
    assert np.array_equal(open_image(path), expect)


# ----- problem 6: one limit for every format ---------------------------------------------------
def test_pillow_limit_is_ours():
    assert Image.MAX_IMAGE_PIXELS == limits.DEFAULT_MAX_PIXELS


def test_tiff_over_the_limit_gets_our_message(tmp_path):
    path = tmp_path / "big.tif"
    Image.new("L", (400, 300)).save(path, compression="packbits")
    code, _peak, err = peak_rss_of(QIL, "info", str(path), env_extra={"QIL_MAX_PIXELS": "100000"})
    assert code == 3 and "400x300" in err and "megapixels QIL Editor opens" in err
    assert "exceeds limit" not in err and "Traceback" not in err


def test_tiff_between_pillows_default_and_ours_opens(tmp_path, monkeypatch):
    path = tmp_path / "t.tif"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(path, compression="packbits")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as Pillow's own default is below ours
    assert open_image(path).shape == (64, 64, 4)
    assert Image.MAX_IMAGE_PIXELS == 1000


# ----- saving: the PSD writer streams (qil convert at the pixel limit) ---------------------------
def noise(side: int) -> np.ndarray:
    """Random RGBA, its top quarter transparent, made in bands (no big temporary to hide a peak)."""
    rng = np.random.default_rng(17)
    px = np.empty((side, side, 4), np.uint8)
    for y in range(0, side, 256):
        rows = min(256, side - y)
        px[y:y + rows] = np.frombuffer(rng.bytes(rows * side * 4), np.uint8).reshape(rows, side, 4)
    px[:side // 4, :, 3] = 0
    return px


SAVE_DELTA = ("import sys, numpy as np\n"
              "sys.path.insert(0, 'tests'); from test_hostile_memory import noise\n"
              "from qil_editor.document import Document, Layer\n"
              "from qil_editor.io import save_psd\n"
              "import cv2, PIL.Image, psd_tools.compression  # imported before the first reading\n"
              "side = int(sys.argv[1])\n"
              "px = noise(side)\n"
              "doc = Document(side, side); doc.add_layer(Layer(px, name='pixels'))\n"
              "def hwm():\n"
              "    with open('/proc/self/status') as f:\n"
              "        return next(int(x.split()[1]) for x in f if x.startswith('VmHWM:')) * 1024\n"
              "with open('/proc/self/clear_refs', 'w') as f:\n"  # peak := now (imports peaked higher)
              "    f.write('5')\n"
              "before = hwm(); save_psd(doc, sys.argv[2]); print(hwm() - before)\n")


def test_saving_a_big_layer_needs_little_beyond_the_document(tmp_path):
    """The writer used to hold the composite, its over-white copy and split planes (about 5x
    the RGBA: 182 MiB here); now channels are encoded row by row from the layer and the merged
    image in strips (25 MiB, mostly fixed costs)."""
    side = 3072
    out = tmp_path / "big.psd"
    proc = subprocess.run([sys.executable, "-c", SAVE_DELTA, str(side), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    delta, rgba = int(proc.stdout.split()[-1]), side * side * 4
    assert delta < rgba, f"saving added {delta / 2**20:.0f} MiB to a {rgba / 2**20:.0f} MiB document"
    doc = open_document(out)  # and the file is whole: the pixels come back
    (layer,) = doc.layers
    assert layer.bbox == (0, 0, side, side) and np.array_equal(layer.pixels, noise(side))


@pytest.mark.slow
def test_png_at_the_pixel_limit_converts_to_psd_under_twice_its_rgba(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_memory import make_png_rgba
    path = tmp_path / "big.png"
    make_png_rgba(path)
    code, peak, err = peak_rss_of(QIL, "convert", str(path), "-o", str(tmp_path / "big.psd"))
    assert code == 0, err
    assert peak < 2 * 16384 * 16384 * 4, f"peak {peak / 2**30:.2f} GiB"
    assert (tmp_path / "big.psd").stat().st_size > 0 and not list(tmp_path.glob(".*.part"))


def test_lone_layer_shortcut_writes_what_compositing_would(monkeypatch):
    """A one-layer picture skips compositing for the merged image; every colour/alpha pair
    must give the bytes the composite gives (colour under alpha 0 is white over white)."""
    from qil_editor.document import Document, Layer
    from qil_editor.io import psd_write
    c, a = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    doc = Document(256, 256)
    doc.add_layer(Layer(np.stack([c, c[::-1], 255 - c, a], -1).copy()))
    assert psd_write._lone_layer_pixels(doc) is doc.layers[0].pixels
    fast = io.BytesIO()
    psd_write.write_psd(doc, fast)
    monkeypatch.setattr(psd_write, "_lone_layer_pixels", lambda doc: None)
    slow = io.BytesIO()
    psd_write.write_psd(doc, slow)
    assert fast.getvalue() == slow.getvalue()
    doc.layers[0].opacity = 0.5
    monkeypatch.undo()
    assert psd_write._lone_layer_pixels(doc) is None

"""Opening flat images: every format and mode converts right; every bad file is a clear error."""

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from qil_editor.errors import InputFileError
from qil_editor.io import describe_file, open_document, open_image, save_psd


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def craft_png(width, height, bit_depth, color_type, raw_rows: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(raw_rows)) + png_chunk(b"IEND", b""))


def save(tmp_path, name, im, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


RGBA = np.array([[[255, 0, 0, 255], [0, 255, 0, 128]], [[0, 0, 255, 0], [10, 20, 30, 255]]], np.uint8)


@pytest.mark.parametrize("fmt,ext,kw", [("PNG", "png", {}), ("WEBP", "webp", {"lossless": True}),
                                        ("TIFF", "tif", {})])
def test_lossless_rgba_formats_are_exact(tmp_path, fmt, ext, kw):
    path = save(tmp_path, f"a.{ext}", Image.fromarray(RGBA, "RGBA"), format=fmt, **kw)
    out = open_image(path)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 4)
    visible = out[..., 3] > 0
    assert np.array_equal(out[..., 3], RGBA[..., 3])
    assert np.array_equal(out[visible], RGBA[visible])


def test_gray_palette_bmp_gif(tmp_path):
    gray = np.array([[0, 100], [200, 255]], np.uint8)
    out = open_image(save(tmp_path, "g.png", Image.fromarray(gray, "L")))
    assert np.array_equal(out[..., 0], gray) and np.array_equal(out[..., 2], gray) and (out[..., 3] == 255).all()

    la = Image.merge("LA", [Image.fromarray(gray), Image.fromarray(gray[::-1].copy())])
    out = open_image(save(tmp_path, "la.png", la))
    assert np.array_equal(out[..., 3], gray[::-1]) and np.array_equal(out[..., 1], gray)

    pal = Image.new("P", (2, 1))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    out = open_image(save(tmp_path, "p.png", pal, transparency=1))
    assert tuple(out[0, 0]) == (255, 0, 0, 255) and out[0, 1, 3] == 0

    rgb = np.array([[[1, 2, 3], [250, 251, 252]]], np.uint8)
    out = open_image(save(tmp_path, "b.bmp", Image.fromarray(rgb, "RGB")))
    assert np.array_equal(out[..., :3], rgb) and (out[..., 3] == 255).all()

    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    out = open_image(gif)
    assert tuple(out[0, 0]) == (255, 0, 0, 255)  # first frame


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], ">u2")
    path = tmp_path / "g16.png"
    path.write_bytes(craft_png(4, 1, 16, 0, b"\x00" + values.tobytes()))
    out = open_image(path)
    assert list(out[0, :, 0]) == [0, 1, 128, 255]

    rgba16 = np.array([[[65535, 0, 32896, 65535], [0, 65535, 0, 32896]]], ">u2")
    path = tmp_path / "rgba16.png"
    path.write_bytes(craft_png(2, 1, 16, 6, b"\x00" + rgba16.tobytes()))
    out = open_image(path)
    assert tuple(out[0, 0]) == (255, 0, 128, 255) and tuple(out[0, 1]) == (0, 255, 0, 128)
    assert describe_file(path).bit_depth == 16

    tif = tmp_path / "g16.tif"
    Image.fromarray(np.array([[0, 65535], [257, 1000]], np.uint16)).save(tif)
    out = open_image(tif)
    assert list(out[..., 0].ravel()) == [0, 255, 1, 4]


def test_float_tiff_maps_0_1_to_0_255(tmp_path):
    f = np.array([[0.0, 0.5], [1.0, 2.0]], np.float32)
    tif = save(tmp_path, "f.tif", Image.fromarray(f))
    out = open_image(tif)
    assert list(out[..., 0].ravel()) == [0, 128, 255, 255]


def test_cmyk_jpeg_is_converted_correctly(tmp_path):
    # Pillow writes CMYK JPEGs the Adobe way (inverted); reading must undo that.
    cmyk = Image.new("CMYK", (16, 16), (255, 0, 0, 0))  # pure cyan
    cmyk.paste((0, 0, 0, 255), (8, 0, 16, 16))  # black on the right
    out = open_image(save(tmp_path, "c.jpg", cmyk, quality=95))
    assert np.abs(out[4, 2, :3].astype(int) - (0, 255, 255)).max() <= 8
    assert out[4, 12, :3].max() <= 8
    tif = open_image(save(tmp_path, "c.tif", cmyk))
    assert tuple(tif[4, 2]) == (0, 255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((2, 4, 3), np.uint8)
    arr[:, :2] = (255, 0, 0)  # left half red
    arr[:, 2:] = (0, 0, 255)
    im = Image.fromarray(arr, "RGB").resize((40, 20), Image.NEAREST)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = save(tmp_path, "o.jpg", im, exif=exif.tobytes(), quality=95)
    out = open_image(path)
    assert out.shape == (40, 20, 4)
    assert out[5, 10, 0] > 200 and out[35, 10, 2] > 200  # red ends up on top


def test_open_document_flat_image(tmp_path):
    path = save(tmp_path, "poster.png", Image.fromarray(RGBA, "RGBA"))
    doc = open_document(path)
    assert (doc.width, doc.height) == (2, 2) and doc.path == str(path)
    assert [layer.name for layer in doc.layers] == ["poster"]
    assert doc.layers[0].bbox == (0, 0, 2, 2)


def test_psd_flattens_through_open_image(tmp_path):
    from qil_editor.document import Document, Layer
    doc = Document(2, 2, [Layer(RGBA, name="a")])
    save_psd(doc, tmp_path / "x.psd")
    out = open_image(tmp_path / "x.psd")
    assert np.array_equal(out[..., 3], RGBA[..., 3])


# ----- bad inputs ------------------------------------------------------------------
def expect_error(path, *words, **kw):
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(InputFileError) as info:
        open_document(path, **kw)
    msg = str(info.value)
    assert path.name in msg and info.value.hint
    for word in words:
        assert word in msg.lower(), msg
    if before is not None:
        assert path.read_bytes() == before  # the input is never touched
    return info.value


def good_png(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (64, 64, 4), dtype=np.uint8)
    return save(tmp_path, "good.png", Image.fromarray(arr, "RGBA"))


def test_missing_folder_empty(tmp_path):
    expect_error(tmp_path / "nope.png", "not found")
    (tmp_path / "dir.png").mkdir()
    expect_error(tmp_path / "dir.png", "folder")
    (tmp_path / "empty.png").write_bytes(b"")
    expect_error(tmp_path / "empty.png", "empty")


def test_truncated_png_jpeg_psd(tmp_path):
    data = good_png(tmp_path).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    expect_error(tmp_path / "cut.png", "damaged or incomplete")
    rng = np.random.default_rng(1)
    jpg = save(tmp_path, "full.jpg", Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    (tmp_path / "cut.jpg").write_bytes(jpg.read_bytes()[:600])
    expect_error(tmp_path / "cut.jpg", "damaged or incomplete")
    from qil_editor.document import Document, Layer
    psd = tmp_path / "full.psd"
    save_psd(Document(64, 64, [Layer(rng.integers(0, 255, (64, 64, 4), dtype=np.uint8))]), psd)
    whole = psd.read_bytes()
    for cut in (20, 200, len(whole) // 2, len(whole) - 100):
        (tmp_path / "cut.psd").write_bytes(whole[:cut])
        expect_error(tmp_path / "cut.psd", "damaged")


def test_text_renamed_png_and_unsupported_format(tmp_path):
    (tmp_path / "notes.png").write_text("hello, this is not a picture\n")
    expect_error(tmp_path / "notes.png", "text file")
    (tmp_path / "junk.png").write_bytes(bytes(range(256)) * 4)
    expect_error(tmp_path / "junk.png", "not a picture")
    Image.new("RGB", (8, 8)).save(tmp_path / "pic.tga")
    expect_error(tmp_path / "pic.tga", "format")


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(craft_png(60000, 60000, 8, 6, b"\x00" * 100))
    assert bomb.stat().st_size < 1000
    start = time.perf_counter()
    err = expect_error(bomb, "60000x60000", "megapixels")
    assert time.perf_counter() - start < 2.0
    assert err.exit_code == 3
    small = good_png(tmp_path)
    expect_error(small, "64x64", max_pixels=1000)  # the limit is configurable
    assert open_image(small, max_pixels=64 * 64).shape == (64, 64, 4)
    psd_bomb = tmp_path / "bomb.psd"
    psd_bomb.write_bytes(b"8BPS" + struct.pack(">H6xHIIHH", 1, 4, 60000, 60000, 8, 3) + b"\0" * 64)
    expect_error(psd_bomb, "megapixels")


def test_pillow_bomb_between_its_limit_and_ours_opens(tmp_path, monkeypatch):
    # Pillow's own default limit is lower than ours; we lift it only for the call.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = good_png(tmp_path)
    assert open_image(path).shape == (64, 64, 4)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_permission_denied(tmp_path, monkeypatch):
    import builtins
    path = good_png(tmp_path)
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    expect_error(path, "permission denied")

"""OpenRaster (read/write), SVG and PowerPoint exports, the format table, and their CLI use.

The real programs that open these files (Krita, GIMP, LibreOffice, rsvg,
Inkscape) are in test_exports_clients.py; here each file is checked by
parsing it back (zipfile/ElementTree, python-pptx, our own ORA reader).
"""

import base64
import errno
import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image

from pictures import gradient
from qil_editor.cli import main
from qil_editor.document import BlendMode, Document, Layer, composite
from qil_editor.errors import InputFileError, OutputFileError, UsageError
from qil_editor.io import atomic as atomic_mod
from qil_editor.io import formats
from qil_editor.io.export import ExportWarning, export_document, save_document
from qil_editor.io.ora import ORA_OPS, is_ora, read_ora, write_ora
from qil_editor.io.pptx import EMU_PER_PX, build_presentation, emu_per_pixel, write_pptx
from qil_editor.io.svg import CSS_BLEND, linked_folder, write_svg

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"
LABEL = "{http://www.inkscape.org/namespaces/inkscape}label"


def sample_document() -> Document:
    rng = np.random.default_rng(3)
    semi = gradient(70, 50, 200)
    semi[..., 3] = np.linspace(30, 255, 70).astype(np.uint8)[None, :]
    noisy = rng.integers(0, 256, (45, 45, 4), dtype=np.uint8)
    return Document(160, 120, [
        Layer(gradient(160, 120, 90), name="Background", locked=True),
        Layer(semi, name="Semi ✨ <transparent> & \"quoted\"", x=-15, y=-8),
        Layer(gradient(70, 40, 30), name="Multiply", x=110, y=95, opacity=204 / 255,
              blend_mode=BlendMode.MULTIPLY),
        Layer(noisy, name="Screen", x=40, y=35, opacity=0.37, blend_mode=BlendMode.SCREEN),
        Layer(np.zeros((0, 0, 4), np.uint8), name="Empty", x=3, y=4),
        Layer(gradient(30, 30, 0), name="Hidden", x=5, y=5, visible=False),
    ])


def unsupported_document() -> Document:
    """Layers in modes none of the three formats has, over a busy backdrop."""
    rng = np.random.default_rng(11)
    top = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
    return Document(80, 60, [
        Layer(gradient(80, 60, 120), name="Base"),
        Layer(top, name="Burnt", x=10, y=5, blend_mode=BlendMode.LINEAR_BURN, opacity=0.8),
        Layer(gradient(30, 30, 250, alpha=200), name="Vivid", x=40, y=25, blend_mode=BlendMode.VIVID_LIGHT),
        Layer(gradient(20, 20, 10), name="Dissolve", x=2, y=30, blend_mode=BlendMode.DISSOLVE),
    ])


def max_error(a: np.ndarray, b: np.ndarray) -> int:
    """Largest difference, colour compared only where both show something."""
    alpha = int(np.abs(a[..., 3].astype(int) - b[..., 3]).max())
    shown = (a[..., 3] > 0) & (b[..., 3] > 0)
    colour = int(np.abs(a[..., :3].astype(int) - b[..., :3])[shown].max()) if shown.any() else 0
    return max(alpha, colour)


def png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


# ----- OpenRaster ---------------------------------------------------------------------------------
def test_ora_layout_follows_the_specification(tmp_path):
    doc = sample_document()
    path = tmp_path / "out.ora"
    write_ora(doc, path)
    raw = path.read_bytes()
    # mimetype first, stored, no extra field: the signature readers check
    assert raw[:4] == b"PK\x03\x04" and raw[30:38] == b"mimetype" and raw[28:30] == b"\0\0"
    assert raw[38:54] == b"image/openraster"
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        names = zf.namelist()
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"} <= set(names)
        root = ET.fromstring(zf.read("stack.xml"))
        assert (root.get("w"), root.get("h")) == ("160", "120")
        layers = root.find("stack").findall("layer")
        assert [el.get("name") for el in layers] == [ly.name for ly in reversed(doc.layers)]
        hidden, empty, screen, multiply, semi, background = layers
        assert hidden.get("visibility") == "hidden" and screen.get("visibility") == "visible"
        assert (screen.get("composite-op"), multiply.get("composite-op")) == ("svg:screen", "svg:multiply")
        assert float(screen.get("opacity")) == 0.37
        assert (semi.get("x"), semi.get("y")) == ("-15", "-8")
        assert background.get("edit-locked") == "true" and semi.get("edit-locked") is None
        assert png_pixels(zf.read(empty.get("src"))).shape == (1, 1, 4)
        assert np.array_equal(png_pixels(zf.read(semi.get("src"))), doc.layers[1].pixels)
        assert np.array_equal(png_pixels(zf.read("mergedimage.png")), composite(doc))
        thumb = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
        assert max(thumb.size) <= 256
    assert is_ora(path)


def test_ora_round_trip_is_the_same_document(tmp_path):
    doc = sample_document()
    path = tmp_path / "round.ora"
    write_ora(doc, path)
    back = read_ora(path)
    assert (back.width, back.height, back.path) == (160, 120, str(path))
    assert len(back.layers) == len(doc.layers)
    for ours, theirs in zip(doc.layers, back.layers):
        assert theirs.properties() == ours.properties()
        assert np.array_equal(theirs.pixels, ours.pixels), ours.name
    assert back.layers[4].pixels.shape == (0, 0, 4)  # the empty layer comes back empty


def stated_approximation(warnings: list[str]) -> int:
    """The levels the exporter said a baked look may be off by (0 when it claimed exact)."""
    import re

    found = [int(m.group(1)) for w in warnings for m in [re.search(r"approximate \(up to (\d+) levels", w)] if m]
    return max(found, default=0)


def test_every_psd_case_round_trips_through_ora(psd_cases, tmp_path):
    from qil_editor.io import open_document
    from qil_editor.io.export import ungroup_layers

    cases = sorted(p for p in psd_cases.iterdir() if p.is_dir())
    assert len(cases) >= 15
    for case in cases:
        doc = open_document(next(case.glob("src.ps*")))
        warnings: list[str] = []
        path = tmp_path / f"{case.name}.ora"
        write_ora(doc, path, warnings.append)
        back = read_ora(path)
        flat = ungroup_layers(doc)  # OpenRaster gets the layers with their groups folded in
        assert [ly.name for ly in back.layers] == [ly.name for ly in flat], case.name
        for ours, theirs in zip(flat, back.layers):
            assert (theirs.x, theirs.y, theirs.locked) == (ours.x, ours.y, ours.locked), (case.name, ours.name)
            mentioned = any(f'"{ours.name}"' in w for w in warnings)
            if not mentioned:  # nothing baked: the very same layer
                assert theirs.properties() == {**ours.properties()}, (case.name, ours.name)
                assert np.array_equal(theirs.pixels, ours.pixels), (case.name, ours.name)
            else:
                assert theirs.blend_mode in ORA_OPS
        assert max_error(composite(back), composite(doc)) <= 1 + stated_approximation(warnings), case.name


def test_ora_bakes_modes_it_lacks_and_says_which_layer(tmp_path):
    doc = unsupported_document()
    warnings: list[str] = []
    path = tmp_path / "baked.ora"
    write_ora(doc, path, warnings.append)
    assert len(warnings) == 3
    for name, mode in (("Burnt", "Linear Burn"), ("Vivid", "Vivid Light"), ("Dissolve", "Dissolve")):
        assert any(f'"{name}"' in w and mode in w for w in warnings), (name, warnings)
    back = read_ora(path)
    assert all(ly.blend_mode == BlendMode.NORMAL for ly in back.layers)
    assert back.layers[1].opacity == pytest.approx(0.8)  # opacity stays a property, not baked
    assert max_error(composite(back), composite(doc)) <= 1
    assert not np.array_equal(back.layers[1].pixels, doc.layers[1].pixels)  # the look is in the pixels


def _layer_with(**fields):
    probe = Layer(np.zeros((1, 1, 4), np.uint8))
    missing = [f for f in fields if not hasattr(probe, f)]
    if missing:
        pytest.skip(f"this document model has no {', '.join(missing)}")


def test_masks_clipping_and_fill_are_baked_with_warnings(tmp_path):
    _layer_with(mask=None, clipping=False, fill_opacity=1.0)
    from qil_editor.document.layer import LayerMask

    plane = np.zeros((30, 30), np.uint8)
    plane[5:25, 5:25] = 255
    doc = Document(60, 50, [
        Layer(gradient(60, 50, 40), name="Base"),
        Layer(gradient(40, 30, 200, alpha=255), name="Masked", x=10, y=10,
              mask=LayerMask(plane, x=12, y=8, default=0)),
        Layer(gradient(50, 40, 250), name="Clipped", x=5, y=5, clipping=True, opacity=0.9),
        Layer(gradient(20, 20, 90), name="Faded fill", x=30, y=20, fill_opacity=0.5),
        Layer(gradient(20, 20, 150), name="Dodge fill", x=35, y=25, fill_opacity=0.4,
              blend_mode=BlendMode.COLOR_DODGE),
    ])
    warnings: list[str] = []
    path = tmp_path / "features.ora"
    write_ora(doc, path, warnings.append)
    text = "\n".join(warnings)
    assert '"Masked"' in text and "mask" in text
    assert '"Masked"' in text and '"Clipped"' in text and "clipping" in text
    assert '"Faded fill"' in text and "fill" in text
    assert '"Dodge fill"' in text and "Color Dodge" in text
    back = read_ora(path)
    assert [ly.name for ly in back.layers] == ["Base", "Masked", "Faded fill", "Dodge fill"]  # clip merged
    assert back.layers[2].opacity == pytest.approx(0.5)
    assert max_error(composite(back), composite(doc)) <= 1 + stated_approximation(warnings)


def test_ora_reader_understands_groups_and_other_writers(tmp_path):
    path = tmp_path / "krita.ora"
    red = np.zeros((4, 6, 4), np.uint8)
    red[...] = (255, 0, 0, 255)
    buf = io.BytesIO()
    Image.fromarray(red, "RGBA").save(buf, "PNG")
    stack = b"""<?xml version="1.0" encoding="UTF-8"?>
<image w="20" h="10" version="0.0.1">
 <stack>
  <stack name="Group" opacity="0.5" visibility="visible" x="2" y="1" composite-op="svg:src-over">
   <layer name="In group" src="data/a.png" x="3" y="2" opacity="0.5" composite-op="krita:linear_burn"/>
   <stack name="Hidden group" visibility="hidden">
     <layer name="Deep" src="data/a.png" x="0" y="0" composite-op="svg:plus"/>
   </stack>
  </stack>
  <text>ignored</text>
  <layer name="Bottom" src="data/a.png" composite-op="bogus:op" x="1.0" y="2.6"/>
 </stack>
</image>"""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("stack.xml", stack)
        zf.writestr("data/a.png", buf.getvalue())
    doc = read_ora(path)
    assert [ly.name for ly in doc.layers] == ["Bottom", "Group/Hidden group/Deep", "Group/In group"]
    bottom, deep, in_group = doc.layers
    assert (bottom.x, bottom.y, bottom.blend_mode) == (1, 3, BlendMode.NORMAL)
    assert (deep.visible, deep.blend_mode, deep.x, deep.y) == (False, BlendMode.LINEAR_DODGE, 2, 1)
    assert (in_group.x, in_group.y, in_group.opacity) == (5, 3, 0.25)
    assert in_group.blend_mode == BlendMode.LINEAR_BURN


def _ora_with(tmp_path, stack: bytes, members=None, name="bad.ora"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        zf.writestr("stack.xml", stack)
        for member, data in (members or {}).items():
            zf.writestr(member, data)
    return path


def test_ora_reader_refuses_bad_files_clearly(tmp_path):
    tiny = io.BytesIO()
    Image.new("RGBA", (2, 2)).save(tiny, "PNG")
    cases = {
        "entities": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><image w="1" h="1"/>', {},
                     "DOCTYPE"),
        "no size": (b'<image><stack/></image>', {}, "canvas size"),
        "huge": (b'<image w="100000" h="100000"><stack/></image>', {}, "megapixels"),
        "missing png": (b'<image w="4" h="4"><stack><layer src="data/x.png"/></stack></image>', {},
                        "data/x.png is missing"),
        "not xml": (b'<image w="4"', {}, "stack.xml"),
        "svg layer": (b'<image w="4" h="4"><stack><layer name="Logo" src="data/l.svg"/></stack></image>',
                      {"data/l.svg": b"<svg/>"}, "not PNG"),
        "broken png": (b'<image w="4" h="4"><stack><layer name="L" src="a.png"/></stack></image>',
                       {"a.png": b"\x89PNG\r\n\x1a\n garbage"}, "not a readable PNG"),
    }
    for label, (stack, members, expected) in cases.items():
        path = _ora_with(tmp_path, stack, members, f"{label}.ora")
        with pytest.raises(InputFileError) as info:
            read_ora(path)
        assert expected in str(info.value) and path.name in str(info.value), label
    big = _ora_with(tmp_path, b'<image w="4" h="4"><stack><layer src="a.png"/></stack></image>',
                    {"a.png": tiny.getvalue()}, "limit.ora")
    with pytest.raises(InputFileError, match="megapixels"):
        read_ora(big, max_pixels=3)
    not_zip = tmp_path / "text.ora"
    not_zip.write_text("hello")
    with pytest.raises(InputFileError):
        read_ora(not_zip)


def test_open_document_and_info_read_ora(tmp_path, capsys):
    from qil_editor.io import describe_file, open_document, open_image

    doc = sample_document()
    path = tmp_path / "named anything.bin"  # recognised by content, not by name
    write_ora(doc, path)
    opened = open_document(path)
    assert [ly.name for ly in opened.layers] == [ly.name for ly in doc.layers]
    assert np.array_equal(open_image(path), composite(doc))
    info = describe_file(path)
    assert (info.format, info.width, info.height) == ("OpenRaster", 160, 120)
    assert main(["info", str(path)]) == 0
    assert "Screen" in capsys.readouterr().out


# ----- SVG ----------------------------------------------------------------------------------------
def svg_images(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root, root.findall(f"{SVG}image")


def svg_as_document(path) -> Document:
    """Rebuild the picture an SVG viewer draws (normal and CSS modes) with our compositor."""
    root, images = svg_images(path)
    layers = []
    for el in images:
        href = el.get(XLINK)
        data = (base64.b64decode(href.split(",", 1)[1]) if href.startswith("data:")
                else (path.parent / __import__("urllib.parse").parse.unquote(href)).read_bytes())
        style = dict(kv.split(":") for kv in (el.get("style") or "").split(";") if kv)
        mode = {v: k for k, v in CSS_BLEND.items()}[style.get("mix-blend-mode", "normal")]
        layers.append(Layer(png_pixels(data), name=el.get(LABEL), x=int(el.get("x")), y=int(el.get("y")),
                            opacity=float(el.get("opacity", "1")), visible=el.get("display") != "none",
                            blend_mode=mode))
    return Document(int(root.get("width")), int(root.get("height")), layers)


def test_svg_one_image_per_layer(tmp_path):
    doc = sample_document()
    path = tmp_path / "out.svg"
    write_svg(doc, path)
    root, images = svg_images(path)
    assert root.get("viewBox") == "0 0 160 120"
    assert [el.get(LABEL) for el in images] == [ly.name for ly in doc.layers]
    ids = [el.get("id") for el in images]
    assert len(set(ids)) == len(ids) and all(i[0].isalpha() for i in ids)
    semi, multiply, screen, hidden = images[1], images[2], images[3], images[5]
    assert (semi.get("x"), semi.get("y"), semi.get("width"), semi.get("height")) == ("-15", "-8", "70", "50")
    assert "mix-blend-mode:multiply" in multiply.get("style") and "mix-blend-mode:screen" in screen.get("style")
    assert float(screen.get("opacity")) == 0.37 and semi.get("opacity") is None
    assert hidden.get("display") == "none" and semi.get("display") is None
    back = svg_as_document(path)
    for ours, theirs in zip(doc.layers, back.layers):
        if ours.width:
            assert np.array_equal(theirs.pixels, ours.pixels), ours.name
    assert np.array_equal(composite(back), composite(doc))


def test_svg_linked_writes_pngs_beside_it(tmp_path):
    doc = sample_document()
    path = tmp_path / "poster.svg"
    write_svg(doc, path, linked=True)
    folder = linked_folder(path)
    assert folder == tmp_path / "poster_layers" and len(list(folder.iterdir())) == len(doc.layers)
    _, images = svg_images(path)
    assert all(el.get(XLINK).startswith("poster_layers/") for el in images)
    assert np.array_equal(composite(svg_as_document(path)), composite(doc))
    (tmp_path / "blocked_layers").write_text("a file in the way")
    with pytest.raises(OutputFileError, match="blocked_layers"):
        write_svg(doc, tmp_path / "blocked.svg", linked=True)
    assert not (tmp_path / "blocked.svg").exists()


def test_svg_bakes_modes_css_lacks(tmp_path):
    doc = unsupported_document()
    warnings: list[str] = []
    write_svg(doc, tmp_path / "b.svg", warnings.append)
    assert sorted(w.split('"')[1] for w in warnings) == ["Burnt", "Dissolve", "Vivid"]
    assert max_error(composite(svg_as_document(tmp_path / "b.svg")), composite(doc)) <= 1
    exclusion = Document(10, 10, [Layer(gradient(10, 10, 9), name="X", blend_mode=BlendMode.EXCLUSION)])
    warnings.clear()
    write_svg(exclusion, tmp_path / "x.svg", warnings.append)
    assert warnings == []  # CSS has exclusion
    assert "mix-blend-mode:exclusion" in (tmp_path / "x.svg").read_text()


# ----- PowerPoint ---------------------------------------------------------------------------------
def test_pptx_one_picture_per_layer(tmp_path):
    from pptx import Presentation
    from pptx.oxml.ns import qn

    doc = sample_document()
    doc.path = str(tmp_path / "My poster.psd")
    warnings: list[str] = []
    path = tmp_path / "deck.pptx"
    write_pptx(doc, path, warnings.append)
    assert sorted(w.split('"')[1] for w in warnings) == ["Multiply", "Screen"]  # no blend modes
    prs = Presentation(str(path))
    assert (prs.slide_width, prs.slide_height) == (160 * EMU_PER_PX, 120 * EMU_PER_PX)
    assert prs.core_properties.title == "My poster"
    (slide,) = prs.slides
    pics = list(slide.shapes)
    assert [p.name for p in pics] == [ly.name for ly in doc.layers]  # back to front = bottom first
    assert all(p.shape_type == 13 for p in pics)  # MSO_SHAPE_TYPE.PICTURE
    for pic, layer in zip(pics, doc.layers):
        assert (pic.left // EMU_PER_PX, pic.top // EMU_PER_PX) == (layer.x, layer.y)
        assert (pic.width // EMU_PER_PX, pic.height // EMU_PER_PX) == (max(1, layer.width),
                                                                       max(1, layer.height))
        hidden = pic._element.nvPicPr.cNvPr.get("hidden")
        assert (hidden == "1") == (not layer.visible)
        fix = pic._element.blipFill.blip.find(qn("a:alphaModFix"))
        if layer.opacity < 1:
            assert int(fix.get("amt")) == round(layer.opacity * 100000)
        else:
            assert fix is None
        if layer.width and layer.blend_mode == BlendMode.NORMAL:
            assert np.array_equal(png_pixels(pic.image.blob), layer.pixels), layer.name
    locks = pics[0]._element.nvPicPr.find(qn("p:cNvPicPr")).find(qn("a:picLocks"))
    assert locks.get("noMove") == "1"  # the locked background


def test_pptx_slide_sizes_stay_within_powerpoint_limits():
    assert emu_per_pixel(1920, 1080) == EMU_PER_PX
    small = emu_per_pixel(40, 30)
    assert 30 * small >= 914400 - 1
    big = emu_per_pixel(12000, 3000)
    assert 12000 * big <= 51206400 + 1
    warnings: list[str] = []
    prs = build_presentation(Document(12000, 40, [Layer(gradient(8, 4, 0), name="L")]), warnings.append)
    assert prs.slide_width <= 51206400 and prs.slide_height == 914400
    assert len(warnings) == 1 and "margin" in warnings[0]


# ----- the table, save/export, atomic writes ------------------------------------------------------
def test_format_table_feeds_open_and_export_filters():
    assert ".ora" in formats.OPEN_EXTENSIONS and ".pptx" not in formats.OPEN_EXTENSIONS
    from qil_editor.io import IMAGE_EXTENSIONS

    assert set(IMAGE_EXTENSIONS) == set(formats.OPEN_EXTENSIONS)
    assert "*.ora" in formats.open_filter() and formats.open_filter().endswith("All files (*)")
    export = formats.export_filters().split(";;")
    for key in ("psd", "ora", "pptx", "svg", "png", "zip"):
        fmt = formats.by_key(key)
        assert fmt.filter in export
        assert formats.format_for_filter(fmt.filter) is fmt
        assert formats.format_for_path(f"x{fmt.extensions[0].upper()}") is fmt
    assert formats.with_extension("a/b", formats.by_key("ora")) == "a/b.ora"
    assert formats.with_extension("a/b.ORA", formats.by_key("ora")) == "a/b.ORA"


def test_export_document_dispatch_and_errors(tmp_path):
    doc = sample_document()
    for ext in ("ora", "svg", "pptx", "psd", "png", "zip"):
        result = export_document(doc, tmp_path / f"d.{ext}")
        assert result.kind == ext and (tmp_path / f"d.{ext}").stat().st_size > 0
    assert export_document(doc, tmp_path / "pngs").kind == "folder"
    with pytest.raises(UsageError) as info:
        export_document(doc, tmp_path / "d.bmp")
    assert ".ora" in info.value.hint and ".pptx" in info.value.hint
    with pytest.raises(UsageError, match="SVG only"):
        export_document(doc, tmp_path / "d2.ora", linked=True)
    with pytest.warns(ExportWarning) as record:
        assert save_document(doc, tmp_path / "w.pptx") == "pptx"
    assert sorted(str(w.message).split('"')[1] for w in record) == ["Multiply", "Screen"]
    seen = []
    assert save_document(doc, tmp_path / "w2.pptx", on_warning=seen.append) == "pptx"
    assert len(seen) == 2


@pytest.mark.parametrize("ext", ["ora", "svg", "pptx"])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, ext):
    target = tmp_path / f"keep.{ext}"
    target.write_bytes(b"old contents")

    def refuse(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_mod, "_open_temp", refuse)
    with pytest.raises(OutputFileError, match="disk is full"):
        export_document(sample_document(), target)
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_missing_folder_is_an_output_error(tmp_path):
    for ext in ("ora", "svg", "pptx"):
        with pytest.raises(OutputFileError, match="does not exist"):
            export_document(sample_document(), tmp_path / "nowhere" / f"x.{ext}")
    with pytest.raises(OutputFileError, match="does not exist"):
        export_document(sample_document(), tmp_path / "nowhere" / "x.svg", linked=True)
    assert not (tmp_path / "nowhere").exists()


# ----- command line -------------------------------------------------------------------------------
def test_convert_writes_each_format_and_prints_warnings(tmp_path, capsys):
    from qil_editor.io import save_psd

    src = tmp_path / "in.psd"
    save_psd(sample_document(), src)
    for ext in ("ora", "svg", "pptx"):
        assert main(["convert", str(src), "-o", str(tmp_path / f"out.{ext}")]) == 0
    err = capsys.readouterr().err
    assert err.count('warning: Layer "Multiply"') == 1  # PowerPoint has no Multiply; ORA and SVG do
    assert main(["convert", str(tmp_path / "out.ora"), "-o", str(tmp_path / "again.psd")]) == 0
    from qil_editor.io import read_psd

    assert [ly.name for ly in read_psd(tmp_path / "again.psd").layers] == [ly.name for ly in sample_document().layers]
    assert main(["convert", str(src), "-o", str(tmp_path / "linked.svg"), "--linked"]) == 0
    assert (tmp_path / "linked_layers").is_dir()
    assert main(["convert", str(src), "-o", str(tmp_path / "x.ora"), "--linked"]) == 2


def test_decompose_writes_ora_svg_pptx(tmp_path, capsys):
    img = tmp_path / "flat.png"
    Image.fromarray(composite(sample_document())).save(img)
    for ext in ("ora", "svg", "pptx"):
        out = tmp_path / f"layers.{ext}"
        assert main(["decompose", str(img), "-o", str(out), "--engine", "classical", "--layers", "3",
                     "--quiet"]) == 0, capsys.readouterr().err
        assert out.stat().st_size > 0
    assert len(read_ora(tmp_path / "layers.ora").layers) >= 2

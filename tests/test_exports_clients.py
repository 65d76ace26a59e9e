"""Our .pptx, .ora and .svg files in the programs people open them with.

- PowerPoint: LibreOffice Impress (headless) renders the slide to PNG; it
  must match our composite over white (the slide's background) within 2
  levels, with one picture per layer.
- OpenRaster: Krita flattens it to our composite and lists the same layers
  (names, visibility, blend modes in its .kra); an .ora Krita writes reads
  back with our reader to the same picture. GIMP 2.10 reads .ora through a
  Python 2 plug-in that Debian 12 no longer ships: the GIMP test runs where
  the plug-in is registered and says why it skips where it is not.
- SVG: rsvg-convert and Inkscape render it (embedded and --linked) to our
  composite, blend modes included.

Missing programs skip these tests locally but fail them when CI is set
(``bash tools/setup.sh --test`` installs them).
"""

import os
import subprocess

import numpy as np
import pytest

from clients import (assert_same_picture, client_document, gimp_batch, gimp_flatten, krita_export, krita_layers,
                     need, rgba)
from pictures import gradient
from qil_editor.document import BlendMode, Document, Layer, composite
from qil_editor.io.export import export_document
from qil_editor.io.ora import read_ora, write_ora
from qil_editor.io.svg import CSS_BLEND

pytestmark = pytest.mark.slow


def over_white(img: np.ndarray) -> np.ndarray:
    a = img[..., 3:4].astype(np.float64) / 255.0
    rgb = np.round(img[..., :3] * a + 255.0 * (1.0 - a)).astype(np.uint8)
    return np.dstack([rgb, np.full(img.shape[:2], 255, np.uint8)])


# ----- PowerPoint in LibreOffice Impress ---------------------------------------------------------
def render_slide(pptx, tmp_path) -> np.ndarray:
    out = tmp_path / "lo"
    profile = (tmp_path / "lo-profile").as_uri()  # its own profile: no clash with a running office
    run = subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "png",
                          "--outdir", str(out), str(pptx)], capture_output=True, text=True, timeout=240)
    png = out / (pptx.stem + ".png")
    assert png.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    return rgba(png)


def test_impress_renders_our_slide(tmp_path):
    need("soffice")
    from pptx import Presentation

    doc = client_document()  # what a slide can show: offsets off it, opacity, hidden, empty, blends
    path = tmp_path / "slide.pptx"
    result = export_document(doc, path)
    assert {w.split('"')[1] for w in result.warnings} == {"Multiply", "Screen"}  # baked, said so
    assert len(list(Presentation(str(path)).slides[0].shapes)) == len(doc.layers)
    assert_same_picture(over_white(composite(doc)), render_slide(path, tmp_path), "LibreOffice Impress")


def test_impress_keeps_opacity_over_transparency(tmp_path):
    """Picture transparency (not baked) over a see-through slide area, and a hidden picture."""
    need("soffice")
    semi = gradient(80, 60, 200)
    semi[..., 3] = np.linspace(30, 255, 80).astype(np.uint8)[None, :]
    doc = Document(200, 150, [Layer(gradient(120, 100, 50), name="Base", x=10, y=10),
                              Layer(semi, name="Half", x=60, y=40, opacity=0.5),
                              Layer(gradient(50, 50, 255), name="Hidden", visible=False),
                              Layer(gradient(60, 40, 0), name="Off the edge", x=170, y=120, opacity=0.8)])
    path = tmp_path / "opacity.pptx"
    assert export_document(doc, path).warnings == []
    assert_same_picture(over_white(composite(doc)), render_slide(path, tmp_path), "Impress opacity")


# ----- OpenRaster in Krita (and GIMP where it can) ------------------------------------------------
def test_krita_reads_our_ora(tmp_path):
    need("krita", "xvfb-run")
    doc = client_document()
    ora = tmp_path / "ours.ora"
    write_ora(doc, ora)
    png = tmp_path / "krita.png"
    krita_export(ora, png, tmp_path)
    assert_same_picture(composite(doc), rgba(png), "Krita ORA")
    layers = krita_layers(ora, tmp_path)
    assert [el.get("name") for el in layers] == [ly.name for ly in reversed(doc.layers)]
    assert [el.get("visible") == "1" for el in layers] == [ly.visible for ly in reversed(doc.layers)]
    assert [el.get("compositeop") for el in layers][2:4] == ["screen", "multiply"]
    assert [int(el.get("opacity")) for el in layers][2:4] == [153, 204]


def test_our_reader_opens_what_krita_writes(tmp_path):
    need("krita", "xvfb-run")
    from qil_editor.io import save_psd

    doc = client_document()
    psd = tmp_path / "src.psd"
    save_psd(doc, psd)
    ora = tmp_path / "krita.ora"
    krita_export(psd, ora, tmp_path)
    back = read_ora(ora)
    assert [ly.name for ly in back.layers] == [ly.name for ly in doc.layers]
    assert [ly.blend_mode for ly in back.layers][2:4] == [BlendMode.MULTIPLY, BlendMode.SCREEN]
    assert_same_picture(composite(doc), composite(back), "our reader on Krita's ORA")


def _gimp_has_ora(tmp_path) -> bool:
    flag = tmp_path / "has-ora.txt"
    script = (f'(let ((p (open-output-file "{flag}"))) '
              f'(write (car (gimp-procedural-db-proc-exists "file-openraster-load")) p) (close-output-port p))')
    gimp_batch(script, tmp_path)
    return flag.exists() and flag.read_text().strip() not in ("", "0", "#f")


def test_gimp_reads_our_ora(tmp_path):
    need("gimp-console")
    if not _gimp_has_ora(tmp_path):
        pytest.skip("this GIMP has no OpenRaster plug-in (file-openraster-load): GIMP 2.10's is written "
                    "in Python 2, which Debian 12 does not ship")
    doc = client_document()
    ora, png, count_file = tmp_path / "ours.ora", tmp_path / "gimp.png", tmp_path / "count.txt"
    write_ora(doc, ora)
    run = gimp_flatten([(ora, png, count_file)], tmp_path)
    assert png.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    assert int(count_file.read_text()) == len(doc.layers)
    assert_same_picture(composite(doc), rgba(png), "GIMP ORA")


# ----- SVG in rsvg and Inkscape -------------------------------------------------------------------
NON_SEPARABLE = {BlendMode.HUE, BlendMode.SATURATION, BlendMode.COLOR, BlendMode.LUMINOSITY}


def blend_document() -> Document:
    """One layer per CSS blend mode, each over its own patch of a busy background.

    Separable modes also get partial alpha and opacity. The non-separable
    ones are opaque: cairo (pixman), which rsvg and Inkscape draw with, gets
    Hue and Color wrong under partial alpha (up to 123 levels off at 85 %
    opacity, where Krita agrees with us within 2), so that is no test of us.
    """
    rng = np.random.default_rng(5)
    modes = [m for m in CSS_BLEND if m != BlendMode.NORMAL]
    w, h = 40 * len(modes), 80
    layers = [Layer(gradient(w, h, 140), name="Background")]
    for i, mode in enumerate(modes):
        px = rng.integers(0, 256, (30, 30, 4), dtype=np.uint8)
        plain = mode in NON_SEPARABLE
        px[..., 3] = np.where(px[..., 3] > 50, 255, 0 if plain else px[..., 3])
        layers.append(Layer(px, name=mode.label, x=40 * i + 5, y=20 + i % 3, blend_mode=mode,
                            opacity=0.85 if i % 2 and not plain else 1.0))
    return Document(w, h, layers)


def rsvg(svg, png):
    run = subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], capture_output=True, text=True,
                         timeout=60)
    assert png.exists(), run.stderr[-2000:]
    return rgba(png)


def inkscape(svg, png, cwd):
    run = subprocess.run(["inkscape", "--export-type=png", f"--export-filename={png}", str(svg)],
                         capture_output=True, text=True, timeout=180, cwd=cwd,
                         env=dict(os.environ, HOME=str(cwd)))
    assert png.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    return rgba(png)


@pytest.mark.parametrize("linked", [False, True], ids=["embedded", "linked"])
def test_rsvg_renders_our_svg(tmp_path, linked):
    need("rsvg-convert")
    doc = client_document()
    svg = tmp_path / "ours.svg"
    export_document(doc, svg, linked=linked)
    assert_same_picture(composite(doc), rsvg(svg, tmp_path / "rsvg.png"), f"rsvg {svg.name}")


def test_rsvg_draws_every_css_blend_mode_as_we_do(tmp_path):
    need("rsvg-convert")
    doc = blend_document()
    svg = tmp_path / "modes.svg"
    assert export_document(doc, svg).warnings == []
    assert_same_picture(composite(doc), rsvg(svg, tmp_path / "modes.png"), "rsvg blend modes")


def test_inkscape_draws_every_css_blend_mode_as_we_do(tmp_path):
    need("inkscape")
    doc = blend_document()
    svg = tmp_path / "modes.svg"
    export_document(doc, svg)
    assert_same_picture(composite(doc), inkscape(svg, tmp_path / "modes.png", tmp_path), "Inkscape blend modes")


@pytest.mark.parametrize("linked", [False, True], ids=["embedded", "linked"])
def test_inkscape_renders_our_svg(tmp_path, linked):
    need("inkscape")
    doc = client_document()
    svg = tmp_path / "ours.svg"
    export_document(doc, svg, linked=linked)
    assert_same_picture(composite(doc), inkscape(svg, tmp_path / "ink.png", tmp_path), f"Inkscape {svg.name}")

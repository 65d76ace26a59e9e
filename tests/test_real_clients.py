"""Our PSDs in real readers: GIMP and Krita must show the same layers and picture.

How GIMP 2.10 and Krita 5.1 are run (and the CI rule for missing programs)
lives in tests/clients.py.
"""

import pytest

from clients import (assert_same_picture, client_document, gimp_flatten, krita_export, krita_layers, need,
                     rgba)
from qil_editor.document import composite
from qil_editor.io import save_psd

pytestmark = pytest.mark.slow


@pytest.fixture
def saved(tmp_path):
    doc = client_document()
    path = tmp_path / "client test.psd"
    save_psd(doc, path)
    return doc, path


def test_gimp_reads_our_psd(saved, tmp_path):
    need("gimp-console")
    doc, psd = saved
    png, count_file = tmp_path / "gimp.png", tmp_path / "count.txt"
    run = gimp_flatten([(psd, png, count_file)], tmp_path)
    assert png.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    assert int(count_file.read_text()) == len(doc.layers)
    assert_same_picture(composite(doc), rgba(png), "GIMP")


def test_krita_reads_our_psd(saved, tmp_path):
    need("krita", "xvfb-run")
    doc, psd = saved
    png = tmp_path / "krita.png"
    krita_export(psd, png, tmp_path)
    assert_same_picture(composite(doc), rgba(png), "Krita")
    layers = krita_layers(psd, tmp_path)
    names = [el.get("name") for el in layers]
    assert names == [layer.name for layer in reversed(doc.layers)]  # .kra lists top first
    assert [el.get("visible") == "1" for el in layers] == [ly.visible for ly in reversed(doc.layers)]
    assert [el.get("compositeop") for el in layers][2:4] == ["screen", "multiply"]


def test_gimp_reads_every_converted_case(psd_cases, tmp_path):
    """Each ag-psd case, converted to our PSD, flattens in GIMP to our composite."""
    need("gimp-console")
    from qil_editor.io import open_document

    docs, jobs = {}, []
    for case_dir in sorted(p for p in psd_cases.iterdir() if p.is_dir()):
        doc = open_document(next(case_dir.glob("src.ps*")))
        if not any(layer.visible and layer.width for layer in doc.layers):
            continue  # nothing to flatten: GIMP's merge needs a visible layer
        if doc.source is not None and doc.source.lossless and doc.source.version == 2:
            continue  # a PSB stays a PSB when saved back, and GIMP 2.10 cannot read PSB
        if doc.source is not None and doc.source.synthetic:
            continue  # artboards: GIMP 2.10 shows them as plain groups (no background, no clip)
        if any(f.kind == "effects" for f in doc.source_fidelity):
            continue  # kept as live effects, which GIMP 2.10 does not draw
        from qil_editor.document.compositing import SPECIAL_FILL_MODES
        if any(ly.fill_opacity < 1 and ly.blend_mode in SPECIAL_FILL_MODES for ly in doc.layers):
            continue  # GIMP 2.10 fades these like opacity; Photoshop (and we) weaken the blend
        if any(ly.blend_gamma != 1.0 for ly in doc.layers):
            continue  # text kept live: Photoshop (and we) blend its edges at gamma 1.45, GIMP plainly
        if doc.source is not None and doc.source.working_space is not None:
            continue  # CMYK: Photoshop (and we) blend it in CMYK, the saved RGB layers blend in RGB
        docs[case_dir.name] = doc
        save_psd(doc, tmp_path / f"{case_dir.name}.psd")
        jobs.append(tuple(tmp_path / f"{case_dir.name}.{ext}" for ext in ("psd", "png", "count")))
    run = gimp_flatten(jobs, tmp_path, timeout=300)
    assert len(docs) >= 15
    for name, doc in docs.items():
        png = tmp_path / f"{name}.png"
        assert png.exists(), (name, run.stderr[-2000:])
        # a PSD's own groups stay groups (the save keeps its records): GIMP counts top-level items
        from psd_tools import PSDImage
        assert int((tmp_path / f"{name}.count").read_text()) == len(PSDImage.open(tmp_path / f"{name}.psd")), name
        assert_same_picture(composite(doc), rgba(png), f"GIMP {name}")


# ----- layer masks (issue #16): a mask painted with the brush stays a mask in GIMP and Krita ------------
def masked_document():
    """A mask painted with a soft brush, a mask that hides all but a window, and Photoshop's empty
    'Reveal All' mask."""
    import numpy as np

    from pictures import gradient
    from qil_editor.document import Document, Layer, LayerMask
    from qil_editor.document.paint import Stroke, paintable_mask, reveal_all_mask, trimmed_mask

    w, h = 160, 120
    base, x, y = paintable_mask(reveal_all_mask(), (0, 0, w, h))
    stroke = Stroke(base, (x, y), "hide", size=30, hardness=0.3, opacity=0.9)
    for px in range(20, 150, 4):
        stroke.to(px, 40 + px // 4)
    painted = trimmed_mask(LayerMask(stroke.finished(), x, y, default=255))
    plane = np.zeros((40, 50), np.uint8)
    plane[10:30, 10:40] = 255
    return Document(w, h, [
        Layer(gradient(w, h, 90), name="Background"),
        Layer(gradient(140, 100, 30), name="Painted mask", x=10, y=10, mask=painted),
        Layer(gradient(80, 60, 200), name="Window mask", x=40, y=40, mask=LayerMask(plane, x=60, y=50, default=0)),
        Layer(gradient(30, 30, 0), name="Reveal all", x=100, y=10, mask=reveal_all_mask()),
    ])


GIMP_MASKS = """
(define (qil-masks in out)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (layers (cadr (gimp-image-get-layers image)))
         (port (open-output-file out)))
    (let loop ((i 0))
      (if (< i (vector-length layers))
          (begin (write (car (gimp-layer-get-mask (vector-ref layers i))) port)
                 (display " " port) (loop (+ i 1)))))
    (close-output-port port)
    (gimp-image-delete image)))"""


def test_gimp_reads_our_painted_masks(tmp_path):
    need("gimp-console")
    from clients import gimp_batch

    doc = masked_document()
    psd = tmp_path / "masks.psd"
    save_psd(doc, psd)
    png, count_file, masks = tmp_path / "gimp.png", tmp_path / "count.txt", tmp_path / "masks.txt"
    run = gimp_flatten([(psd, png, count_file)], tmp_path)
    assert png.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    assert_same_picture(composite(doc), rgba(png), "GIMP masks")
    run = gimp_batch(f'(begin {GIMP_MASKS}\n(qil-masks "{psd}" "{masks}"))', tmp_path)
    ids = [int(v) for v in masks.read_text().split()]  # top layer first; -1: no mask
    # the painted and the window masks are layer masks in GIMP; GIMP drops an empty 'Reveal All'
    # mask (an empty rectangle), which shows the same picture
    assert ids[1] != -1 and ids[2] != -1 and ids[3] == -1, ids


def test_krita_reads_our_painted_masks(tmp_path):
    need("krita", "xvfb-run")
    doc = masked_document()
    psd = tmp_path / "masks.psd"
    save_psd(doc, psd)
    png = tmp_path / "krita.png"
    krita_export(psd, png, tmp_path)
    assert_same_picture(composite(doc), rgba(png), "Krita masks")
    layers = krita_layers(psd, tmp_path)
    masked = {el.get("name"): [m.get("nodetype") for m in el.iter() if m.tag.endswith("mask")] for el in layers}
    for name in ("Painted mask", "Window mask", "Reveal all"):
        assert masked[name] == ["transparencymask"], masked
    assert masked["Background"] == []

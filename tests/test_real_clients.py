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

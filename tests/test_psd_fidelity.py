"""What an opened PSD records about itself, and compositor features real files use.

Fill opacity, layer-mask density/feather and clipping groups are drawn by the
compositor from layer properties; the source report (``save_losses``) names
what a save would still turn into pixels.
"""

from pathlib import Path

import numpy as np
import pytest

from pictures import solid
from qil_editor.document import BlendMode, Document, Layer, LayerMask, composite
from qil_editor.io import read_psd

CASES = Path(__file__).resolve().parent / "data" / "psd-cases"


def test_text_and_smart_objects_are_named_in_the_source_report():
    doc = read_psd(CASES / "text-layer" / "src.psd")
    kinds = {(f.kind, f.layer_name) for f in doc.source_fidelity}
    assert ("text", "Test text") in kinds
    assert all(f.layer_id in {ly.id for ly in doc.layers} for f in doc.source_fidelity if f.layer_id)
    smart = read_psd(CASES / "smart-object" / "src.psd")
    assert any(f.kind == "smart_object" for f in smart.source_fidelity)


def test_plain_pixel_file_reports_nothing_and_new_documents_have_no_source():
    doc = read_psd(CASES / "layers" / "src.psd")
    assert doc.source is not None and doc.save_losses() == []
    assert Document(4, 4, [Layer(solid(4, 4, (1, 2, 3)))]).save_losses() == []


def test_colour_mode_and_depth_are_reported():
    assert any("CMYK" in s for s in read_psd(CASES / "cmyk" / "src.psd").save_losses())
    assert any("32-bit" in s for s in read_psd(CASES / "32bits" / "src.psd").save_losses())


def test_fill_opacity_fades_pixels_in_normal_mode():
    doc = Document(2, 2, [Layer(solid(2, 2, (255, 0, 0)), fill_opacity=115 / 255)])
    assert composite(doc)[0, 0, 3] == 115
    half = Document(2, 2, [Layer(solid(2, 2, (255, 0, 0)), opacity=0.5, fill_opacity=0.5)])
    assert abs(int(composite(half)[0, 0, 3]) - 64) <= 1


def test_fill_opacity_weakens_the_special_modes_instead_of_the_alpha():
    base = Layer(solid(1, 1, (100, 100, 100)))
    add = Layer(solid(1, 1, (200, 200, 200)), blend_mode=BlendMode.LINEAR_DODGE, fill_opacity=0.5)
    out = composite(Document(1, 1, [base, add]))[0, 0]
    assert abs(int(out[0]) - 200) <= 1  # 100 + 0.5 * 200, not lerp(100, 255, 0.5) = 178
    add_op = add.copy(fill_opacity=1.0, opacity=0.5)
    assert abs(int(composite(Document(1, 1, [base, add_op]))[0, 0, 0]) - 178) <= 1
    gone = add.copy(fill_opacity=0.0)
    assert tuple(composite(Document(1, 1, [base, gone]))[0, 0]) == (100, 100, 100, 255)
    hard = Layer(solid(1, 1, (200, 200, 200)), blend_mode=BlendMode.HARD_MIX)
    assert composite(Document(1, 1, [base, hard]))[0, 0, 0] == 255  # 100 + 200 >= 255
    soft = hard.copy(fill_opacity=0.5)
    assert abs(int(composite(Document(1, 1, [base, soft]))[0, 0, 0]) - 145) <= 1  # (100+100-127.5)*2


def test_mask_density_and_feather():
    mask = LayerMask(np.zeros((4, 4), np.uint8), x=0, y=0, default=0, density=0.25)
    doc = Document(4, 4, [Layer(solid(4, 4, (0, 0, 255)), mask=mask)])
    assert abs(int(composite(doc)[0, 0, 3]) - 191) <= 1  # hides only a quarter
    plane = np.zeros((20, 40), np.uint8)
    plane[:, 20:] = 255  # document columns 10 and up
    feathered = LayerMask(plane, x=-10, feather=2.0, default=255)
    alpha = composite(Document(20, 20, [Layer(solid(20, 20, (0, 0, 0)), mask=feathered)]))[10, :, 3]
    assert alpha[0] == 0 and alpha[-1] == 255 and 0 < alpha[9] < 255 and 0 < alpha[10] < 255


def test_moving_a_layer_moves_its_mask():
    mask = LayerMask(np.full((2, 2), 255, np.uint8), x=1, y=1)
    doc = Document(8, 8, [Layer(solid(4, 4, (0, 0, 0)), mask=mask)])
    layer = doc.layers[0]
    doc.update_layer(layer.id, x=3, y=2)
    assert layer.mask.bbox == (4, 3, 6, 5) and layer.mask.pixels is mask.pixels


def test_clipping_group_takes_the_base_opacity_once():
    base = Layer(solid(4, 4, (255, 0, 0)), x=2, y=2, opacity=0.5)
    clip = Layer(solid(8, 8, (0, 0, 255)), clipping=True)
    out = composite(Document(8, 8, [base, clip]))
    assert out[0, 0, 3] == 0
    assert abs(int(out[3, 3, 3]) - 128) <= 1 and tuple(out[3, 3, :3]) == (0, 0, 255)
    hidden = composite(Document(8, 8, [base.copy(visible=False), clip]))
    assert hidden[..., 3].max() == 0


def test_clipped_layer_with_nothing_below_is_drawn_unclipped():
    out = composite(Document(2, 2, [Layer(solid(2, 2, (0, 255, 0)), clipping=True)]))
    assert tuple(out[0, 0]) == (0, 255, 0, 255)


def test_fill_opacity_and_mask_density_are_read_from_a_psd(tmp_path):
    from PIL import Image
    from psd_tools import PSDImage

    psd = PSDImage.new("RGBA", (10, 10), color=(0, 0, 0, 0))
    layer = psd.create_pixel_layer_from_array(solid(10, 10, (255, 0, 0)), name="faded")
    layer.fill_opacity = 115
    masked = psd.create_pixel_layer_from_array(solid(10, 10, (0, 0, 255)), name="masked")
    masked.create_mask(Image.fromarray(np.zeros((10, 10), np.uint8)), top=0, left=0)
    psd.save(tmp_path / "f.psd")
    doc = read_psd(tmp_path / "f.psd")
    faded, m = doc.layers
    assert faded.fill_opacity == pytest.approx(115 / 255)
    assert m.mask is not None and m.mask.pixels.max() == 0
    assert composite(doc)[5, 5, 3] == 115  # the masked layer hides entirely


def test_special_mode_fill_matches_photoshop_over_a_semi_transparent_backdrop():
    """ag-psd's fill-opacity case: linear light at fill 20 % over a 76 % backdrop.
    Photoshop stores (62, 78, 66, 206); a fill applied as plain alpha gives (63, 100, 90)."""
    from PIL import Image

    case = CASES / "fill-opacity"
    out = composite(read_psd(case / "src.psd"))[0, 0].astype(int)
    ref = np.asarray(Image.open(case / "canvas.png").convert("RGBA"))[0, 0].astype(int)
    assert tuple(ref) == (62, 78, 66, 206)
    assert np.abs(out - ref).max() <= 1


def test_artboards_show_their_background_and_clip_their_layers(tmp_path):
    from PIL import Image

    from qil_editor.document import History, SetLayerProperties
    from qil_editor.io import save_psd

    case = CASES / "artboards"
    doc = read_psd(case / "src.psd")
    ref = np.asarray(Image.open(case / "canvas.png").convert("RGBA")).astype(int)
    assert np.abs(composite(doc).astype(int) - ref).max() <= 1
    backgrounds = [ly for ly in doc.layers if ly.id in doc.source.synthetic]
    assert [ly.name for ly in backgrounds] == ["white board/white board (artboard background)",
                                               "custom board/custom board (artboard background)"]
    save_psd(doc, tmp_path / "same.psd")  # the background is the artboard's: not written
    assert (tmp_path / "same.psd").read_bytes() == (case / "src.psd").read_bytes()
    History(doc).push(SetLayerProperties(backgrounds[0].id, visible=False))
    assert doc.save_losses() == ["'white board (artboard background)' is drawn by Photoshop from "
                                 "its group (artboard or layer style); changes to it are not saved"]

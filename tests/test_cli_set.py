"""``qil set``: one layer's properties changed headless, everything else kept."""

from pathlib import Path

import numpy as np
import pytest

from qil_editor.cli import main
from qil_editor.document import BlendMode
from qil_editor.io import read_psd

CASES = Path(__file__).resolve().parent / "data" / "psd-cases"


def records(path):
    from psd_tools import PSDImage

    info = PSDImage.open(path)._record._get_layer_info()
    return [(rec, [c.data for c in chans])
            for rec, chans in zip(info.layer_records, info.channel_image_data)]


def test_set_moves_renames_and_keeps_text_live(tmp_path, capsys):
    from psd_tools import PSDImage

    src = CASES / "text-layer" / "src.psd"
    out = tmp_path / "out.psd"
    rc = main(["set", str(src), "--layer", "Test text", "--offset", "4,-3", "--opacity", "50",
               "--blend", "soft light", "--name", "Title", "-o", str(out)])
    assert rc == 0
    assert "Title" in capsys.readouterr().out
    before, after = read_psd(src), read_psd(out)
    a = next(ly for ly in before.layers if ly.name == "Test text")
    b = next(ly for ly in after.layers if ly.name == "Title")
    assert (b.x - a.x, b.y - a.y) == (4, -3)
    assert b.opacity == pytest.approx(0.5, abs=1 / 255) and b.blend_mode == BlendMode.SOFT_LIGHT
    assert np.array_equal(a.pixels, b.pixels)
    original = next(ly for ly in PSDImage.open(src).descendants() if ly.name == "Test text")
    title = next(ly for ly in PSDImage.open(out).descendants() if ly.name == "Title")
    assert title.kind == "type" and title.text == original.text  # still live text
    # the background record is untouched
    assert records(src)[0] == records(out)[0]


def test_set_by_index_and_visibility(tmp_path):
    src = CASES / "layers" / "src.psd"
    out = tmp_path / "out.psd"
    assert main(["set", str(src), "--layer", "-1", "--visible", "0", "-o", str(out)]) == 0
    doc = read_psd(out)
    assert not doc.layers[-1].visible
    assert records(src)[:-1] == records(out)[:-1]


def test_set_finds_a_layer_inside_a_group_by_its_own_name(tmp_path):
    src = CASES / "groups" / "src.psd"
    inside = next(ly for ly in read_psd(src).layers if "/" in ly.name)
    leaf = inside.name.rsplit("/", 1)[-1]
    out = tmp_path / "out.psd"
    assert main(["set", str(src), "--layer", leaf, "--name", "Moved", "--offset", "1,1",
                 "-o", str(out)]) == 0
    names = [ly.name for ly in read_psd(out).layers]
    assert inside.name.rsplit("/", 1)[0] + "/Moved" in names


@pytest.mark.parametrize("extra, text", [
    (["--offset", "1"], "DX,DY"),
    (["--opacity", "150"], "between 0 and 100"),
    (["--blend", "sparkle"], "unknown blend mode"),
    ([], "Nothing to change"),
    (["--name", " "], "empty"),
])
def test_bad_options_change_nothing(tmp_path, capsys, extra, text):
    src = CASES / "layers" / "src.psd"
    out = tmp_path / "out.psd"
    assert main(["set", str(src), "--layer", "0", *extra, "-o", str(out)]) == 2
    assert text in capsys.readouterr().err
    assert not out.exists()


def test_unknown_layer_lists_the_layers(tmp_path, capsys):
    out = tmp_path / "out.psd"
    rc = main(["set", str(CASES / "layers" / "src.psd"), "--layer", "nope", "--visible", "1",
               "-o", str(out)])
    assert rc == 2 and "Layers (0 = bottom)" in capsys.readouterr().err and not out.exists()


def test_output_must_be_a_psd(tmp_path):
    assert main(["set", str(CASES / "layers" / "src.psd"), "--layer", "0", "--visible", "1",
                 "-o", str(tmp_path / "out.png")]) == 2


def test_missing_input_is_an_input_error(tmp_path):
    assert main(["set", str(tmp_path / "none.psd"), "--layer", "0", "--visible", "1",
                 "-o", str(tmp_path / "out.psd")]) == 3


def test_set_redraws_a_styled_groups_shadow_for_the_moved_layer(tmp_path, capsys):
    """Moving a layer of a group with a drop shadow: the saved merged picture has the shadow of
    the moved content (as the editor draws it), not the shadow as read, and no stale note."""
    from psd_tools import PSDImage

    from qil_editor.document import composite
    from qil_editor.document.group_styles import redraw_group_styles
    from qil_editor.io import open_document

    src = Path(__file__).parent / "data" / "psd-extra" / "group-drop-shadows" / "src.psd"
    doc = open_document(src)
    (style_id, style), = doc.source.group_styles.items()
    member = doc.layer(style[1][0])
    index = doc.index_of(member.id)
    doc.update_layer(member.id, x=member.x + 20)
    stale = composite(doc).astype(np.int16)
    assert redraw_group_styles(doc) == [style_id]
    fresh = composite(doc).astype(np.int16)
    assert np.abs(fresh - stale).max() > 8
    out = tmp_path / "moved.psd"
    assert main(["set", str(src), "--layer", str(index), "--offset", "20,0", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "stale" not in err and "layer style" not in err
    merged = np.asarray(PSDImage.open(out).topil().convert("RGBA"), np.int16)
    assert np.abs(merged - fresh).max() <= 2 < np.abs(merged - stale).max()

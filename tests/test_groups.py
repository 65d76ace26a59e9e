"""Groups in the document: read, draw, edit with undo, write as PSD groups.

Photoshop's group rules are checked against psd-tools' composite of the same
file (it implements isolation and pass-through), on premultiplied values.
"""

from pathlib import Path

import numpy as np
import pytest

from clients import krita_tree, need
from pictures import premultiplied, solid
from qil_editor.document import (BlendMode, Document, Group, GroupLayers, History, Layer,
                                 LayerMask, MoveGroup, SetGroupProperties, Ungroup, composite)
from qil_editor.io import read_psd, save_psd

CASES = Path(__file__).resolve().parent / "data" / "psd-cases"


def psd_tools_picture(path):
    from psd_tools import PSDImage

    im = PSDImage.open(path).composite(ignore_preview=True, color=0.0, alpha=0.0)
    return np.asarray(im.convert("RGBA"))


def grouped_psd(tmp_path):
    """Overlapping layers in a faded isolated group, a faded pass-through group over a
    coloured background, a multiply group, a hidden group, nesting."""
    from psd_tools import PSDImage
    from psd_tools.constants import BlendMode as PsdBlend

    psd = PSDImage.new("RGBA", (40, 30), color=(0, 0, 0, 0))
    psd.create_pixel_layer_from_array(solid(30, 40, (40, 160, 220)), name="bg")
    a = psd.create_pixel_layer_from_array(solid(10, 12, (255, 0, 0)), name="a", top=2, left=2)
    b = psd.create_pixel_layer_from_array(solid(10, 12, (0, 255, 0)), name="b", top=6, left=8)
    psd.create_group([a, b], name="Isolated", opacity=128, blend_mode=PsdBlend.NORMAL)
    c = psd.create_pixel_layer_from_array(solid(8, 8, (250, 250, 0)), name="c", top=18, left=2)
    d = psd.create_pixel_layer_from_array(solid(8, 8, (120, 0, 200)), name="d", top=20, left=6,
                                          blend_mode=PsdBlend.SCREEN)
    inner = psd.create_group([d], name="Inner")
    psd.create_group([c, inner], name="Pass", opacity=153)
    m = psd.create_pixel_layer_from_array(solid(12, 12, (128, 128, 128)), name="m", top=4, left=24)
    psd.create_group([m], name="Mul", blend_mode=PsdBlend.MULTIPLY)
    # (a group mask made by psd-tools' create_mask does not read back in psd-tools; group
    # masks are covered by the written-document test below)
    h = psd.create_pixel_layer_from_array(solid(5, 5, (255, 255, 255)), name="h", top=24, left=30)
    psd.create_group([h], name="Hidden").visible = False
    psd.save(tmp_path / "groups.psd")
    return tmp_path / "groups.psd"


def test_groups_are_read_with_their_own_values(tmp_path):
    doc = read_psd(grouped_psd(tmp_path), groups=True)
    names = {g.name: g for g in doc.groups.values()}
    assert set(names) == {"Isolated", "Pass", "Inner", "Mul", "Hidden"}
    assert names["Pass"].pass_through and not names["Isolated"].pass_through
    assert names["Isolated"].opacity == pytest.approx(128 / 255)
    assert names["Mul"].blend_mode == BlendMode.MULTIPLY
    assert not names["Hidden"].visible
    assert names["Inner"].parent == names["Pass"].id
    layers = {ly.name: ly for ly in doc.layers}
    assert layers["a"].opacity == 1.0 and layers["h"].visible  # own values, not folded in
    assert [g.name for g in doc.layer_chain(layers["d"])] == ["Pass", "Inner"]
    assert doc.effective(layers["h"]) == (False, 1.0)
    assert doc.effective(layers["a"])[1] == pytest.approx(128 / 255)


def test_group_compositing_matches_photoshop_rules(tmp_path):
    path = grouped_psd(tmp_path)
    ref = premultiplied(psd_tools_picture(path))
    grouped = premultiplied(composite(read_psd(path, groups=True)))
    flat = premultiplied(composite(read_psd(path)))
    assert np.abs(grouped - ref).max() <= 2
    # the flat reading folds the faded group's opacity into each layer: wrong where they overlap
    assert np.abs(flat - ref).max() > 20


def test_new_document_groups_are_written_as_psd_groups(tmp_path):
    from psd_tools import PSDImage

    outer = Group("Outer", opacity=0.5, blend_mode=BlendMode.NORMAL)
    inner = Group("Inner ✨", parent=outer.id,
                  mask=LayerMask(np.full((4, 4), 255, np.uint8), x=2, y=2, density=0.5))
    doc = Document(20, 20, [
        Layer(solid(20, 20, (10, 20, 30)), name="bg"),
        Layer(solid(10, 10, (255, 0, 0)), name="a", group=outer.id),
        Layer(solid(10, 10, (0, 0, 255)), name="b", x=5, y=5, group=inner.id),
        Layer(solid(3, 3, (0, 255, 0)), name="top"),
    ], groups=[outer, inner])
    save_psd(doc, tmp_path / "g.psd")
    psd = PSDImage.open(tmp_path / "g.psd")
    tree = [(ly.name, [(c.name, [x.name for x in c] if c.is_group() else None) for c in ly]
             if ly.is_group() else None) for ly in psd]
    assert tree == [("bg", None), ("Outer", [("a", None), ("Inner ✨", ["b"])]), ("top", None)]
    assert np.abs(premultiplied(psd_tools_picture(tmp_path / "g.psd")) - premultiplied(composite(doc))).max() <= 2
    back = read_psd(tmp_path / "g.psd", groups=True)
    got = {g.name: g for g in back.groups.values()}
    assert got["Outer"].opacity == pytest.approx(0.5, abs=1 / 255)
    assert got["Inner ✨"].pass_through and got["Inner ✨"].mask.density == pytest.approx(0.5, abs=1 / 255)
    assert [ly.name for ly in back.layers] == ["bg", "a", "b", "top"]


def test_saving_an_unchanged_grouped_psd_is_byte_identical(tmp_path):
    src = CASES / "nested" / "src.psd"
    doc = read_psd(src, groups=True)
    save_psd(doc, tmp_path / "out.psd")
    assert (tmp_path / "out.psd").read_bytes() == src.read_bytes()


def test_changing_a_group_rewrites_only_its_record(tmp_path):
    from psd_tools import PSDImage

    src = CASES / "groups" / "src.psd"
    doc = read_psd(src, groups=True)
    gid = next(g.id for g in doc.groups.values() if g.name == "Group 1")
    History(doc).push(SetGroupProperties(gid, opacity=0.5, blend_mode=BlendMode.MULTIPLY, name="G"))
    save_psd(doc, tmp_path / "out.psd")

    def records(path):
        info = PSDImage.open(path)._record._get_layer_info()
        return [(r, [c.data for c in ch]) for r, ch in zip(info.layer_records, info.channel_image_data)]

    before, after = records(src), records(tmp_path / "out.psd")
    changed = [i for i, (x, y) in enumerate(zip(before, after)) if x != y]
    assert len(before) == len(after) and len(changed) == 1
    group = next(ly for ly in PSDImage.open(tmp_path / "out.psd") if ly.is_group() and ly.name == "G")
    assert group.opacity == 128 and group.blend_mode.value == b"mul "


def test_group_and_ungroup_with_undo():
    layers = [Layer(solid(2, 2, (i * 40, 0, 0)), name=f"L{i}") for i in range(4)]
    doc = Document(4, 4, layers)
    hist = History(doc)
    before = [ly.id for ly in doc.layers]
    hist.push(GroupLayers([layers[0].id, layers[2].id], name="G"))
    (group,) = doc.groups.values()
    assert [ly.name for ly in doc.layers] == ["L1", "L0", "L2", "L3"]  # gathered below the top one
    assert layers[0].group == group.id == layers[2].group and layers[1].group is None
    hist.push(SetGroupProperties(group.id, visible=False))
    assert composite(doc)[0, 0, 3] == 255 and not doc.effective(layers[0])[0]
    hist.push(Ungroup(group.id))
    assert not doc.groups and layers[0].group is None
    hist.undo()
    assert doc.groups[group.id] is group and layers[2].group == group.id
    hist.undo()
    hist.undo()
    assert not doc.groups and [ly.id for ly in doc.layers] == before
    assert all(ly.group is None for ly in doc.layers)
    hist.redo()
    assert doc.groups[group.id] is group and [ly.name for ly in doc.layers] == ["L1", "L0", "L2", "L3"]


def test_nested_grouping_and_moving_a_group():
    outer = Group("outer")
    doc = Document(8, 8, [Layer(solid(2, 2, (0, 0, 0)), name="a", group=outer.id),
                          Layer(solid(2, 2, (0, 0, 0)), name="b", group=outer.id),
                          Layer(solid(2, 2, (0, 0, 0)), name="c")], groups=[outer])
    a, b, c = doc.layers
    hist = History(doc)
    hist.push(GroupLayers([a.id, b.id], name="inner"))
    inner = next(g for g in doc.groups.values() if g.name == "inner")
    assert inner.parent == outer.id  # inside the group both shared
    hist.push(MoveGroup(doc, outer.id, 3, 1))
    assert (a.x, a.y, b.x, c.x) == (3, 1, 3, 0)
    hist.undo()
    assert (a.x, a.y) == (0, 0)


def test_bad_group_edits_are_refused():
    g = Group("g")
    doc = Document(4, 4, [Layer(solid(1, 1, (0, 0, 0)), group=g.id)], groups=[g])
    with pytest.raises(ValueError):
        doc.remove_group(g.id)  # not empty
    with pytest.raises(ValueError):
        doc.update_group(g.id, parent=g.id)
    with pytest.raises(ValueError):
        doc.update_layer(doc.layers[0].id, group="nope")
    with pytest.raises(ValueError):
        Document(4, 4, [Layer(solid(1, 1, (0, 0, 0)), group="missing")])


def test_clipping_does_not_cross_a_group_boundary():
    g = Group("g")
    base = Layer(solid(2, 2, (255, 0, 0)), name="base")
    clipped = Layer(solid(4, 4, (0, 0, 255)), name="clip", clipping=True, group=g.id)
    out = composite(Document(4, 4, [base, clipped], groups=[g]))
    assert tuple(out[3, 3]) == (0, 0, 255, 255)  # first in its group: clips to nothing


def test_merge_and_replace_keep_layers_in_their_group():
    from qil_editor.document import MergeDown, ReplaceLayers

    g = Group("g", blend_mode=BlendMode.NORMAL, opacity=0.5)
    doc = Document(4, 4, [Layer(solid(2, 2, (255, 0, 0)), name="a", group=g.id),
                          Layer(solid(2, 2, (0, 255, 0)), name="b", group=g.id)], groups=[g])
    hist = History(doc)
    hist.push(MergeDown(doc, doc.layers[1].id))
    (merged,) = doc.layers
    assert merged.group == g.id and composite(doc)[0, 0, 3] == 128
    parts = [Layer(solid(1, 1, (0, 0, 255)), name="p1"), Layer(solid(1, 1, (0, 0, 9)), name="p2")]
    hist.push(ReplaceLayers([merged.id], parts))
    assert [ly.group for ly in doc.layers] == [g.id, g.id]


def test_grouping_a_flat_read_psd_with_groups_is_refused():
    doc = read_psd(CASES / "groups" / "src.psd")  # flat reading: "Group 1/Layer 3"
    before = [(ly.id, ly.group) for ly in doc.layers]
    hist = History(doc)
    with pytest.raises(ValueError, match="groups"):
        hist.push(GroupLayers([doc.layers[0].id]))
    assert [(ly.id, ly.group) for ly in doc.layers] == before and not doc.groups and not hist.can_undo
    grouped = read_psd(CASES / "groups" / "src.psd", groups=True)
    History(grouped).push(GroupLayers([grouped.layers[0].id], name="fine"))
    assert any(g.name == "fine" for g in grouped.groups.values())


@pytest.mark.slow
def test_krita_shows_written_groups_as_groups(tmp_path):
    need("krita", "xvfb-run")
    outer = Group("Outer", opacity=0.5, blend_mode=BlendMode.MULTIPLY)
    inner = Group("Inner", parent=outer.id, visible=False)
    doc = Document(20, 20, [Layer(solid(20, 20, (10, 20, 30)), name="bg"),
                            Layer(solid(10, 10, (255, 0, 0)), name="a", group=outer.id),
                            Layer(solid(10, 10, (0, 0, 255)), name="b", group=inner.id),
                            Layer(solid(3, 3, (0, 255, 0)), name="top")], groups=[outer, inner])
    save_psd(doc, tmp_path / "written.psd")
    assert krita_tree(tmp_path / "written.psd", tmp_path) == [
        ("top", []), ("Outer", [("Inner", [("b", [])]), ("a", [])]), ("bg", [])]


def test_empty_groups_are_kept(tmp_path):
    from psd_tools import PSDImage

    outer = Group("Outer")
    empty = Group("Empty", parent=outer.id)
    lonely = Group("Lonely")
    doc = Document(4, 4, [Layer(solid(2, 2, (1, 2, 3)), name="a", group=outer.id)],
                   groups=[outer, empty, lonely])
    save_psd(doc, tmp_path / "e.psd")
    tree = lambda g: [(ly.name, tree(ly) if ly.is_group() else None) for ly in g]
    assert tree(PSDImage.open(tmp_path / "e.psd")) == [
        ("Outer", [("a", None), ("Empty", [])]), ("Lonely", [])]
    # and in a PSD whose structure is edited (the 'groups' case has an empty group)
    src = read_psd(CASES / "groups" / "src.psd", groups=True)
    names = sorted(g.name for g in src.groups.values())
    History(src).push(GroupLayers([src.layers[-1].id], name="New"))
    save_psd(src, tmp_path / "s.psd")
    back = read_psd(tmp_path / "s.psd", groups=True)
    assert sorted(g.name for g in back.groups.values()) == sorted(names + ["New"])


def test_one_layer_lookup_for_cli_engines_and_server_knows_ids_indexes_and_group_paths():
    from qil_editor.document.tree import find_layer
    from qil_editor.errors import UsageError

    outer, inner = Group("Outer"), Group("Inner")
    inner.parent = outer.id
    a = Layer(solid(4, 4, (9, 9, 9)), name="Logo", group=inner.id)
    b = Layer(solid(4, 4, (9, 9, 9)), name="Logo")
    c = Layer(solid(4, 4, (9, 9, 9)), name="Text", group=outer.id)
    doc = Document(8, 8, [b, a, c], groups=[outer, inner])
    assert find_layer(doc, 0) is b and find_layer(doc, "-1") is c and find_layer(doc, a.id) is a
    assert find_layer(doc, "Outer/Inner/Logo") is a and find_layer(doc, "Text") is c
    assert find_layer(doc, "Logo") is b  # an exact top-level name wins over a leaf name
    with pytest.raises(UsageError) as err:
        find_layer(doc, "Nope")
    assert "no layer named 'Nope'" in err.value.message and "Outer/Inner/Logo" in str(err.value.hint)
    with pytest.raises(UsageError, match="no layer at index 7"):
        find_layer(doc, 7)

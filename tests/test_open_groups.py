"""Opening a PSD keeps its groups, and every consumer of a document sees them right:
the panel's tree rows, moving items in and out of groups, Ctrl+G / delete of a group,
qil info, qil set, the layered exports and a PSD save read back by psd-tools."""

import json
from pathlib import Path

import numpy as np
import pytest

from pictures import premultiplied, solid
from qil_editor.cli import main
from qil_editor.document import BlendMode, Document, Group, History, Layer, composite
from qil_editor.document.tree import DeleteGroup, GroupItems, MoveInTree, tree_rows
from qil_editor.io import open_document, read_psd, save_psd

CASES = Path(__file__).resolve().parent / "data" / "psd-cases"


def shape(doc, collapsed=()):
    """The tree as the panel lists it: '  ' per level, 'G:' before a group's name."""
    out = []
    for row in tree_rows(doc, collapsed):
        item = doc.group(row.id) if row.is_group else doc.layer(row.id)
        out.append("  " * row.depth + ("G:" if row.is_group else "") + item.name)
    return out


def grouped_doc():
    """bg | Group A (c, b) | d on top; A is pass-through."""
    a = Group("A")
    layers = [Layer(solid(10, 10, (40, 40, 40)), name="bg"),
              Layer(solid(4, 4, (255, 0, 0)), name="b", x=1, y=1, group=a.id),
              Layer(solid(4, 4, (0, 255, 0)), name="c", x=3, y=3, group=a.id),
              Layer(solid(3, 3, (0, 0, 255)), name="d", x=6, y=6)]
    return Document(10, 10, layers, groups=[a])


def test_open_document_keeps_the_files_groups():
    doc = open_document(CASES / "groups" / "src.psd")
    assert {g.name for g in doc.groups.values()} == {"Group 1", "Group 2"}
    assert shape(doc) == ["G:Group 1", "  G:Group 2", "  Layer 1", "  Layer 3", "Layer 0"]
    assert shape(doc, [doc.layers[-1].group]) == ["G:Group 1", "Layer 0"]
    flat = open_document(CASES / "groups" / "src.psd", groups=False)
    assert not flat.groups and any("/" in ly.name for ly in flat.layers)
    nested = open_document(CASES / "nested" / "src.psd")
    assert shape(nested)[9] == "                  G:Folder10" and shape(nested)[10].endswith("Layer10 (#00)")


def test_move_in_tree_into_out_of_and_whole_groups_with_undo():
    doc = grouped_doc()
    history = History(doc)
    a = next(iter(doc.groups))
    d, bg = doc.find("d"), doc.find("bg")
    history.push(MoveInTree([d.id], [], a, doc.find("c").id))  # d into A, above c
    assert shape(doc) == ["G:A", "  d", "  c", "  b", "bg"] and d.group == a
    history.push(MoveInTree([], [a], None, None))  # the whole group to the bottom
    assert shape(doc) == ["bg", "G:A", "  d", "  c", "  b"]
    history.push(MoveInTree([doc.find("b").id], [], None, bg.id))  # b out of A, above bg
    assert shape(doc) == ["b", "bg", "G:A", "  d", "  c"] and doc.find("b").group is None
    with pytest.raises(ValueError):
        MoveInTree([], [a], a, None).plan(doc)  # a group into itself
    for expected in (["bg", "G:A", "  d", "  c", "  b"], ["G:A", "  d", "  c", "  b", "bg"],
                     ["d", "G:A", "  c", "  b", "bg"]):
        history.undo()
        assert shape(doc) == expected
    history.redo()
    assert shape(doc) == ["G:A", "  d", "  c", "  b", "bg"]


def test_group_items_and_delete_group_are_one_step_each():
    doc = grouped_doc()
    history = History(doc)
    a = next(iter(doc.groups))
    before = composite(doc)
    cmd = GroupItems([doc.find("d").id], [a], name="Outer")
    history.push(cmd)
    assert shape(doc) == ["G:Outer", "  d", "  G:A", "    c", "    b", "bg"]
    assert np.array_equal(composite(doc), before)  # pass-through groups change nothing drawn
    history.push(DeleteGroup(a))
    assert shape(doc) == ["G:Outer", "  d", "bg"] and len(doc.groups) == 1
    history.undo()
    assert shape(doc) == ["G:Outer", "  d", "  G:A", "    c", "    b", "bg"]
    history.undo()
    assert shape(doc) == ["d", "G:A", "  c", "  b", "bg"]
    assert set(doc.groups) == {a}


def test_hidden_group_hides_its_layers_in_info_and_exports(tmp_path, capsys):
    doc = grouped_doc()
    a = next(iter(doc.groups))
    doc.update_group(a, visible=False, opacity=0.5)
    path = tmp_path / "g.psd"
    save_psd(doc, path)
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    by_name = {ly["name"]: ly for ly in info["layers"]}
    assert by_name["A/b"]["visible"] is False and by_name["A/b"]["own_visible"] is True
    assert by_name["A/b"]["opacity"] == pytest.approx(128 / 255, abs=1e-3) and by_name["d"]["visible"] is True
    assert info["groups"] == [{"name": "A", "opacity": 0.502, "visible": False, "blend_mode": "pass through"}]
    assert main(["info", str(path)]) == 0
    assert "in 1 group(s)" in capsys.readouterr().out

    from qil_editor.io.ora import read_ora, write_ora
    from qil_editor.io.svg import linked_folder, write_svg

    doc.update_group(a, opacity=1.0)  # (faded, its overlapping layers would be merged: next test)
    warnings = []
    write_ora(doc, tmp_path / "g.ora", warnings.append)
    back = read_ora(tmp_path / "g.ora")
    assert [(ly.name, ly.visible) for ly in back.layers] == [("bg", True), ("A/b", False), ("A/c", False),
                                                               ("d", True)]
    assert np.array_equal(composite(back), composite(doc)) and not warnings
    write_svg(doc, tmp_path / "g.svg", warnings.append, linked=True)
    text = (tmp_path / "g.svg").read_text()
    assert text.count('display="none"') == 2
    assert sorted(p.name for p in linked_folder(tmp_path / "g.svg").iterdir()) == [
        "00_bg.png", "01_A_b.png", "02_A_c.png", "03_d.png"]


def test_a_group_with_a_blend_mode_is_merged_for_formats_without_groups(tmp_path):
    from qil_editor.io.ora import read_ora, write_ora

    doc = grouped_doc()
    a = next(iter(doc.groups))
    doc.update_group(a, blend_mode=BlendMode.MULTIPLY, opacity=0.8)
    warnings = []
    write_ora(doc, tmp_path / "m.ora", warnings.append)
    back = read_ora(tmp_path / "m.ora")
    assert [ly.name for ly in back.layers] == ["bg", "A", "d"]
    assert back.layers[1].blend_mode == BlendMode.MULTIPLY and back.layers[1].opacity == pytest.approx(0.8)
    assert any('Group "A"' in w and "Multiply" in w for w in warnings)
    assert np.abs(premultiplied(composite(back)) - premultiplied(composite(doc))).max() <= 1


def test_grouped_selection_saves_as_psd_groups_and_reopens(tmp_path):
    from psd_tools import PSDImage

    doc = open_document(CASES / "layers" / "src.psd")
    assert not doc.groups and len(doc) >= 2
    history = History(doc)
    ids = [ly.id for ly in doc.layers[-2:]]
    history.push(GroupItems(ids, name="Made"))
    path = tmp_path / "made.psd"
    save_psd(doc, path)
    psd = PSDImage.open(path)
    group = next(ly for ly in psd if ly.is_group())
    assert group.name == "Made" and [ly.name for ly in group] == [doc.layer(i).name for i in ids]
    back = open_document(path)
    assert shape(back) == shape(doc)
    assert np.abs(premultiplied(composite(back)) - premultiplied(composite(doc))).max() <= 1


def test_qil_set_finds_a_layer_by_its_group_path(tmp_path, capsys):
    doc = grouped_doc()
    path = tmp_path / "in.psd"
    save_psd(doc, path)
    out = tmp_path / "out.psd"
    assert main(["set", str(path), "--layer", "A/c", "--offset", "2,0", "-o", str(out)]) == 0
    back = read_psd(out, groups=True)
    c = back.find("c")
    assert (c.x, c.y) == (5, 3) and back.group(c.group).name == "A"
    assert shape(back) == shape(doc)


def test_duplicate_group_copies_everything_inside_above_it():
    from qil_editor.document.tree import DuplicateGroup

    doc = grouped_doc()
    a = next(iter(doc.groups))
    inner = Group("Inner", parent=a)
    doc.add_group(inner)
    doc.update_layer(doc.find("c").id, group=inner.id)
    history = History(doc)
    before = shape(doc)
    history.push(DuplicateGroup(a))
    assert shape(doc) == ["d", "G:A copy", "  G:Inner", "    c", "  b", "G:A", "  G:Inner", "    c", "  b", "bg"]
    copies = [ly for ly in doc.layers if ly.name in ("b", "c")]
    assert len({ly.id for ly in copies}) == 4 and len(doc.groups) == 4
    history.undo()
    assert shape(doc) == before and len(doc.groups) == 2

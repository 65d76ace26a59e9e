import numpy as np
import pytest

from qil_editor.document import (AddLayer, BlendMode, DeleteLayer, Document, DuplicateLayer,
                                 History, Layer, MergeDown, MoveLayer, ReorderLayer,
                                 ReplaceLayers, ReplacePixels, SetLayerProperties, composite)


def solid(w, h, rgba):
    return np.tile(np.array(rgba, np.uint8), (h, w, 1))


def make_doc():
    a = Layer(solid(4, 4, (255, 0, 0, 255)), name="A")
    b = Layer(solid(2, 2, (0, 255, 0, 255)), name="B", x=1, y=1)
    c = Layer(solid(2, 2, (0, 0, 255, 128)), name="C", x=2, y=2)
    return Document(4, 4, [a, b, c])


def snapshot(doc):
    return [(ly.id, ly.properties(), ly.pixels.tobytes()) for ly in doc.layers]


def test_events_and_lookup():
    doc = make_doc()
    events = []
    doc.subscribe(events.append)
    c = doc.find("C")
    doc.move_layer(c.id, 0)
    assert [ly.name for ly in doc.layers] == ["C", "A", "B"]
    assert events[-1].kind == "moved" and events[-1].old_index == 2
    assert doc.find(0).name == "C"
    with pytest.raises(KeyError):
        doc.find("nope")


def test_pixels_are_immutable_values():
    doc = make_doc()
    with pytest.raises(ValueError):
        doc.layers[0].pixels[0, 0, 0] = 1


def test_every_command_undoes_and_redoes():
    doc = make_doc()
    hist = History(doc)
    start = snapshot(doc)
    a, b, c = doc.layers
    cmds = [
        MoveLayer(b.id, 3, -1),
        SetLayerProperties(c.id, opacity=0.5, blend_mode="multiply"),
        SetLayerProperties(a.id, name="Fond é", visible=False, locked=True),
        ReorderLayer(c.id, 0),
        ReplacePixels(b.id, solid(3, 3, (1, 2, 3, 4)), x=-5, y=7),
        AddLayer(Layer(solid(1, 1, (9, 9, 9, 9)), name="new"), 1),
        DuplicateLayer(b.id),
        DeleteLayer(a.id),
    ]
    states = [start]
    for cmd in cmds:
        hist.push(cmd)
        states.append(snapshot(doc))
    assert doc.find("B copy").id != b.id
    for expected in reversed(states[:-1]):
        assert hist.undo()
        assert snapshot(doc) == expected
    assert not hist.undo()
    for expected in states[1:]:
        assert hist.redo()
        assert snapshot(doc) == expected


def test_successive_moves_merge_into_one_step():
    doc = make_doc()
    hist = History(doc)
    b = doc.find("B")
    for _ in range(10):
        hist.push(MoveLayer(b.id, 1, 2))
    assert len(hist) == 1
    assert (doc.layer(b.id).x, doc.layer(b.id).y) == (11, 21)
    hist.undo()
    assert (doc.layer(b.id).x, doc.layer(b.id).y) == (1, 1)


def test_merge_down_keeps_composite_and_undoes():
    doc = make_doc()
    hist = History(doc)
    before = composite(doc)
    start = snapshot(doc)
    hist.push(MergeDown(doc, doc.find("C").id))
    assert [ly.name for ly in doc.layers] == ["A", "B"]
    np.testing.assert_allclose(composite(doc).astype(int), before.astype(int), atol=1)
    hist.undo()
    assert snapshot(doc) == start


def test_replace_layers_is_one_step():
    doc = make_doc()
    hist = History(doc)
    b = doc.find("B")
    parts = [Layer(solid(1, 1, (1, 1, 1, 255)), name=f"part {i}") for i in range(3)]
    hist.push(ReplaceLayers([b.id], parts, text="Split"))
    assert [ly.name for ly in doc.layers] == ["A", "part 0", "part 1", "part 2", "C"]
    hist.undo()
    assert [ly.name for ly in doc.layers] == ["A", "B", "C"]


def test_blend_mode_psd_keys_round_trip():
    for mode in BlendMode:
        assert BlendMode.from_psd_key(mode.psd_key) is mode
    assert BlendMode.from_psd_key(b"pass") is BlendMode.NORMAL
    assert BlendMode.parse("Linear Dodge") is BlendMode.LINEAR_DODGE

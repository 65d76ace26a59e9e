"""A PSD group's drop shadow ("<group> (effects)") follows the group's layers in the window:
moved with the move tool, hidden, moved through the session, and undone exactly."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QTransform
from PySide6.QtTest import QTest

from qil_editor.document.group_styles import draw_group_style
from qil_editor.io import read_psd

PSD = Path(__file__).resolve().parents[1] / "data" / "psd-extra" / "group-drop-shadows" / "src.psd"


def _open(qtbot, window):
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    tab = window.open_path(PSD)
    doc = tab.session.doc
    (style_id, style), = doc.source.group_styles.items()
    return tab, doc, style_id, style


def _placed(layer, width, height) -> np.ndarray:
    """The layer's pixels on a canvas with room around it (to compare offsets too)."""
    out = np.zeros((height + 400, width + 400, 4), np.uint8)
    h, w = layer.pixels.shape[:2]
    out[200 + layer.y:200 + layer.y + h, 200 + layer.x:200 + layer.x + w] = layer.pixels
    return out


def _expected(edit) -> tuple[np.ndarray, int, int]:
    """The style drawn from scratch on a freshly read file after ``edit(doc)``."""
    doc = read_psd(PSD, groups=True)
    (_sid, style), = doc.source.group_styles.items()
    edit(doc, style)
    return draw_group_style(doc, style)


def _settle(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.session.styles_busy)


def test_move_tool_drag_redraws_the_group_shadow_and_undo_restores_it(qtbot, window):
    tab, doc, style_id, style = _open(qtbot, window)
    session, canvas = tab.session, tab.canvas
    shadow = doc.layer(style_id)
    read_pixels, read_xy = shadow.pixels, (shadow.x, shadow.y)
    member = doc.layer(style[1][0])
    x0, y0 = member.x, member.y
    session.set_current(member.id)
    window.actions_by_name["snap"].trigger()  # off: an exact drag
    canvas.set_tool("move")
    canvas.setTransform(QTransform())
    canvas.centerOn(500, 300)
    vp = canvas.viewport()
    start = canvas.mapFromScene(QPointF(member.x + member.width / 2, member.y + member.height / 2))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(20, 10))
    QTest.mouseMove(vp, start + QPoint(40, 30))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(40, 30))
    assert (member.x - x0, member.y - y0) == (40, 30)
    _settle(qtbot, tab)
    px, x, y = _expected(lambda d, s: d.update_layer(s[1][0], x=x0 + 40, y=y0 + 30))
    assert shadow.pixels is not read_pixels
    assert (shadow.x, shadow.y) == (x, y) and np.array_equal(shadow.pixels, px)
    # the shadow moved with the layer: more of it to the lower right than before
    before = _placed(type(shadow)(read_pixels, x=read_xy[0], y=read_xy[1]), doc.width, doc.height)
    after = _placed(shadow, doc.width, doc.height)
    cy0, cx0 = (np.argwhere(before[..., 3] > 0).mean(axis=0))
    cy1, cx1 = (np.argwhere(after[..., 3] > 0).mean(axis=0))
    assert cx1 > cx0 + 5 and cy1 > cy0 + 5
    assert session.stack.count() == 1  # the redraw is no undo step of its own
    assert not [s for s in doc.save_losses() if "layer style" in s]  # it follows: nothing stale
    session.stack.undo()
    _settle(qtbot, tab)
    assert (member.x, member.y) == (x0, y0)
    assert shadow.pixels is read_pixels and (shadow.x, shadow.y) == read_xy  # exactly as read
    session.stack.redo()
    _settle(qtbot, tab)
    assert (shadow.x, shadow.y) == (x, y) and np.array_equal(shadow.pixels, px)


@pytest.mark.parametrize("threaded", [False, True])
def test_moving_the_whole_group_moves_its_shadow_exactly(qtbot, window, threaded):
    """Both layers moved by (12, 7) through the session: the shadow is the one read, moved
    (drawn here, or on the worker thread as a big group's is)."""
    tab, doc, style_id, style = _open(qtbot, window)
    if threaded:
        tab.session.style_sync_pixels = 0
    shadow = doc.layer(style_id)
    read = shadow.pixels.copy(), shadow.x, shadow.y
    assert tab.session.move_layers({m: (12, 7) for m in style[1]}, "Move")
    if threaded:
        qtbot.waitUntil(lambda: bool(tab.session._style_jobs))  # on the worker thread
        assert tab.session.move_layers({m: (2, 1) for m in style[1]}, "Move")  # while drawing
    _settle(qtbot, tab)
    moved = (14, 8) if threaded else (12, 7)
    assert (shadow.x, shadow.y) == (read[1] + moved[0], read[2] + moved[1])
    assert np.array_equal(shadow.pixels, read[0])
    tab.session.stack.undo()
    if threaded:
        tab.session.stack.undo()
    _settle(qtbot, tab)
    assert shadow.pixels is doc.source.synthetic[style_id][1]


def test_hiding_a_member_leaves_the_shadow_of_the_rest(qtbot, window):
    tab, doc, style_id, style = _open(qtbot, window)
    shadow = doc.layer(style_id)
    read_pixels = shadow.pixels
    hidden = style[1][0]
    assert tab.session.set_visible(hidden, False)
    _settle(qtbot, tab)
    px, x, y = _expected(lambda d, s: d.remove_layer(s[1][0]))  # ids differ per read
    assert (shadow.x, shadow.y) == (x, y) and np.array_equal(shadow.pixels, px)
    assert int(shadow.pixels[..., 3].astype(np.int64).sum()) < int(read_pixels[..., 3].astype(np.int64).sum())
    tab.session.stack.undo()
    _settle(qtbot, tab)
    assert shadow.pixels is read_pixels

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QTransform, QWheelEvent
from PySide6.QtTest import QTest

from qil_editor.document import BlendMode, Document, Layer, composite
from qil_editor.ui.canvas import CanvasView
from qil_editor.ui.layer_item import QT_BLEND_MODES
from qil_editor.ui.qimage import qimage_to_rgba
from qil_editor.ui.session import DocumentSession
from qil_editor.ui.tasks import TaskRunner
from ui_helpers import rgba


def _random(h, w, seed, opaque=False):
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    if opaque:
        arr[..., 3] = 255
    return arr


@pytest.fixture
def canvas_for(qtbot):
    made = []

    def make(doc: Document):
        session = DocumentSession(doc)
        tasks = TaskRunner()
        view = CanvasView(session, tasks)
        view.snap = False  # these tests check exact drags; snapping has its own test
        qtbot.addWidget(view)
        view.resize(400, 300)
        view.show()
        qtbot.waitExposed(view)
        made.append(tasks)
        return view

    yield make
    for tasks in made:
        tasks.wait()


def _rendered(qtbot, view: CanvasView) -> np.ndarray:
    """The canvas area of the viewport at 100 %, outline hidden."""
    view.set_tool("hand")
    view.setTransform(QTransform())
    view.centerOn(view.doc.width / 2, view.doc.height / 2)
    qtbot.waitUntil(lambda: not view.tasks.busy)
    image = view.viewport().grab().toImage()
    origin = view.mapFromScene(QPointF(0, 0))
    return qimage_to_rgba(image.copy(origin.x(), origin.y(), view.doc.width, view.doc.height))


@pytest.mark.parametrize("mode", ["normal", "multiply", "screen", "overlay", "soft_light", "difference",
                                  "linear_burn", "color", "luminosity"])
def test_canvas_matches_core_compositor(qtbot, canvas_for, mode):
    """QPainter modes and the core-compositor fallback both show what the PSD flattens to."""
    w, h = 64, 48
    doc = Document(w, h, [
        Layer(_random(h, w, 1, opaque=True), name="base"),
        Layer(_random(30, 40, 2), name="blended", x=5, y=7, blend_mode=mode, opacity=0.8),
        Layer(_random(20, 20, 3), name="top", x=30, y=20),
    ])
    view = canvas_for(doc)
    got = _rendered(qtbot, view).astype(int)
    want = composite(doc).astype(int)  # opaque base: the checkerboard never shows
    assert np.abs(got[..., :3] - want[..., :3]).max() <= 3
    uses_core = BlendMode(mode) not in QT_BLEND_MODES
    assert (view._flat_upto >= 0) == uses_core


def test_blend_over_transparency_is_isolated_from_checkerboard(qtbot, canvas_for):
    """A multiply layer over empty canvas shows as itself, not multiplied with the checkerboard."""
    doc = Document(40, 40, [Layer(rgba(40, 40, (200, 60, 60)), blend_mode="multiply")])
    view = canvas_for(doc)
    got = _rendered(qtbot, view)
    assert np.abs(got[5:-5, 5:-5, :3].astype(int) - (200, 60, 60)).max() <= 1


def _press_move_release(view, start: QPointF, end: QPointF, steps: int = 5):
    vp = view.viewport()
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        QTest.mouseMove(vp, QPoint(round(p.x()), round(p.y())))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def test_drag_picks_topmost_opaque_layer_and_is_one_undo_step(qtbot, canvas_for):
    bottom = Layer(rgba(100, 100, (0, 0, 255)), name="bottom")
    top = Layer(rgba(20, 20, (255, 0, 0)), name="top", x=10, y=10)
    view = canvas_for(Document(100, 100, [bottom, top]))
    view.setTransform(QTransform())
    view.auto_select = True
    session = view.session
    session.set_current(bottom.id)
    _press_move_release(view, QPointF(15, 15), QPointF(40, 30))  # on the red square
    assert session.current_layer_id == top.id
    assert (top.x, top.y) == (35, 25) and (bottom.x, bottom.y) == (0, 0)
    assert view.item(top.id).pos() == QPointF(35, 25)
    assert session.stack.count() == 1
    _press_move_release(view, QPointF(80, 80), QPointF(70, 80))  # empty at top: picks the bottom
    assert session.current_layer_id == bottom.id and bottom.x == -10
    assert session.stack.count() == 2  # a second drag is a second step
    session.stack.undo()
    session.stack.undo()
    assert (top.x, top.y, bottom.x) == (10, 10, 0)


def test_nudge_with_arrows_and_shift(qtbot, canvas_for):
    layer = Layer(rgba(10, 10, (0, 255, 0)))
    view = canvas_for(Document(50, 50, [layer]))
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Right)
    QTest.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert (layer.x, layer.y) == (1, 10)


def test_locked_layer_refuses_move(qtbot, canvas_for):
    layer = Layer(rgba(50, 50, (9, 9, 9)), locked=True, name="Logo")
    view = canvas_for(Document(50, 50, [layer]))
    view.setTransform(QTransform())
    with qtbot.waitSignal(view.session.refused) as refused:
        _press_move_release(view, QPointF(10, 10), QPointF(30, 30))
    assert "locked" in refused.args[0] and "Logo" in refused.args[0]
    QTest.keyClick(view, Qt.Key.Key_Left)
    assert (layer.x, layer.y) == (0, 0) and view.session.stack.count() == 0


def test_zoom_fit_actual_wheel_and_pan(qtbot, canvas_for):
    view = canvas_for(Document(2000, 1000, [Layer(rgba(1000, 2000, (50, 50, 50)))]))
    zooms = []
    view.zoomChanged.connect(zooms.append)
    view.fit()
    assert view.zoom < 0.25 and zooms[-1] == pytest.approx(view.zoom)
    view.actual_size()
    assert view.zoom == pytest.approx(1.0)
    center = QPointF(view.viewport().rect().center())
    before = view.mapToScene(center.toPoint())
    wheel = QWheelEvent(center, view.viewport().mapToGlobal(center), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(wheel)
    assert view.zoom == pytest.approx(1.25)
    after = view.mapToScene(center.toPoint())
    assert abs(after.x() - before.x()) <= 1 and abs(after.y() - before.y()) <= 1  # zoom about the cursor
    # middle-button pan
    h0 = view.horizontalScrollBar().value()
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 150))
    QTest.mouseMove(vp, QPoint(150, 150))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(150, 150))
    assert view.horizontalScrollBar().value() == h0 + 50
    # space + left drag pans too, and does not move the layer
    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Space)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(150, 150))
    QTest.mouseMove(vp, QPoint(180, 150))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(180, 150))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() == h0 + 20
    assert view.doc.layers[0].x == 0 and view.session.stack.count() == 0


def test_preview_shows_without_touching_document(qtbot, canvas_for):
    layer = Layer(rgba(30, 30, (255, 0, 0)))
    view = canvas_for(Document(30, 30, [layer]))
    view.set_preview(layer.id, rgba(30, 30, (0, 0, 255)))
    assert _rendered(qtbot, view)[15, 15, 2] == 255
    assert layer.pixels[15, 15, 0] == 255
    view.set_preview(layer.id, None)
    assert _rendered(qtbot, view)[15, 15, 0] == 255


def test_mip_levels_used_when_zoomed_out(qtbot, canvas_for):
    big = np.zeros((1024, 1024, 4), np.uint8)
    big[:, :512] = (255, 255, 255, 255)
    layer = Layer(big)
    view = canvas_for(Document(1024, 1024, [layer]))
    view.set_zoom(0.2)
    view.viewport().grab()
    item = view.item(layer.id)
    assert 4 in item._mips  # 0.2 * 4 = 0.8: drawn from the 1/4 level
    assert item.content_rect().width() == 512  # cropped to the opaque half, still no copy
    assert np.shares_memory(item._crop, layer.pixels)


@pytest.mark.parametrize("top_mode", ["normal", "multiply"])
def test_drag_snapshots_draw_the_same_picture(qtbot, canvas_for, top_mode):
    """While dragging, still layers are drawn from snapshots; the picture must not change."""
    w, h = 64, 48
    layers = [Layer(_random(h, w, 10, opaque=True), name="base")]
    layers += [Layer(_random(20, 24, 11 + i, opaque=i == 3), name=f"L{i}", x=4 * i, y=3 * i)
               for i in range(5)]
    layers += [Layer(_random(16, 16, 20), name="top", x=40, y=25, blend_mode=top_mode),
               Layer(_random(12, 12, 21), name="top2", x=10, y=30)]
    doc = Document(w, h, layers)
    view = canvas_for(doc)
    view.set_tool("move")
    view.setTransform(QTransform())
    view.centerOn(w / 2, h / 2)
    mover = doc.layers[4]  # L3, opaque: the press picks it
    vp = view.viewport()
    start = view.mapFromScene(QPointF(mover.x + 1, mover.y + 1))
    view.session.set_current(mover.id)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    assert view._drag_cache is not None and view.current_tool.active
    QTest.mouseMove(vp, start + QPoint(7, 5))
    QTest.mouseMove(vp, start + QPoint(9, 4))
    assert (mover.x, mover.y) == (12 + 9, 9 + 4)
    view.tools["move"].shows_outline = False  # hide the dashed outline for the comparison
    image = vp.grab().toImage()
    origin = view.mapFromScene(QPointF(0, 0))
    got = qimage_to_rgba(image.copy(origin.x(), origin.y(), w, h)).astype(int)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(9, 4))
    assert view._drag_cache is None
    want = composite(doc).astype(int)
    assert np.abs(got[..., :3] - want[..., :3]).max() <= 3
    assert view.session.stack.count() == 1 and all(view.item(ly.id).isVisible() for ly in doc.layers)

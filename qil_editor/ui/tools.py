"""Canvas tools: each one is a class with press / move / release / cursor.

The canvas routes mouse events to its current tool, except panning (Space
held, the middle button), which the canvas does itself for every tool. A
new tool is one new class registered in :data:`TOOLS`.

Positions are scene (document) coordinates as floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt

from .brush import BrushSettings, next_brush_size  # noqa: F401 (defined there; re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from .canvas import CanvasView


#: how close (screen pixels) an edge or centre must come to a target to snap
SNAP_PX = 6


class Tool:
    """Base class: a tool that does nothing."""

    name = ""
    #: draw the dashed outline of the current layer while this tool is active
    shows_outline = False

    def __init__(self, canvas: "CanvasView") -> None:
        self.canvas = canvas

    @property
    def session(self):
        return self.canvas.session

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.ArrowCursor

    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        """Left button down; True if the tool took the event."""
        return False

    def move(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        return False

    def release(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        return False

    def cancel(self) -> None:
        """Drop any gesture in progress (focus lost, tool switched)."""

    @property
    def active(self) -> bool:
        """True while a gesture (press .. release) is in progress."""
        return False

    @property
    def dragged_layer_id(self) -> str | None:
        """The layer this tool's gesture is moving, if any (its moves keep the drag snapshots)."""
        return None


class HandTool(Tool):
    """Pans; the canvas does the panning (shared with Space and the middle button)."""

    name = "hand"

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.OpenHandCursor


@dataclass
class _Drag:
    layer_id: str
    start: QPointF
    applied_x: int = 0
    applied_y: int = 0
    gesture: int = 0
    several: bool = False  # the whole multi-selection moves
    box: tuple | None = None  # the moving content's box at the press (for snapping)
    targets: tuple | None = None  # (xs, ys) it may snap to


class MoveTool(Tool):
    """Drags the current layer (Photoshop's convention).

    With Auto-Select on, or Ctrl held, the press first picks the topmost
    visible layer with an opaque pixel under the cursor; with it off (the
    default), a drag anywhere moves the selected layer, so a press in a gap
    inside a text does not grab the background. One drag is one undo step.
    """

    name = "move"
    shows_outline = True

    def __init__(self, canvas: "CanvasView") -> None:
        super().__init__(canvas)
        self.auto_select = False
        self._drag: _Drag | None = None

    @property
    def active(self) -> bool:
        return self._drag is not None

    @property
    def dragged_layer_id(self) -> str | None:
        return self._drag.layer_id if self._drag is not None and not self._drag.several else None

    def press(self, pos, modifiers) -> bool:
        session = self.session
        if self.auto_select or modifiers & Qt.KeyboardModifier.ControlModifier:
            picked = session.doc.topmost_at(math.floor(pos.x()), math.floor(pos.y()))
            if picked is not None:
                session.set_current(picked.id)
        layer = session.current_layer
        several = len(session.selected_ids) > 1 or bool(session.selected_group_ids)
        if several and session.selected_layers:  # several layers, or a group row: all of them move
            layer = layer if layer is not None else session.selected_layers[-1]
        elif several:
            session.refused.emit("The selected group has no layers to move.")
            layer = None
        if layer is not None and (several or session.check_editable(layer.id, "move")):
            self._drag = _Drag(layer.id, QPointF(pos), gesture=session.new_gesture(), several=several)
            if self.canvas.snap:
                self._prepare_snap(self._drag, session.selected_layers if several else [layer])
            self.canvas.begin_layer_drag(None if several else layer.id)
        return True

    def _prepare_snap(self, drag: _Drag, moving) -> None:
        from ..document.layer_ops import content_box, snap_targets

        boxes = [b for b in (content_box(ly) for ly in moving) if b is not None]
        if not boxes:
            return
        drag.box = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                    max(b[2] for b in boxes), max(b[3] for b in boxes))
        drag.targets = snap_targets(self.session.doc, [ly.id for ly in moving])

    def move(self, pos, modifiers) -> bool:
        drag = self._drag
        if drag is None:
            return False
        dx = round(pos.x() - drag.start.x())
        dy = round(pos.y() - drag.start.y())
        if drag.box is not None and self.canvas.snap:
            from ..document.layer_ops import snap_offset

            threshold = SNAP_PX / max(self.canvas.zoom, 1e-6)
            dx, dy, gx, gy = snap_offset(drag.box, dx, dy, *drag.targets, threshold)
            self.canvas.set_guides(gx, gy)
        if (dx, dy) != (drag.applied_x, drag.applied_y):
            step = (dx - drag.applied_x, dy - drag.applied_y)
            moved = (self.session.move_selection(*step, drag.gesture) if drag.several
                     else self.session.move_layer(drag.layer_id, *step, drag.gesture))
            if moved:
                drag.applied_x, drag.applied_y = dx, dy
        return True

    def release(self, pos, modifiers) -> bool:
        if self._drag is None:
            return False
        self._drag = None
        self.canvas.set_guides(None, None)
        self.canvas.end_layer_drag()
        return True

    def cancel(self) -> None:
        if self._drag is not None:
            self._drag = None
            self.canvas.set_guides(None, None)
            self.canvas.end_layer_drag()


TOOLS: dict[str, type[Tool]] = {cls.name: cls for cls in (MoveTool, HandTool)}


# ----- free transform --------------------------------------------------------------------------------

HANDLE_PX = 8  # handle size on screen
ROTATE_SNAP_DEG = 15.0


@dataclass
class _Box:
    """The transformed content: its original bounds (document coordinates), placed as a box of
    signed size (w, h) (negative = flipped) centred at (cx, cy), rotated by ``angle`` degrees."""

    src_x: float
    src_y: float
    src_w: float
    src_h: float
    cx: float
    cy: float
    w: float
    h: float
    angle: float = 0.0

    def matrix(self) -> "QTransform":
        """Document coordinates before -> after the transform (Qt's row-vector order)."""
        from PySide6.QtGui import QTransform

        t = QTransform()
        t.translate(self.cx, self.cy)
        t.rotate(self.angle)
        t.scale(self.w / self.src_w, self.h / self.src_h)
        t.translate(-(self.src_x + self.src_w / 2), -(self.src_y + self.src_h / 2))
        return t

    def local(self, pos: QPointF) -> QPointF:
        """A document point in the box's unrotated frame, relative to its centre."""
        a = math.radians(-self.angle)
        dx, dy = pos.x() - self.cx, pos.y() - self.cy
        return QPointF(dx * math.cos(a) - dy * math.sin(a), dx * math.sin(a) + dy * math.cos(a))

    def to_doc(self, local: QPointF) -> QPointF:
        a = math.radians(self.angle)
        return QPointF(self.cx + local.x() * math.cos(a) - local.y() * math.sin(a),
                       self.cy + local.x() * math.sin(a) + local.y() * math.cos(a))

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the placed box in the document (rotated: around it)."""
        corners = [self.to_doc(QPointF(sx * self.w / 2, sy * self.h / 2)) for sx in (-1, 1) for sy in (-1, 1)]
        xs, ys = [p.x() for p in corners], [p.y() for p in corners]
        return min(xs), min(ys), max(xs), max(ys)

    def handles(self) -> dict[tuple[int, int], QPointF]:
        """(sx, sy) in {-1, 0, 1}² minus the centre -> the handle's document position."""
        return {(sx, sy): self.to_doc(QPointF(sx * self.w / 2, sy * self.h / 2))
                for sx in (-1, 0, 1) for sy in (-1, 0, 1) if (sx, sy) != (0, 0)}


class TransformTool(Tool):
    """Free transform (Ctrl+T) of the current layer, or of the selected layers and groups
    together: drag a handle to scale (Shift keeps the ratio, Alt scales about the centre), drag
    inside to move, outside to rotate (Shift: 15° steps); flip horizontally / vertically. With
    View > Snap on, a dragged edge and a moved box snap to the canvas and the other layers, with
    the move tool's guides. Enter applies, Esc cancels. The canvas shows the items transformed
    (several Normal layers zoomed out: one cached picture of them, ``canvas.transform_picture``);
    applying resamples once from the original pixels, as one undo step."""

    name = "transform"

    def __init__(self, canvas: "CanvasView") -> None:
        super().__init__(canvas)
        self.layer_ids: list[str] = []
        self.group_ids: list[str] = []  # groups transformed with their layers (their masks go along)
        self.box: _Box | None = None
        self.previous_tool = "move"
        self._grab: tuple | None = None  # (kind, handle, start pos, box at press)
        self._targets: tuple | None = None  # (xs, ys) the box may snap to, for this drag

    @property
    def layer_id(self) -> str | None:
        return self.layer_ids[0] if self.layer_ids else None

    @property
    def active(self) -> bool:
        return self._grab is not None

    # ----- session ----------------------------------------------------------------------
    def begin(self, layer_ids, group_ids=()) -> bool:
        from ..document.layer_ops import content_box, union_box

        doc = self.session.doc
        layers = [doc.layer(lid) for lid in layer_ids]
        boxes = {ly.id: b for ly in layers if (b := content_box(ly)) is not None}
        if not boxes:
            what = f"“{layers[0].name}” is empty" if len(layers) == 1 else "The selected layers are empty"
            self.session.refused.emit(f"{what}: there is nothing to transform.")
            return False
        left, top, right, bottom = union_box(boxes.values())
        self.layer_ids = [ly.id for ly in layers if ly.id in boxes]  # empty layers stay as they are
        self.group_ids = list(group_ids)
        self.box = _Box(left, top, right - left, bottom - top,
                        (left + right) / 2, (top + bottom) / 2, right - left, bottom - top)
        self._show()
        return True

    def end(self) -> None:
        self.canvas.transform_picture(None, None)
        for lid in self.layer_ids:
            self.canvas.set_item_transform(lid, None)
        if self._grab is not None:
            self.canvas.set_guides(None, None)
        self.layer_ids, self.group_ids, self.box, self._grab = [], [], None, None

    def _show(self) -> None:
        from PySide6.QtGui import QTransform

        matrix = self.box.matrix()
        for lid in self.layer_ids:
            layer = self.session.doc.layer(lid)
            # an item draws layer-local pixels at its pos (layer.x, layer.y)
            self.canvas.set_item_transform(lid, QTransform.fromTranslate(layer.x, layer.y) * matrix
                                           * QTransform.fromTranslate(-layer.x, -layer.y))
        # several big layers: one cached picture moved instead of N items redrawn per event
        self.canvas.transform_picture(self.layer_ids if len(self.layer_ids) > 1 else None, matrix)
        # layers the core compositor draws (items hidden) are shown by recompositing them warped
        self.canvas.preview_transform(self.layer_ids, self.group_ids, [[matrix.m11(), matrix.m21(), matrix.dx()],
                                                                       [matrix.m12(), matrix.m22(), matrix.dy()]])

    def flip(self, horizontal: bool) -> None:
        if self.box is None:
            return
        if horizontal:
            self.box.w = -self.box.w
        else:
            self.box.h = -self.box.h
        self._show()

    # ----- mouse ----------------------------------------------------------------------------
    def _hit(self, pos: QPointF):
        """('scale', handle) | ('move', None) | ('rotate', None)."""
        zoom = max(self.canvas.zoom, 1e-6)
        reach = HANDLE_PX / zoom
        for handle, at in self.box.handles().items():
            if abs(at.x() - pos.x()) <= reach and abs(at.y() - pos.y()) <= reach:
                return "scale", handle
        local = self.box.local(pos)
        if abs(local.x()) <= abs(self.box.w) / 2 and abs(local.y()) <= abs(self.box.h) / 2:
            return "move", None
        return "rotate", None

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.SizeAllCursor

    def press(self, pos, modifiers) -> bool:
        if self.box is None:
            return False
        kind, handle = self._hit(pos)
        self._grab = (kind, handle, QPointF(pos), _Box(**vars(self.box)))
        self._targets = None
        if kind != "rotate" and self.canvas.snap:
            from ..document.layer_ops import snap_targets

            self._targets = snap_targets(self.session.doc, self.layer_ids)
        return True

    def move(self, pos, modifiers) -> bool:
        if self._grab is None:
            if self.box is not None:  # hover: a cursor that says what a drag would do
                kind, handle = self._hit(pos)
                shapes = {"move": Qt.CursorShape.SizeAllCursor, "rotate": Qt.CursorShape.CrossCursor}
                shape = shapes.get(kind) or (Qt.CursorShape.SizeHorCursor if handle[1] == 0 else
                                             Qt.CursorShape.SizeVerCursor if handle[0] == 0 else
                                             Qt.CursorShape.SizeFDiagCursor if handle[0] == handle[1]
                                             else Qt.CursorShape.SizeBDiagCursor)
                self.canvas.viewport().setCursor(shape)
            return False
        kind, handle, start, old = self._grab
        box = _Box(**vars(old))
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        alt = bool(modifiers & Qt.KeyboardModifier.AltModifier)
        guides = (None, None)
        snapping = self._targets is not None and self.canvas.snap
        if kind == "move":
            box.cx += pos.x() - start.x()
            box.cy += pos.y() - start.y()
            if snapping:
                guides = self._snap_move(box)
        elif kind == "rotate":
            a0 = math.degrees(math.atan2(start.y() - old.cy, start.x() - old.cx))
            a1 = math.degrees(math.atan2(pos.y() - old.cy, pos.x() - old.cx))
            angle = old.angle + a1 - a0
            box.angle = round(angle / ROTATE_SNAP_DEG) * ROTATE_SNAP_DEG if shift else angle
        else:
            self._scale(box, old, handle, old.local(pos), shift, alt)
            if snapping:
                guides = self._snap_scale(box, old, handle, pos, shift, alt)
        self.canvas.set_guides(*guides)
        self.box = box
        self._show()
        return True

    def _threshold(self) -> float:
        return SNAP_PX / max(self.canvas.zoom, 1e-6)

    def _snap_move(self, box: _Box) -> tuple:
        """Shift the moved box so its nearest edge or centre lies on a target; the guides."""
        from ..document.layer_ops import nearest_snap

        left, top, right, bottom = box.bounds()
        xs, ys = self._targets
        threshold = self._threshold()
        gx = nearest_snap((left, (left + right) / 2, right), xs, threshold)
        gy = nearest_snap((top, (top + bottom) / 2, bottom), ys, threshold)
        if gx is not None:
            box.cx += gx[0]
        if gy is not None:
            box.cy += gy[0]
        return (gx[1] if gx else None, gy[1] if gy else None)

    def _snap_scale(self, box: _Box, old: _Box, handle, pos: QPointF, shift: bool, alt: bool) -> tuple:
        """Move the pointer so the dragged edge(s) land on a target and scale again. Only while
        the box is upright (a rotated edge is not a vertical or horizontal line); the guides are
        the targets the edges really lie on afterwards (Shift may let the other axis lead)."""
        from ..document.layer_ops import nearest_snap

        quarter = (box.angle % 90.0)
        if min(quarter, 90.0 - quarter) > 1e-6:
            return None, None
        # which document axis each dragged side moves along (a quarter turn swaps them)
        upright = abs(math.cos(math.radians(box.angle))) > 0.5
        axes = set()
        if handle[0]:
            axes.add(0 if upright else 1)
        if handle[1]:
            axes.add(1 if upright else 0)
        def coord(point: QPointF, axis: int) -> float:
            return point.x() if axis == 0 else point.y()

        at = box.handles()[handle]
        threshold = self._threshold()
        hits = {axis: hit for axis in axes
                if (hit := nearest_snap((coord(at, axis),), self._targets[axis], threshold)) is not None}
        if not hits:
            return None, None
        if shift:
            # one factor for both sides: the nearest snap sets it (the other side follows the ratio)
            axis, (_diff, target) = min(hits.items(), key=lambda kv: abs(kv[1][0]))
            fixed = QPointF(box.cx, box.cy) if alt else box.handles()[(-handle[0], -handle[1])]
            edge, anchor = coord(at, axis), coord(fixed, axis)
            ratio = (target - anchor) / (edge - anchor) if abs(edge - anchor) > 1e-9 else 0.0
            if ratio <= 0:
                return None, None
            factor = abs(box.w / old.w) * ratio

            def reach(side: int, size: float) -> float:  # the pointer (box-local) that gives ``size``
                side = int(side * math.copysign(1, size))
                new = factor * abs(size)
                return side * (new / 2 if alt else new - abs(size) / 2)

            q = QPointF(reach(handle[0], old.w), reach(handle[1], old.h))
        else:  # each dragged side on its own: move the pointer by the snap
            q = old.local(QPointF(pos.x() + hits.get(0, (0.0,))[0], pos.y() + hits.get(1, (0.0,))[0]))
        self._scale(box, old, handle, q, shift, alt)
        at = box.handles()[handle]
        guides = [None, None]
        for axis in axes:
            value = (at.x(), at.y())[axis]
            on = [t for t in self._targets[axis] if abs(t - value) < 1e-6]
            if on:
                guides[axis] = on[0]
        return tuple(guides)

    @staticmethod
    def _scale(box: _Box, old: _Box, handle, q: QPointF, keep_ratio: bool, from_centre: bool) -> None:
        # a handle sits at (sx * w/2, sy * h/2): with a flipped (negative) size it is on the
        # other side of the box, so work with the side it is really on
        sx = int(handle[0] * math.copysign(1, old.w))
        sy = int(handle[1] * math.copysign(1, old.h))
        half_w, half_h = old.w / 2, old.h / 2
        # the opposite side stays put (or the centre, with Alt); signed sizes allow flipping over
        new_w, new_h = old.w, old.h
        if sx:
            edge = q.x() * sx if from_centre else q.x() * sx + abs(half_w)
            new_w = math.copysign(1, old.w) * (2 * edge if from_centre else edge)
        if sy:
            edge = q.y() * sy if from_centre else q.y() * sy + abs(half_h)
            new_h = math.copysign(1, old.h) * (2 * edge if from_centre else edge)
        if keep_ratio:
            factor = max(abs(new_w / old.w) if sx else 0, abs(new_h / old.h) if sy else 0)
            sign_w = math.copysign(1, new_w) if sx else math.copysign(1, old.w)
            sign_h = math.copysign(1, new_h) if sy else math.copysign(1, old.h)
            new_w, new_h = sign_w * abs(old.w) * factor, sign_h * abs(old.h) * factor
        if abs(new_w) < 1:
            new_w = math.copysign(1, new_w or 1)
        if abs(new_h) < 1:
            new_h = math.copysign(1, new_h or 1)
        box.w, box.h = new_w, new_h
        if not from_centre:  # the opposite edge (or corner) stays where it was
            def centre(sign: int, new: float, was: float) -> float:
                if not sign:
                    return 0.0
                flipped = math.copysign(1, new) != math.copysign(1, was)
                anchor = -sign * abs(was) / 2
                return anchor + sign * abs(new) / 2 * (-1 if flipped else 1)

            at = old.to_doc(QPointF(centre(sx, new_w, old.w), centre(sy, new_h, old.h)))
            box.cx, box.cy = at.x(), at.y()

    def release(self, pos, modifiers) -> bool:
        self._grab = None
        self.canvas.set_guides(None, None)
        return True

    def cancel(self) -> None:
        if self._grab is not None:
            self._grab = None
            self.canvas.set_guides(None, None)


TOOLS["transform"] = TransformTool


# ----- brush and eraser --------------------------------------------------------------------------------

@dataclass
class _StrokeState:
    layer_id: str
    stroke: object  # document.paint.Stroke
    target: str  # "mask" or "pixels"
    shown: object  # the array the layer's item draws while painting (written in place)
    plane_origin: tuple[int, int]
    layer_origin: tuple[int, int]  # where ``shown`` sits in the document
    mask: object  # the layer's mask at the press
    gesture_pixels: object  # the layer's pixels at the press (the stroke is dropped if they change)


class PaintTool(Tool):
    """A tool that paints one stroke per press .. release (brush, eraser).

    The stroke is rendered into a copy of its target; each mouse event
    updates the canvas only in the dabs' rectangle (the layer's item draws
    the copy, written in place); the release puts the result into the
    document as one undo step."""

    verb = "paint on"  # for "Unlock it to <verb> it."

    def __init__(self, canvas: "CanvasView") -> None:
        super().__init__(canvas)
        self._state: _StrokeState | None = None
        self._line_from: QPointF | None = None  # where the last stroke ended (Shift-click draws a line)

    @property
    def settings(self) -> BrushSettings:
        return self.canvas.brush

    @property
    def active(self) -> bool:
        return self._state is not None

    @property
    def stroke_layer_id(self) -> str | None:
        return self._state.layer_id if self._state is not None else None

    def cursor(self):
        return brush_cursor(self.settings.size * self.canvas.zoom)

    def _target(self, layer) -> tuple[str, str] | None:
        """(target, stroke mode) for a press on ``layer``; None refuses (with a status line)."""
        raise NotImplementedError

    def press(self, pos, modifiers) -> bool:
        from ..document.paint import Stroke, masked_pixels, paintable_mask, paintable_pixels

        session = self.session
        layer = session.current_layer
        if layer is None and getattr(session, "current_group", None) is not None:
            return self._press_group(session.current_group, pos, modifiers)
        if layer is None or not session.check_editable(layer.id, self.verb):
            return True
        if not layer.visible:
            session.refused.emit(f"“{layer.name}” is hidden. Show it to paint on it.")
            return True
        hidden = [g for g in session.doc.layer_chain(layer) if not g.visible]
        if hidden:  # painting where nothing shows would be blind
            session.refused.emit(f"“{layer.name}” is in the hidden group “{hidden[0].name}”. "
                                 "Show the group to paint on it.")
            return True
        chosen = self._target(layer)
        if chosen is None:
            return True
        target, mode = chosen
        doc = session.doc
        canvas_box = (0, 0, doc.width, doc.height)
        s = self.settings
        if target == "mask":
            plane, px, py = paintable_mask(layer.mask, canvas_box)
            stroke = Stroke(plane, (px, py), mode, s.size, s.hardness, s.opacity)
            shown = self.canvas.shown_array(layer, copy=True)  # what the canvas shows; written in place
            layer_origin = (layer.x, layer.y)
        else:
            if mode == "paint":
                plane, px, py = paintable_pixels(layer, canvas_box)
            else:
                plane, px, py = layer.pixels, layer.x, layer.y
            stroke = Stroke(plane, (px, py), mode, s.size, s.hardness, s.opacity, color=(s.foreground,) * 3)
            layer_origin = (px, py)
            if layer.mask is None or layer.mask.disabled:
                shown = stroke.result
            elif (px, py) == (layer.x, layer.y):  # not grown: a copy of what the canvas shows
                shown = self.canvas.shown_array(layer, copy=True)
            else:
                from ..document import Layer

                shown = masked_pixels(Layer(plane, x=px, y=py, mask=layer.mask))
                shown = shown.copy() if shown is plane else shown
        self._state = _StrokeState(layer.id, stroke, target, shown, (px, py), layer_origin, layer.mask,
                                   layer.pixels)
        if mode == "paint":
            box = (0, 0, shown.shape[1], shown.shape[0])  # anywhere may get paint
        else:  # hiding, revealing and erasing never reach beyond the layer's own pixels
            from .qimage import alpha_bbox

            box = alpha_bbox(layer.pixels) or (0, 0, 0, 0)
        self.canvas.begin_stroke(layer.id, shown, layer_origin, box, self._snapshot)
        if modifiers & Qt.KeyboardModifier.ShiftModifier and self._line_from is not None:
            self._paint_to(self._line_from)  # Shift-click: a straight line from the last stroke's end
        self._paint_to(pos)
        return True

    def _press_group(self, group, pos, modifiers) -> bool:
        """A group row is current: the brush paints the group's mask (groups have no pixels)."""
        from ..document.paint import Stroke, paintable_mask

        if self.name != "brush" or group.mask is None:
            what = "erase" if self.name == "eraser" else "paint on"
            self.session.refused.emit(f"“{group.name}” is a group: it has no pixels to {what}. "
                                      + ("Select a layer." if self.name == "eraser" or group.mask is not None
                                         else "Add a mask to it (Layer > Layer Mask) to paint on that."))
            return True
        if not group.visible:
            self.session.refused.emit(f"“{group.name}” is hidden. Show it to paint on its mask.")
            return True
        doc = self.session.doc
        plane, px, py = paintable_mask(group.mask, (0, 0, doc.width, doc.height))
        s = self.settings
        stroke = Stroke(plane, (px, py), "hide" if s.foreground < 128 else "reveal", s.size, s.hardness, s.opacity)
        self._state = _StrokeState(group.id, stroke, "group mask", None, (px, py), (px, py), group.mask, None)
        inside = [i for i, ly in enumerate(doc.layers) if group.id in [g.id for g in doc.layer_chain(ly)]]
        self.canvas.begin_stroke(group.id, None, (px, py), (0, 0, 0, 0), self._snapshot,
                                 flat_index=max(inside, default=-1))
        if modifiers & Qt.KeyboardModifier.ShiftModifier and self._line_from is not None:
            self._paint_to(self._line_from)
        self._paint_to(pos)
        return True

    def _snapshot(self, region):
        """The layer as the stroke has it so far, over a document region (copies: for the pool)."""
        from dataclasses import replace as dc_replace

        state = self._state
        if state.target == "group mask":
            px, py = state.plane_origin
            result = state.stroke.result
            l, t = max(0, region[0] - px), max(0, region[1] - py)
            r, b = min(result.shape[1], region[2] - px), min(result.shape[0], region[3] - py)
            part = np.array(result[t:b, l:r]) if r > l and b > t else result[:0, :0].copy()
            group = self.session.doc.group(state.layer_id)
            return group.copy(mask=dc_replace(state.mask, pixels=part, x=px + l, y=py + t))
        layer = self.session.doc.layer(state.layer_id)
        result = state.stroke.result
        px, py = state.plane_origin
        pad = int(np.ceil(3.0 * state.mask.feather)) + 2 if state.target == "mask" and state.mask.feather else 0
        l, t = max(0, region[0] - pad - px), max(0, region[1] - pad - py)
        r, b = min(result.shape[1], region[2] + pad - px), min(result.shape[0], region[3] + pad - py)
        part = np.array(result[t:b, l:r]) if r > l and b > t else result[:0, :0].copy()
        if state.target == "mask":
            return layer.copy(mask=dc_replace(state.mask, pixels=part, x=px + l, y=py + t))
        return layer.copy(pixels=part, x=px + l, y=py + t)

    def _paint_to(self, pos) -> None:
        from ..document.paint import mask_coverage

        state = self._state
        box = state.stroke.to(pos.x(), pos.y())
        if box is None:
            return
        if state.target == "group mask":  # drawn by the core compositor: the canvas recomposites
            self.canvas.refresh_stroke(state.layer_id, box)
            return
        px, py = state.plane_origin
        lx, ly = state.layer_origin
        shown = state.shown
        # the changed box in the shown array's coordinates, clipped to it
        l, t = max(0, box[0] + px - lx), max(0, box[1] + py - ly)
        r, b = min(shown.shape[1], box[2] + px - lx), min(shown.shape[0], box[3] + py - ly)
        if r <= l or b <= t:
            return
        doc_box = (l + lx, t + ly, r + lx, b + ly)
        if state.target == "mask":
            layer = self.session.doc.layer(state.layer_id)
            cov = mask_coverage(state.stroke.result, px, py, state.mask, doc_box)
            if state.mask.disabled:
                cov[...] = 1.0
            shown[t:b, l:r, 3] = np.rint(layer.pixels[t:b, l:r, 3] * cov).astype(np.uint8)
        elif shown is not state.stroke.result:  # pixels of a masked layer: show them masked
            result = state.stroke.result[t:b, l:r]
            cov = state.mask.coverage(doc_box)
            shown[t:b, l:r, :3] = result[..., :3]
            shown[t:b, l:r, 3] = result[..., 3] if cov is None else np.rint(result[..., 3] * cov).astype(np.uint8)
        self.canvas.refresh_stroke(state.layer_id, (l, t, r, b))

    def move(self, pos, modifiers) -> bool:
        if self._state is None:
            return False
        self._paint_to(pos)
        return True

    def release(self, pos, modifiers) -> bool:
        state, self._state = self._state, None
        if state is None:
            return False
        self._line_from = QPointF(pos)
        self.canvas.end_stroke(state.layer_id, commit=False)
        stroke = state.stroke
        if stroke.dirty is None or np.array_equal(stroke.result[stroke.dirty[1]:stroke.dirty[3],
                                                                stroke.dirty[0]:stroke.dirty[2]],
                                                  stroke.base[stroke.dirty[1]:stroke.dirty[3],
                                                              stroke.dirty[0]:stroke.dirty[2]]):
            self.canvas.show_layer(state.layer_id)  # nothing changed (erasing nothing): no undo step
            return True
        if state.target == "group mask":
            self._commit_group(state)
            return True
        try:
            layer = self.session.doc.layer(state.layer_id)
        except KeyError:
            return True
        if layer.pixels is not state.gesture_pixels or layer.mask is not state.mask:
            self.canvas.show_layer(state.layer_id)  # changed under the stroke (undo...): drop it
            return True
        self._commit(layer, state)
        return True

    def _commit(self, layer, state: _StrokeState) -> None:
        from dataclasses import replace as dc_replace

        from ..document import ReplacePixels
        from ..document.layer_ops import SetLayerMask
        from ..document.paint import trimmed_mask

        result = state.stroke.finished()
        state.shown.flags.writeable = False
        px, py = state.plane_origin
        if state.target == "mask":
            mask = trimmed_mask(dc_replace(state.mask, pixels=result, x=px, y=py))
            self.canvas.remember_shown(layer.pixels, mask, state.shown)
            text = "Brush on mask: reveal" if state.stroke.mode == "reveal" else "Brush on mask: hide"
            self.session.push(SetLayerMask(layer.id, mask, text))
        else:
            self.canvas.remember_shown(result, layer.mask, state.shown)
            text = "Eraser" if state.stroke.mode == "erase" else "Brush"
            self.session.push(ReplacePixels(layer.id, result, px, py, text=text))

    def _commit_group(self, state: _StrokeState) -> None:
        from dataclasses import replace as dc_replace

        from ..document import SetGroupProperties
        from ..document.paint import trimmed_mask

        try:
            group = self.session.doc.group(state.layer_id)
        except KeyError:
            return
        if group.mask is not state.mask:
            self.canvas.show_layer(state.layer_id)  # changed under the stroke: drop it
            return
        px, py = state.plane_origin
        cmd = SetGroupProperties(group.id, mask=trimmed_mask(dc_replace(state.mask, pixels=state.stroke.finished(),
                                                                        x=px, y=py)))
        cmd.text = "Brush on group mask: " + ("reveal" if state.stroke.mode == "reveal" else "hide")
        self.session.push(cmd)

    def cancel(self) -> None:
        state, self._state = self._state, None
        if state is not None:
            self.canvas.end_stroke(state.layer_id, commit=False)
            self.canvas.show_layer(state.layer_id)


class BrushTool(PaintTool):
    """B: on a layer mask, black hides and white reveals (X swaps); on pixels, paints the colour.
    Shift-click paints a straight line from where the last stroke ended."""

    name = "brush"
    verb = "paint on"

    def _target(self, layer):
        if self.session_edits_mask(layer):
            return "mask", ("hide" if self.settings.foreground < 128 else "reveal")
        return "pixels", "paint"

    def session_edits_mask(self, layer) -> bool:
        return layer.mask is not None and getattr(self.session, "edit_mask", False)


class EraserTool(PaintTool):
    """E: erases the layer's pixels (their alpha), whatever the brush edits."""

    name = "eraser"
    verb = "erase"

    def _target(self, layer):
        if not layer.pixels[..., 3].any():
            self.session.refused.emit(f"“{layer.name}” has no pixels to erase.")
            return None
        return "pixels", "erase"


TOOLS["brush"] = BrushTool
TOOLS["eraser"] = EraserTool

#: the widest brush outline drawn as a cursor (on screen px); wider ones the canvas draws itself
CURSOR_MAX = 256


def brush_cursor(diameter: float):
    """A circle the brush's size on screen (a crosshair too when it is tiny); a brush wider than
    CURSOR_MAX gets a crosshair, and the canvas outlines it (``CanvasView._move_brush_ring``)."""
    from PySide6.QtGui import QColor, QCursor, QPainter, QPen, QPixmap

    if diameter > CURSOR_MAX:
        return QCursor(Qt.CursorShape.CrossCursor)
    d = int(round(max(3.0, diameter)))
    side = d + 4
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for color, width in ((QColor(0, 0, 0, 200), 3), (QColor(255, 255, 255, 230), 1)):
        painter.setPen(QPen(color, width))
        painter.drawEllipse(2, 2, d - 1, d - 1)
        if d < 12:
            c = side // 2
            painter.drawLine(c - 5, c, c + 5, c)
            painter.drawLine(c, c - 5, c, c + 5)
    painter.end()
    # not cached in a module global: Qt objects alive after the application is gone crash at exit
    return QCursor(pixmap, side // 2, side // 2)

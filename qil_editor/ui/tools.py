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

from PySide6.QtCore import QPointF, Qt

if TYPE_CHECKING:  # pragma: no cover
    from .canvas import CanvasView


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
        return self._drag.layer_id if self._drag is not None else None

    def press(self, pos, modifiers) -> bool:
        session = self.session
        if self.auto_select or modifiers & Qt.KeyboardModifier.ControlModifier:
            picked = session.doc.topmost_at(math.floor(pos.x()), math.floor(pos.y()))
            if picked is not None:
                session.set_current(picked.id)
        layer = session.current_layer
        if layer is not None and session.check_editable(layer.id, "move"):
            self._drag = _Drag(layer.id, QPointF(pos), gesture=session.new_gesture())
            self.canvas.begin_layer_drag(layer.id)
        return True

    def move(self, pos, modifiers) -> bool:
        drag = self._drag
        if drag is None:
            return False
        dx = round(pos.x() - drag.start.x())
        dy = round(pos.y() - drag.start.y())
        if (dx, dy) != (drag.applied_x, drag.applied_y):
            if self.session.move_layer(drag.layer_id, dx - drag.applied_x, dy - drag.applied_y, drag.gesture):
                drag.applied_x, drag.applied_y = dx, dy
        return True

    def release(self, pos, modifiers) -> bool:
        if self._drag is None:
            return False
        self._drag = None
        self.canvas.end_layer_drag()
        return True

    def cancel(self) -> None:
        if self._drag is not None:
            self._drag = None
            self.canvas.end_layer_drag()


TOOLS: dict[str, type[Tool]] = {cls.name: cls for cls in (MoveTool, HandTool)}

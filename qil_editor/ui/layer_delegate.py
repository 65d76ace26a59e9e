"""Paints one layer row and handles clicks on its eye and lock.

Row layout, left to right: eye | thumbnail over a checkerboard (the canvas
shape, with the layer at its offset) | name and "Blend · opacity" | lock.
Clicking the eye toggles visibility, Alt-click shows only that layer (and
Alt-click again shows all); clicking the lock toggles it; double-click on
the name renames (an inline line edit).

A group row: eye | disclosure arrow | folder | name and "Blend · opacity";
rows inside a group are indented one step per level (the eyes stay in one
column, as in Photoshop). A click on the arrow collapses or expands it.
Rows hidden by a hidden group are drawn dimmed, their own eye unchanged.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QLineEdit, QStyledItemDelegate

from ..document import BlendMode
from .icons import icon
from .layer_model import (BlendModeRole, CanvasSizeRole, CollapsedRole, DepthRole, GroupRole, IsGroupRole,
                          ItemIdRole, LayerRole, LockedRole, OpacityRole, ShownRole, ThumbnailRole, VisibleRole)
from .qimage import checker_brush, checker_pixmap
from .thumbnails import THUMB_BOX

ROW_HEIGHT = THUMB_BOX + 12
EYE_W = 30
LOCK_W = 26
PAD = 6
INDENT = 16  # per group level
ARROW_W = 16  # a group's disclosure arrow
FOLDER_W = 30


def _state_flag():
    """``QStyle.StateFlag``, imported at the first row's paint: creating PySide's QStyle type
    (all its enums) costs ~7 ms, which the empty window's first frame does not need."""
    from PySide6.QtWidgets import QStyle

    return QStyle.StateFlag


def _font_type():
    """``QFont``, imported at the first row's paint (its type's enums: ~1 ms of the start)."""
    from PySide6.QtGui import QFont

    return QFont


class LayerDelegate(QStyledItemDelegate):
    eyeClicked = Signal(str, bool)  # layer or group id, alt held
    lockClicked = Signal(str)
    disclosureClicked = Signal(str)  # group id: collapse or expand

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._eye = icon("eye")
        self._eye_off = icon("eye-off")
        self._lock = icon("lock")
        self._checkers: tuple | None = None  # (plain, dark): drawn at the first row's paint

    def _checker_brushes(self) -> tuple:
        """The thumbnails' checkerboards, plain and dark (under light content such as white
        text); painted on first use, since an empty window's first frame shows no row."""
        if self._checkers is None:
            dark = checker_brush(4)
            dark.setTexture(checker_pixmap(4, "#3a3a3a", "#2c2c2c"))
            self._checkers = (checker_brush(4), dark)
        return self._checkers

    # ----- geometry ----------------------------------------------------------------
    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(200, ROW_HEIGHT)

    @staticmethod
    def eye_rect(rect: QRect) -> QRect:
        return QRect(rect.left(), rect.top(), EYE_W, rect.height())

    @staticmethod
    def lock_rect(rect: QRect) -> QRect:
        return QRect(rect.right() - LOCK_W, rect.top(), LOCK_W, rect.height())

    @staticmethod
    def indent(rect: QRect, depth: int) -> int:
        """How far a row ``depth`` groups deep is indented: INDENT per level, less when deep
        nesting would leave the name less than about 100 px (ten nested folders in a narrow dock)."""
        if depth <= 0:
            return 0
        room = rect.width() - EYE_W - THUMB_BOX - PAD * 2 - LOCK_W - 100
        return depth * max(4, min(INDENT, room // depth))

    @classmethod
    def thumb_rect(cls, rect: QRect, depth: int = 0) -> QRect:
        return QRect(rect.left() + EYE_W + cls.indent(rect, depth), rect.top() + (rect.height() - THUMB_BOX) // 2,
                     THUMB_BOX, THUMB_BOX)

    @classmethod
    def name_rect(cls, rect: QRect, depth: int = 0, group: bool = False) -> QRect:
        left = rect.left() + EYE_W + cls.indent(rect, depth) + (
            ARROW_W + FOLDER_W + PAD if group else THUMB_BOX + PAD * 2)
        return QRect(left, rect.top(), max(10, rect.right() - LOCK_W - left), rect.height())

    @classmethod
    def arrow_rect(cls, rect: QRect, depth: int = 0) -> QRect:
        """A group row's disclosure arrow."""
        return QRect(rect.left() + EYE_W + cls.indent(rect, depth), rect.top(), ARROW_W, rect.height())

    @classmethod
    def name_rect_of(cls, rect: QRect, index: QModelIndex) -> QRect:
        return cls.name_rect(rect, int(index.data(DepthRole) or 0), bool(index.data(IsGroupRole)))

    # ----- painting ------------------------------------------------------------------
    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        painter.save()
        rect = option.rect
        palette = option.palette
        state = _state_flag()
        selected = bool(option.state & state.State_Selected)
        if selected:
            painter.fillRect(rect, palette.highlight())
        elif option.state & state.State_MouseOver:
            painter.fillRect(rect, palette.alternateBase())
        painter.setPen(QPen(palette.shadow().color(), 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())

        visible = bool(index.data(VisibleRole))
        eye = self.eye_rect(rect)
        if visible:
            self._eye.paint(painter, eye.adjusted(7, 0, -5, 0))
        else:  # crossed-out eye, dimmed but plainly there
            painter.setOpacity(0.6)
            self._eye_off.paint(painter, eye.adjusted(7, 0, -5, 0))
            painter.setOpacity(1.0)

        depth = int(index.data(DepthRole) or 0)
        group = bool(index.data(IsGroupRole))
        shown = index.data(ShownRole)
        shown = visible if shown is None else bool(shown) and visible  # a hidden group dims its rows
        if group:
            self._paint_group_icons(painter, rect, depth, bool(index.data(CollapsedRole)), palette, shown)
            from .masks import paint_group_mask_thumbnail  # the group's mask after the folder (ui/masks.py)

            mask_w = paint_group_mask_thumbnail(painter, self.name_rect(rect, depth, True).left(), rect,
                                                index.data(GroupRole), index.data(CanvasSizeRole),
                                                getattr(index.model(), "session", None))
        else:
            self._paint_thumbnail(painter, self.thumb_rect(rect, depth), index, shown)
            from .masks import paint_mask_thumbnail  # the layer mask beside the thumbnail (ui/masks.py)

            mask_w = paint_mask_thumbnail(painter, self.thumb_rect(rect, depth), index.data(LayerRole),
                                          index.data(CanvasSizeRole), getattr(index.model(), "session", None))

        name_r = self.name_rect(rect, depth, group).adjusted(mask_w, 0, 0, 0)
        text_color = palette.highlightedText().color() if selected else palette.text().color()
        if not shown:
            text_color = QColor(text_color)
            text_color.setAlpha(120)
        QFont = _font_type()  # noqa: N806 (the class)
        font = QFont(option.font)
        painter.setFont(font)
        painter.setPen(text_color)
        top = QRect(name_r.left(), name_r.top() + 6, name_r.width(), name_r.height() // 2 - 4)
        name = option.fontMetrics.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, name_r.width())
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        mode = index.data(BlendModeRole)
        opacity = index.data(OpacityRole) or 0.0
        label = "Pass Through" if mode is None else BlendMode.parse(mode).label
        sub = f"{label} · {round(opacity * 100)} %"
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        painter.setFont(small)
        sub_color = QColor(text_color)
        sub_color.setAlpha(150 if shown else 90)
        painter.setPen(sub_color)
        bottom = QRect(name_r.left(), name_r.center().y() + 1, name_r.width(), name_r.height() // 2 - 6)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, sub)

        if group:
            pass  # groups have no lock of their own
        elif index.data(LockedRole):
            self._lock.paint(painter, self.lock_rect(rect).adjusted(4, 0, -6, 0))
        elif option.state & state.State_MouseOver:  # show where to click to lock
            painter.setOpacity(0.3)
            self._lock.paint(painter, self.lock_rect(rect).adjusted(4, 0, -6, 0))
            painter.setOpacity(1.0)
        painter.restore()

    def _paint_group_icons(self, painter: QPainter, rect: QRect, depth: int, collapsed: bool, palette,
                           shown: bool) -> None:
        """The disclosure arrow (right when collapsed, down when open) and a folder."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        color = QColor(palette.text().color())
        color.setAlpha(220 if shown else 110)
        arrow = self.arrow_rect(rect, depth)
        c = QPointF(arrow.center())
        if collapsed:
            points = [QPointF(c.x() - 3, c.y() - 5), QPointF(c.x() + 4, c.y()), QPointF(c.x() - 3, c.y() + 5)]
        else:
            points = [QPointF(c.x() - 5, c.y() - 3), QPointF(c.x() + 5, c.y() - 3), QPointF(c.x(), c.y() + 4)]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(QPolygonF(points))
        left = arrow.right() + 4
        top = rect.center().y() - 9
        folder = QColor("#d9a441")
        if not shown:
            folder.setAlpha(110)
        painter.setBrush(folder)
        painter.drawRoundedRect(QRectF(left, top, 10, 5), 1.5, 1.5)  # the tab
        painter.drawRoundedRect(QRectF(left, top + 3, FOLDER_W - 6, 16), 2, 2)
        painter.restore()

    def _paint_thumbnail(self, painter: QPainter, box: QRect, index: QModelIndex, visible: bool) -> None:
        width, height = index.data(CanvasSizeRole) or (1, 1)
        scale = THUMB_BOX / max(width, height, 1)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        frame = QRect(box.left() + (THUMB_BOX - w) // 2, box.top() + (THUMB_BOX - h) // 2, w, h)
        painter.save()
        painter.setBrushOrigin(frame.topLeft())
        thumb = index.data(ThumbnailRole)
        checker, dark_checker = self._checker_brushes()
        painter.fillRect(frame, dark_checker if thumb is not None and thumb.light else checker)
        layer = index.data(LayerRole)
        if thumb is not None and layer is not None and not thumb.image.isNull():
            painter.setClipRect(frame)
            if not visible:
                painter.setOpacity(0.45)
            x = frame.left() + (layer.x + thumb.left) * thumb.scale
            y = frame.top() + (layer.y + thumb.top) * thumb.scale
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(x, y, thumb.image.width(), thumb.image.height()), thumb.image)
        painter.setClipping(False)
        painter.setOpacity(1.0)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
        painter.drawRect(frame.adjusted(0, 0, -1, -1))
        painter.restore()

    # ----- interaction -------------------------------------------------------------------
    def editorEvent(self, event, model, option, index) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                        QEvent.Type.MouseButtonDblClick):
            return super().editorEvent(event, model, option, index)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().editorEvent(event, model, option, index)
        pos = event.position().toPoint()
        layer_id = index.data(ItemIdRole)  # a layer's or a group's
        depth = int(index.data(DepthRole) or 0)
        if index.data(IsGroupRole):
            if self.eye_rect(option.rect).contains(pos) or self.arrow_rect(option.rect, depth).contains(pos):
                if kind == QEvent.Type.MouseButtonRelease:
                    if self.eye_rect(option.rect).contains(pos):
                        self.eyeClicked.emit(layer_id, bool(event.modifiers() & Qt.KeyboardModifier.AltModifier))
                    else:
                        self.disclosureClicked.emit(layer_id)
                return True  # eat press/double-click too: no selection change, no rename
            return super().editorEvent(event, model, option, index)
        if kind == QEvent.Type.MouseButtonPress:  # mask or layer thumbnail: what the brush paints
            from .masks import mask_thumb_rect, thumbnail_clicked

            thumb = self.thumb_rect(option.rect, depth)
            if thumb.contains(pos) or mask_thumb_rect(thumb).contains(pos):
                thumbnail_clicked(getattr(model, "session", None), index.data(LayerRole),
                                  mask_thumb_rect(thumb).contains(pos))
        for rect, action in ((self.eye_rect(option.rect), "eye"), (self.lock_rect(option.rect), "lock")):
            if rect.contains(pos):
                if kind == QEvent.Type.MouseButtonRelease:
                    if action == "eye":
                        alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
                        self.eyeClicked.emit(layer_id, alt)
                    else:
                        self.lockClicked.emit(layer_id)
                return True  # eat press/double-click too: no selection change, no rename
        return super().editorEvent(event, model, option, index)

    def createEditor(self, parent, option, index):  # noqa: N802
        editor = QLineEdit(parent)
        editor.setFrame(False)
        return editor

    def updateEditorGeometry(self, editor, option, index) -> None:  # noqa: N802
        r = self.name_rect_of(option.rect, index)
        editor.setGeometry(QRect(r.left() - 2, r.top() + 4, r.width(), r.height() // 2))

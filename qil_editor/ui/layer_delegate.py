"""Paints one layer row and handles clicks on its eye and lock.

Row layout, left to right: eye | thumbnail over a checkerboard (the canvas
shape, with the layer at its offset) | name and "Blend · opacity" | lock.
Clicking the eye toggles visibility, Alt-click shows only that layer (and
Alt-click again shows all); clicking the lock toggles it; double-click on
the name renames (an inline line edit).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QLineEdit, QStyle, QStyledItemDelegate

from ..document import BlendMode
from .icons import icon
from .layer_model import (BlendModeRole, CanvasSizeRole, LayerIdRole, LayerRole, LockedRole,
                          OpacityRole, ThumbnailRole, VisibleRole)
from .qimage import checker_brush, checker_pixmap
from .thumbnails import THUMB_BOX

ROW_HEIGHT = THUMB_BOX + 12
EYE_W = 30
LOCK_W = 26
PAD = 6


class LayerDelegate(QStyledItemDelegate):
    eyeClicked = Signal(str, bool)  # layer id, alt held
    lockClicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._eye = icon("eye")
        self._eye_off = icon("eye-off")
        self._lock = icon("lock")
        self._checker = checker_brush(4)
        dark = checker_pixmap(4, "#3a3a3a", "#2c2c2c")  # under light content (white text)
        self._dark_checker = checker_brush(4)
        self._dark_checker.setTexture(dark)

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
    def thumb_rect(rect: QRect) -> QRect:
        return QRect(rect.left() + EYE_W, rect.top() + (rect.height() - THUMB_BOX) // 2,
                     THUMB_BOX, THUMB_BOX)

    @staticmethod
    def name_rect(rect: QRect) -> QRect:
        left = rect.left() + EYE_W + THUMB_BOX + PAD * 2
        return QRect(left, rect.top(), rect.right() - LOCK_W - left, rect.height())

    # ----- painting ------------------------------------------------------------------
    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        painter.save()
        rect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
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

        self._paint_thumbnail(painter, self.thumb_rect(rect), index, visible)

        name_r = self.name_rect(rect)
        text_color = palette.highlightedText().color() if selected else palette.text().color()
        if not visible:
            text_color = QColor(text_color)
            text_color.setAlpha(120)
        font = QFont(option.font)
        painter.setFont(font)
        painter.setPen(text_color)
        top = QRect(name_r.left(), name_r.top() + 6, name_r.width(), name_r.height() // 2 - 4)
        name = option.fontMetrics.elidedText(str(index.data()), Qt.TextElideMode.ElideRight, name_r.width())
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        mode = index.data(BlendModeRole)
        opacity = index.data(OpacityRole) or 0.0
        sub = f"{BlendMode.parse(mode).label} · {round(opacity * 100)} %"
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        painter.setFont(small)
        sub_color = QColor(text_color)
        sub_color.setAlpha(150 if visible else 90)
        painter.setPen(sub_color)
        bottom = QRect(name_r.left(), name_r.center().y() + 1, name_r.width(), name_r.height() // 2 - 6)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, sub)

        if index.data(LockedRole):
            self._lock.paint(painter, self.lock_rect(rect).adjusted(4, 0, -6, 0))
        elif option.state & QStyle.StateFlag.State_MouseOver:  # show where to click to lock
            painter.setOpacity(0.3)
            self._lock.paint(painter, self.lock_rect(rect).adjusted(4, 0, -6, 0))
            painter.setOpacity(1.0)
        painter.restore()

    def _paint_thumbnail(self, painter: QPainter, box: QRect, index: QModelIndex, visible: bool) -> None:
        width, height = index.data(CanvasSizeRole) or (1, 1)
        scale = THUMB_BOX / max(width, height, 1)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        frame = QRect(box.left() + (THUMB_BOX - w) // 2, box.top() + (THUMB_BOX - h) // 2, w, h)
        painter.save()
        painter.setBrushOrigin(frame.topLeft())
        thumb = index.data(ThumbnailRole)
        painter.fillRect(frame, self._dark_checker if thumb is not None and thumb.light else self._checker)
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
        layer_id = index.data(LayerIdRole)
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
        r = self.name_rect(option.rect)
        editor.setGeometry(QRect(r.left() - 2, r.top() + 4, r.width(), r.height() // 2))

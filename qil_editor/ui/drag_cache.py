"""Flattened snapshots of the still layers while one layer is dragged.

Dragging repaints the moving layer's old and new area every mouse event;
with ten big layers that is ten draws of a large region per frame. For the
duration of the drag the layers below the moving one are drawn once into a
viewport-sized image (and the ones above into another, when they all blend
normally, since only Normal is associative), so each frame draws three
images instead of every layer. Any other change (zoom, scroll, an edit)
drops the snapshots and the items draw themselves again.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

#: Below this many still layers a snapshot saves too little to be worth making.
MIN_LAYERS = 3


class SnapshotItem(QGraphicsItem):
    """Draws an image that was rendered at the view's transform, pixel for pixel."""

    def __init__(self, image: QImage, scene_rect: QRectF, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.image = image
        self._rect = QRectF(scene_rect)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        origin = painter.worldTransform().map(self._rect.topLeft())
        painter.save()
        painter.setWorldTransform(QTransform.fromTranslate(round(origin.x()), round(origin.y())))
        painter.drawImage(QPointF(0, 0), self.image)
        painter.restore()


def _render(items: list[QGraphicsItem], view: QGraphicsView, clip: QRectF) -> QImage:
    vp = view.viewport()
    ratio = vp.devicePixelRatioF()
    image = QImage(round(vp.width() * ratio), round(vp.height() * ratio),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(ratio)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    base = view.viewportTransform()
    painter.setClipRect(base.mapRect(clip))
    for item in sorted(items, key=lambda it: it.zValue()):
        painter.save()
        painter.setTransform(item.sceneTransform() * base)
        painter.setOpacity(item.effectiveOpacity())
        item.paint(painter, None, None)
        painter.restore()
    painter.end()
    return image


class DragCache:
    """Snapshots for one drag; ``release()`` puts everything back."""

    def __init__(self, view: QGraphicsView, parent: QGraphicsItem, live: list[QGraphicsItem],
                 mover: QGraphicsItem, clip: QRectF, normal_mode) -> None:
        self.view = view
        self._hidden: list[QGraphicsItem] = []
        self._snapshots: list[SnapshotItem] = []
        self.active = False
        below = [it for it in live if it.zValue() < mover.zValue()]
        above = [it for it in live if it.zValue() > mover.zValue()]
        groups = [(below, mover.zValue() - 0.5)]
        if all(getattr(it, "composition_mode", normal_mode) == normal_mode for it in above):
            groups.append((above, mover.zValue() + 0.5))
        if sum(len(g) for g, _ in groups) < MIN_LAYERS:
            return
        scene_rect = view.mapToScene(view.viewport().rect()).boundingRect()
        for items, z in groups:
            if len(items) < 2:
                continue
            snapshot = SnapshotItem(_render(items, view, clip), scene_rect, parent)
            snapshot.setZValue(z)
            self._snapshots.append(snapshot)
            for item in items:
                item.setVisible(False)
                self._hidden.append(item)
        self.active = bool(self._snapshots)

    def release(self) -> None:
        if not self.active:
            return
        self.active = False
        for snapshot in self._snapshots:
            scene = snapshot.scene()
            if scene is not None:
                scene.removeItem(snapshot)
        self._snapshots.clear()
        for item in self._hidden:
            item.setVisible(True)
        self._hidden.clear()

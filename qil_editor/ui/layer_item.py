"""One layer on the canvas: a graphics item that draws the layer's own pixels.

Each layer keeps its own item, so moving a layer is ``setPos`` and the view
repaints only what it covered; nothing is recomposited in numpy. The item
draws a QImage that points into the layer's (immutable) array: no copy,
and QPainter premultiplies only the spans it reads. It is a small
``QGraphicsItem`` rather than ``QGraphicsPixmapItem`` because a pixmap
would force a premultiplied copy of every layer in memory.

Two refinements keep big documents fast and good-looking:
- the image is cropped (as a view, still no copy) to the layer's
  non-transparent box, since decomposed layers are mostly empty;
- when zoomed out below 50 % the item draws a mip level (premultiplied,
  area-averaged, built once per pixels change) with smooth filtering, so
  a 4096 px layer at 20 % costs a ~800 px draw and does not alias.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from ..document import BlendMode
from .qimage import alpha_bbox, downscale_premultiplied, premultiply, rgba_to_qimage

_CM = QPainter.CompositionMode

#: Blend modes QPainter draws exactly like the core compositor (W3C formulas),
#: checked against it in tests/ui/test_canvas.py. Others go through the core.
QT_BLEND_MODES: dict[BlendMode, QPainter.CompositionMode] = {
    BlendMode.NORMAL: _CM.CompositionMode_SourceOver,
    BlendMode.MULTIPLY: _CM.CompositionMode_Multiply,
    BlendMode.SCREEN: _CM.CompositionMode_Screen,
    BlendMode.OVERLAY: _CM.CompositionMode_Overlay,
    BlendMode.DARKEN: _CM.CompositionMode_Darken,
    BlendMode.LIGHTEN: _CM.CompositionMode_Lighten,
    BlendMode.COLOR_DODGE: _CM.CompositionMode_ColorDodge,
    BlendMode.COLOR_BURN: _CM.CompositionMode_ColorBurn,
    BlendMode.HARD_LIGHT: _CM.CompositionMode_HardLight,
    BlendMode.SOFT_LIGHT: _CM.CompositionMode_SoftLight,
    BlendMode.DIFFERENCE: _CM.CompositionMode_Difference,
    BlendMode.EXCLUSION: _CM.CompositionMode_Exclusion,
}

#: Below this zoom the item draws a mip level instead of the full image.
MIP_BELOW = 0.5
#: At or above this zoom pixels are drawn as hard squares (pixel-exact).
NEAREST_FROM = 2.0


class LayerItem(QGraphicsItem):
    def __init__(self, layer_id: str, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.layer_id = layer_id
        self.composition_mode = _CM.CompositionMode_SourceOver
        self._source: np.ndarray | None = None  # the layer's pixels
        self._preview: np.ndarray | None = None  # shown instead while a dialog previews
        self._crop: np.ndarray | None = None  # view of what is shown, cropped to content
        self._rect = QRectF()
        self._image = QImage()
        self._mips: dict[int, tuple[np.ndarray, QImage]] = {}
        self._box: tuple[int, int, int, int] | None = None  # what to draw, None: the content box

    # ----- content ---------------------------------------------------------------
    def set_pixels(self, pixels: np.ndarray, box: tuple[int, int, int, int] | None = None,
                   same_picture: bool = False) -> None:
        """Show ``pixels``; ``box`` (item coordinates) is what to draw of them, by default their
        non-transparent box (a masked layer passes its own pixels' box; a brush stroke the whole
        plane, so what it reveals or paints later is inside). ``same_picture``: the new array
        holds what is shown now (a stroke's working copy), so the mip levels are kept."""
        if pixels is self._source and (box is None or box == self._box):
            return
        self._source = pixels
        self._box = box
        if self._preview is None:
            mips, rect = dict(self._mips), QRectF(self._rect)
            self._show(pixels, box)
            if same_picture and mips and self._rect == rect:
                self._mips = mips

    def refresh(self, box: tuple[int, int, int, int]) -> None:
        """The shown array changed in place inside ``box`` (item coordinates, a brush stroke):
        update the mip levels there and repaint only that part."""
        if self._crop is None:
            return
        left, top = int(self._rect.left()), int(self._rect.top())
        l, t = max(0, box[0] - left), max(0, box[1] - top)
        r, b = min(self._crop.shape[1], box[2] - left), min(self._crop.shape[0], box[3] - top)
        if r <= l or b <= t:
            return
        # each level is rebuilt from the one above it, over the box grown to its pixel grid
        for factor in sorted(self._mips):
            arr = self._mips[factor][0]
            ml, mt = l // factor, t // factor
            mr, mb = min(arr.shape[1], -(-r // factor)), min(arr.shape[0], -(-b // factor))
            if factor == 2:
                source = premultiply(np.ascontiguousarray(self._crop[mt * 2:mb * 2, ml * 2:mr * 2]))
            elif factor // 2 in self._mips:
                source = self._mips[factor // 2][0][mt * 2:mb * 2, ml * 2:mr * 2]
            else:  # its parent level is gone: this one is rebuilt when next drawn
                del self._mips[factor]
                continue
            arr[mt:mb, ml:mr] = downscale_premultiplied(np.ascontiguousarray(source), mr - ml, mb - mt)
        self.update(QRectF(left + l, top + t, r - l, b - t))

    def set_preview(self, pixels: np.ndarray | None) -> None:
        self._preview = pixels
        self._show(self._source if pixels is None else pixels, self._box if pixels is None else None)

    @property
    def shown_box(self) -> tuple[int, int, int, int] | None:
        """The box of the pixels drawn, when it was given (None: their content box)."""
        return self._box

    @property
    def shown_pixels(self) -> np.ndarray | None:
        return self._source if self._preview is None else self._preview

    def set_blend_mode(self, mode: BlendMode) -> None:
        cm = QT_BLEND_MODES.get(mode, _CM.CompositionMode_SourceOver)
        if cm != self.composition_mode:
            self.composition_mode = cm
            self.update()

    def _show(self, pixels: np.ndarray | None, box: tuple[int, int, int, int] | None = None) -> None:
        # Where it was drawn is repainted explicitly: Qt repaints the box it last painted the
        # item in, and a direct viewport update (the outline's) painting before the scene
        # handles this change records the new, smaller box instead, leaving stale pixels.
        scene = self.scene()
        old = self.sceneBoundingRect() if scene is not None and not self._rect.isEmpty() else None
        self.prepareGeometryChange()
        self._mips.clear()
        if box is None and pixels is not None:
            box = alpha_bbox(pixels)
        elif box is not None and (box[2] <= box[0] or box[3] <= box[1]):
            box = None
        if box is None:
            self._crop, self._image, self._rect = None, QImage(), QRectF()
        else:
            left, top, right, bottom = box
            self._crop = pixels[top:bottom, left:right]
            self._image = rgba_to_qimage(self._crop)
            self._rect = QRectF(left, top, right - left, bottom - top)
        self.update()
        if old is not None and self.isVisible():
            scene.update(old)

    def content_rect(self) -> QRectF:
        """Non-transparent box in item (layer) coordinates."""
        return QRectF(self._rect)

    # ----- drawing ---------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._rect

    def _mip(self, factor: int) -> QImage:
        """The crop shrunk by ``factor`` (a power of two), built from the next level up."""
        if factor in self._mips:
            return self._mips[factor][1]
        if factor == 2:
            base = premultiply(self._crop)
        else:
            self._mip(factor // 2)
            base = self._mips[factor // 2][0]
        h, w = self._crop.shape[:2]
        arr = downscale_premultiplied(base, math.ceil(w / factor), math.ceil(h / factor))
        image = rgba_to_qimage(arr, premultiplied=True)
        self._mips[factor] = (arr, image)
        return image

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image.isNull():
            return
        t = painter.worldTransform()
        scale = math.hypot(t.m11(), t.m12())
        painter.setCompositionMode(self.composition_mode)
        if 0 < scale < MIP_BELOW:
            factor = 2 ** min(int(math.floor(math.log2(1.0 / scale))),
                              max(0, int(math.log2(max(1, min(self._crop.shape[:2]))))))
            if factor >= 2:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                painter.drawImage(self._rect, self._mip(factor))
                return
        exact = abs(scale - 1.0) < 1e-6  # 100 %: one image pixel per screen pixel
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not exact and scale < NEAREST_FROM)
        painter.drawImage(QPointF(self._rect.left(), self._rect.top()), self._image)


class PictureItem(QGraphicsItem):
    """Several layers drawn once into one premultiplied picture, shown as one item.

    A free transform of many big layers would otherwise redraw each of them
    transformed on every drag event; with the selected layers Normal and
    adjacent in the stack, their SourceOver composite (at the view's mip
    scale) looks the same and costs one draw. Only the preview uses it: the
    applied result is still the exact resample of each layer."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.factor = 0  # the mip factor the picture was drawn at; 0 = empty
        self.layer_ids: tuple[str, ...] = ()
        self._image = QImage()
        self._rect = QRectF()

    def draw(self, items: list["LayerItem"], rect: QRectF, factor: int) -> None:
        """Composite ``items`` (in stack order) over ``rect`` (scene coordinates) at 1/``factor``."""
        self.prepareGeometryChange()
        width, height = max(1, math.ceil(rect.width() / factor)), max(1, math.ceil(rect.height() / factor))
        image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        painter.scale(1.0 / factor, 1.0 / factor)
        painter.translate(-rect.left(), -rect.top())
        for item in items:
            painter.save()
            painter.translate(item.pos())
            painter.setOpacity(item.opacity())
            item.paint(painter, None)  # picks the mip level of this scale, as on screen
            painter.restore()
        painter.end()
        self._image, self._rect, self.factor = image, QRectF(rect), factor
        self.layer_ids = tuple(item.layer_id for item in items)
        self.update()

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._image, self._rect, self.factor, self.layer_ids = QImage(), QRectF(), 0, ()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(self._rect, self._image)

"""numpy <-> QImage without surprises.

Layer arrays are immutable, so a QImage can point straight at their memory
(no copy); the caller keeps the array alive for as long as the image. Views
that are not C-contiguous (a crop of a layer) still share memory: the image
starts at the crop's first byte and strides over the parent's rows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap


def _buffer_view(arr: np.ndarray) -> tuple[memoryview, int]:
    """A flat byte view starting at ``arr[0, 0]`` plus the row stride, sharing memory."""
    if arr.flags.c_contiguous:
        return memoryview(arr).cast("B"), arr.strides[0]
    base = arr
    while base.base is not None and isinstance(base.base, np.ndarray):
        base = base.base
    if not base.flags.c_contiguous or arr.strides[1:] != (4, 1):
        flat = np.ascontiguousarray(arr)
        return memoryview(flat).cast("B"), flat.strides[0]
    start = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return memoryview(base).cast("B")[start:], arr.strides[0]


def rgba_to_qimage(arr: np.ndarray, premultiplied: bool = False) -> QImage:
    """Wrap an (H, W, 4) uint8 array as a QImage sharing its memory.

    Straight alpha maps to ``Format_RGBA8888``; QPainter premultiplies the
    spans it reads while drawing, so no full-size premultiplied copy exists.
    """
    if arr.ndim != 3 or arr.shape[2] != 4 or arr.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 4) uint8, got {arr.dtype} {arr.shape}")
    h, w = arr.shape[:2]
    if w == 0 or h == 0:
        return QImage()
    fmt = QImage.Format.Format_RGBA8888_Premultiplied if premultiplied else QImage.Format.Format_RGBA8888
    view, stride = _buffer_view(arr)
    return QImage(view, w, h, stride, fmt)


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """A straight-alpha RGBA copy of any QImage."""
    img = image.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h = img.width(), img.height()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h)
    return buf.reshape(h, img.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def premultiply(arr: np.ndarray) -> np.ndarray:
    """Straight RGBA uint8 -> premultiplied RGBA uint8 (rounded)."""
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    alpha = arr[..., 3]
    alpha4 = cv2.merge([alpha, alpha, alpha, np.full_like(alpha, 255)])
    return cv2.multiply(np.ascontiguousarray(arr), alpha4, scale=1 / 255.0)


def downscale_premultiplied(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average a premultiplied image (no dark fringes at alpha edges)."""
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    return cv2.resize(arr, (max(1, width), max(1, height)), interpolation=cv2.INTER_AREA)


def alpha_bbox(arr: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the non-transparent pixels, None when empty."""
    import cv2  # imported when first used: the window's start-up does not need OpenCV
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(arr[..., 3]))
    if w == 0 or h == 0:
        return None
    return (x, y, x + w, y + h)


def checker_pixmap(cell: int = 8, light: str = "#9a9a9a", dark: str = "#6e6e6e") -> QPixmap:
    """One 2x2 tile of the transparency checkerboard."""
    pixmap = QPixmap(cell * 2, cell * 2)
    pixmap.fill(QColor(light))
    painter = QPainter(pixmap)
    painter.fillRect(0, 0, cell, cell, QColor(dark))
    painter.fillRect(cell, cell, cell, cell, QColor(dark))
    painter.end()
    return pixmap


def checker_brush(cell: int = 8) -> QBrush:
    brush = QBrush(checker_pixmap(cell))
    brush.setStyle(Qt.BrushStyle.TexturePattern)
    return brush

"""Layer thumbnails, computed off the UI thread.

A thumbnail depends only on the layer's pixels and the canvas size, not on
its offset: the delegate places it in the canvas-shaped box at paint time,
so dragging a layer never re-renders thumbnails. Requests for a layer
while one is being computed are coalesced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from .qimage import alpha_bbox, downscale_premultiplied, premultiply, rgba_to_qimage
from .tasks import TaskRunner

if TYPE_CHECKING:  # pragma: no cover
    from ..document import Layer

THUMB_BOX = 56  # px, the longer side of the canvas in the layer panel


@dataclass(frozen=True)
class Thumbnail:
    image: QImage  # premultiplied, owns its memory
    scale: float  # thumbnail px per document px
    left: int  # where the image starts, in layer pixels
    top: int
    light: bool = False  # mostly light content (white text): drawn over a dark checkerboard


def make_thumbnail(pixels: np.ndarray, canvas_w: int, canvas_h: int, box: int = THUMB_BOX) -> Thumbnail:
    scale = box / max(canvas_w, canvas_h, 1)
    bbox = alpha_bbox(pixels)
    if bbox is None:
        return Thumbnail(QImage(), scale, 0, 0)
    left, top, right, bottom = bbox
    crop = np.ascontiguousarray(pixels[top:bottom, left:right])
    w = max(1, round((right - left) * scale))
    h = max(1, round((bottom - top) * scale))
    small = downscale_premultiplied(premultiply(crop), w, h) if scale < 1 else premultiply(crop)
    image = rgba_to_qimage(np.ascontiguousarray(small), premultiplied=True).copy()
    return Thumbnail(image, scale, left, top, _mostly_light(crop))


def _mostly_light(rgba: np.ndarray) -> bool:
    """True when the opaque content is light on average (it would vanish on a light checkerboard)."""
    step = max(1, int(max(rgba.shape[:2]) // 256))  # a sample is enough
    sample = rgba[::step, ::step]
    alpha = sample[..., 3].astype(np.float32)
    if alpha.sum() <= 0:
        return False
    luma = sample[..., 0] * 0.299 + sample[..., 1] * 0.587 + sample[..., 2] * 0.114
    return float((luma * alpha).sum() / alpha.sum()) > 170.0


class ThumbnailCache(QObject):
    ready = Signal(str)  # layer id whose thumbnail changed

    def __init__(self, tasks: TaskRunner, box: int = THUMB_BOX, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.box = box
        self._done: dict[str, tuple[np.ndarray, tuple[int, int], Thumbnail]] = {}
        self._running: set[str] = set()

    def get(self, layer: Layer, canvas: tuple[int, int]) -> Thumbnail | None:
        """The thumbnail if current; otherwise the stale one (or None) and a request."""
        entry = self._done.get(layer.id)
        if entry is not None and entry[0] is layer.pixels and entry[1] == canvas:
            return entry[2]
        self._request(layer.id, layer.pixels, canvas)
        return entry[2] if entry is not None else None

    def _request(self, layer_id: str, pixels: np.ndarray, canvas: tuple[int, int]) -> None:
        if layer_id in self._running:
            return  # the callback re-checks and asks again if still stale
        self._running.add(layer_id)

        def done(result, error):
            self._running.discard(layer_id)
            if error is not None:
                raise error
            self._done[layer_id] = (pixels, canvas, result)
            self.ready.emit(layer_id)

        self.tasks.submit(make_thumbnail, pixels, canvas[0], canvas[1], self.box, callback=done)

    def forget(self, keep_ids: set[str]) -> None:
        for layer_id in [lid for lid in self._done if lid not in keep_ids]:
            del self._done[layer_id]

    @property
    def pending(self) -> bool:
        return bool(self._running)

"""A raster layer: straight-alpha RGBA pixels placed at an offset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import numpy as np

from .blend import BlendMode


def new_layer_id() -> str:
    return uuid.uuid4().hex


def as_rgba_array(pixels: np.ndarray) -> np.ndarray:
    """Validate layer pixels: (H, W, 4) uint8, C-contiguous."""
    arr = np.asarray(pixels)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(f"layer pixels must be (H, W, 4), got {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"layer pixels must be uint8, got {arr.dtype}")
    return np.ascontiguousarray(arr)


@dataclass(eq=False)
class Layer:
    """One layer. Pixels are treated as immutable: edits replace the array.

    Treating arrays as values (never written in place) is what makes undo
    cheap: a command keeps a reference to the old array instead of a copy.
    """

    pixels: np.ndarray
    name: str = "Layer"
    x: int = 0
    y: int = 0
    opacity: float = 1.0
    visible: bool = True
    blend_mode: BlendMode = BlendMode.NORMAL
    locked: bool = False
    id: str = field(default_factory=new_layer_id)

    def __post_init__(self) -> None:
        self.pixels = as_rgba_array(self.pixels)
        self.pixels.flags.writeable = False
        self.blend_mode = BlendMode.parse(self.blend_mode)
        self.opacity = float(min(1.0, max(0.0, self.opacity)))
        self.x, self.y = int(self.x), int(self.y)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in document coordinates."""
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    def properties(self) -> dict:
        """Everything except pixels and id, for comparisons and serialisation."""
        return {
            "name": self.name,
            "x": self.x,
            "y": self.y,
            "opacity": self.opacity,
            "visible": self.visible,
            "blend_mode": self.blend_mode,
            "locked": self.locked,
        }

    def copy(self, *, new_id: bool = False, **changes) -> "Layer":
        if new_id:
            changes.setdefault("id", new_layer_id())
        return replace(self, **changes)

    def alpha_at(self, doc_x: int, doc_y: int) -> int:
        """Alpha of the pixel under a document point, 0 outside the layer."""
        lx, ly = doc_x - self.x, doc_y - self.y
        if 0 <= lx < self.width and 0 <= ly < self.height:
            return int(self.pixels[ly, lx, 3])
        return 0

"""Which part of a layer the edit model sees, and how its result goes back into the layer.

Layers are often canvas-sized with a small object in them; the model works
at a fixed pixel budget, so it is given the object's bounding box plus a
margin of matte (room to change shape, and context), not the whole layer.
The result is put back in layer coordinates: keep-shape touches only the
colours inside that box; new-shape may grow the layer if the new content
reaches past its old bounds (its old area keeps its place on the canvas).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import UsageError
from . import alpha as alpha_ops

SHAPES = ("keep", "new")


@dataclass(frozen=True)
class Region:
    """A box in layer coordinates (may reach outside the layer: that part is transparent)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def content_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the non-transparent pixels, or None for an empty layer."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def edit_region(alpha: np.ndarray, margin: float = 0.125, min_margin: int = 8) -> Region:
    """The content's box grown by ``margin`` of its longer side on every side."""
    box = content_box(alpha)
    if box is None:
        raise UsageError("The layer is empty (fully transparent); there is nothing to edit.",
                         "Choose a layer with visible pixels.")
    x0, y0, x1, y1 = box
    pad = max(int(min_margin), int(round(margin * max(x1 - x0, y1 - y0))))
    return Region(x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def crop(pixels: np.ndarray, region: Region) -> np.ndarray:
    """The region of an RGBA layer; parts outside the layer are transparent."""
    h, w = pixels.shape[:2]
    out = np.zeros((region.height, region.width, 4), np.uint8)
    sx0, sy0 = max(region.x0, 0), max(region.y0, 0)
    sx1, sy1 = min(region.x1, w), min(region.y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - region.y0:sy1 - region.y0, sx0 - region.x0:sx1 - region.x0] = pixels[sy0:sy1, sx0:sx1]
    return out


def outer_ring(height: int, width: int, thickness: int) -> np.ndarray:
    """Mask of the outermost ``thickness`` pixels: matte by construction, before the edit."""
    ring = np.zeros((height, width), dtype=bool)
    t = max(1, int(thickness))
    ring[:t], ring[-t:], ring[:, :t], ring[:, -t:] = True, True, True, True
    return ring


@dataclass(frozen=True)
class PreparedEdit:
    """What goes to the model, and what is needed to put its answer back."""

    region: Region
    original: np.ndarray        # RGBA crop of the layer (region size)
    matte: tuple[int, int, int]
    model_input: np.ndarray     # RGB crop over the matte


def prepare(pixels: np.ndarray, shape: str = "new", margin: float = 0.125,
            matte: tuple[int, int, int] | None = None) -> PreparedEdit:
    region = edit_region(pixels[..., 3], margin)
    original = crop(pixels, region)
    candidates = alpha_ops.NEW_SHAPE_MATTES if shape == "new" else alpha_ops.MATTE_CANDIDATES
    matte = tuple(matte) if matte is not None else alpha_ops.choose_matte(original, candidates)
    return PreparedEdit(region, original, matte, alpha_ops.over_matte(original, matte))


def recover(prepared: PreparedEdit, edited_rgb: np.ndarray, shape: str,
            new_alpha: np.ndarray | None = None) -> np.ndarray:
    """RGBA crop from the edited RGB (region size), by shape mode."""
    if shape not in SHAPES:
        raise UsageError(f"Unknown shape mode {shape!r}.", "Use 'keep' or 'new'.")
    if edited_rgb.shape[:2] != prepared.original.shape[:2]:
        raise ValueError("edited image must be resized to the region first")
    if shape == "keep":
        return alpha_ops.keep_shape(edited_rgb, prepared.original, prepared.matte)
    ring = outer_ring(*edited_rgb.shape[:2], thickness=max(2, min(edited_rgb.shape[:2]) // 32))
    # the margin ring is matte unless the layer itself already reached it
    ring &= prepared.original[..., 3] == 0
    if new_alpha is not None:
        return alpha_ops.recover_with_alpha(edited_rgb, new_alpha, prepared.matte, ring)
    return alpha_ops.new_shape(edited_rgb, prepared.matte, ring if ring.any() else None)


def place(pixels: np.ndarray, prepared: PreparedEdit, result: np.ndarray,
          shape: str) -> tuple[np.ndarray, int, int]:
    """New layer pixels and the shift of the layer's offset (dx, dy) for a recovered crop."""
    region = prepared.region
    h, w = pixels.shape[:2]
    if shape == "keep":
        out = pixels.copy()
        sx0, sy0 = max(region.x0, 0), max(region.y0, 0)
        sx1, sy1 = min(region.x1, w), min(region.y1, h)
        out[sy0:sy1, sx0:sx1, :3] = result[sy0 - region.y0:sy1 - region.y0,
                                           sx0 - region.x0:sx1 - region.x0, :3]
        return out, 0, 0
    # new shape: the old box, grown to hold whatever new content lies outside it
    bx0, by0, bx1, by1 = 0, 0, w, h
    box = content_box(result[..., 3])
    if box is not None:
        cx0, cy0, cx1, cy1 = box
        bx0, by0 = min(bx0, region.x0 + cx0), min(by0, region.y0 + cy0)
        bx1, by1 = max(bx1, region.x0 + cx1), max(by1, region.y0 + cy1)
    out = np.zeros((by1 - by0, bx1 - bx0, 4), np.uint8)
    # everything of the old layer outside the region is transparent (the region holds its content)
    dx, dy = region.x0 - bx0, region.y0 - by0
    tx0, ty0 = max(dx, 0), max(dy, 0)
    tx1, ty1 = min(dx + region.width, out.shape[1]), min(dy + region.height, out.shape[0])
    out[ty0:ty1, tx0:tx1] = result[ty0 - dy:ty1 - dy, tx0 - dx:tx1 - dx]
    return out, bx0, by0

"""Affine-map geometry shared by the layer and the mask transforms."""

from __future__ import annotations

import numpy as np

#: The largest plane a transform may produce (either side up to ~30k pixels).
MAX_TRANSFORMED_PIXELS = 30_000 * 30_000


def transformed_corners(width: int, height: int, m: np.ndarray) -> np.ndarray:
    """Where the corners of a w×h plane land under the 2x3 map ``m``: (4, 2), in the order
    top-left, top-right, bottom-left, bottom-right."""
    return np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64) @ m.T


def transformed_bounds(width: int, height: int, m: np.ndarray, what: str) -> tuple[int, int, int, int]:
    """(left, top, out_w, out_h) of the whole pixels a w×h plane covers under the 2x3 map ``m``.

    The epsilon keeps a box that lands exactly on pixel edges from growing by one pixel
    from float noise, so an identity or 90° map gives back the same size."""
    corners = transformed_corners(width, height, m)
    left, top = np.floor(corners.min(axis=0) + 1e-6).astype(int)
    right, bottom = np.ceil(corners.max(axis=0) - 1e-6).astype(int)
    out_w, out_h = max(1, int(right - left)), max(1, int(bottom - top))
    if out_w * out_h > MAX_TRANSFORMED_PIXELS:
        raise ValueError(f"the transformed {what} would be {out_w}x{out_h} pixels, too large")
    return int(left), int(top), out_w, out_h


def pixel_centre_map(m: np.ndarray) -> np.ndarray:
    """The 2x3 map for ``cv2.warpAffine`` from a map between pixel-corner coordinates:
    OpenCV puts pixel (i, j) at its centre, so the map is conjugated by a half-pixel shift."""
    centre = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], np.float64)
    return (np.linalg.inv(centre) @ np.vstack([m, [0, 0, 1]]) @ centre)[:2]

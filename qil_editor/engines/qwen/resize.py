"""Between the input's size and the model's working bucket, in premultiplied alpha.

The model works on a bucket of about resolution^2 pixels with the input's
aspect ratio, rounded to multiples of 32 (the pipeline's own rule, repeated
here so the input is resized once, by us, in premultiplied alpha: resizing
straight alpha, as PIL does, bleeds the colour of invisible pixels into
edges and leaves dark fringes). Layers come back at the bucket size and are
scaled to the input's size the same way.

After scaling, :func:`restore_detail` puts back what the round trip lost:
the difference between the input and the layers' composite is shared among
the layers in proportion to how much each one shows at that pixel, so the
layers composite back to the input exactly (where the model covered the
pixel) and hidden parts of lower layers are left alone.
"""

from __future__ import annotations

import math

import numpy as np

RESOLUTIONS = (640, 1024)


def bucket_size(width: int, height: int, resolution: int = 640, multiple: int = 32) -> tuple[int, int]:
    """(width, height) the pipeline computes for an input of this size (diffusers' calculate_dimensions)."""
    ratio = width / height
    w = math.sqrt(resolution * resolution * ratio)
    h = w / ratio
    return int(round(w / multiple) * multiple), int(round(h / multiple) * multiple)


#: Most elongated input the model is given (beyond it one side of the bucket would vanish).
MAX_ASPECT = 64.0


def working_size(width: int, height: int, resolution: int = 640) -> tuple[int, int]:
    """The bucket to resize the input to, chosen so the pipeline keeps it as is.

    The pipeline recomputes the bucket from the size it is given; a fixed
    point of :func:`bucket_size` near the input's bucket means it does not
    resample our (premultiplied) resize a second time.
    """
    size = bucket_size(width, height, resolution)
    for _ in range(8):
        nxt = bucket_size(*size, resolution)
        if nxt == size:
            break
        size = nxt
    return size


def as_rgba_u8(image: np.ndarray) -> np.ndarray:
    """Accept grey, grey+alpha, RGB or RGBA (uint8, or uint16 scaled down) and return RGBA uint8."""
    arr = np.asarray(image)
    if arr.dtype == np.uint16:
        arr = (arr.astype(np.uint32) * 255 + 32767) // 65535
    elif arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.clip(np.rint(arr * 255.0), 0, 255)
        arr = arr.astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"expected an (H, W), (H, W, 1-4) image, got shape {arr.shape}")
    h, w, c = arr.shape
    if c == 4:
        return np.ascontiguousarray(arr)
    out = np.empty((h, w, 4), np.uint8)
    if c in (1, 2):
        out[..., :3] = arr[..., :1]
        out[..., 3] = arr[..., 1] if c == 2 else 255
    else:
        out[..., :3] = arr
        out[..., 3] = 255
    return out


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """uint8 or [0,1] float RGBA (straight) -> float32 premultiplied in [0, 1]."""
    f = rgba.astype(np.float32)
    if rgba.dtype == np.uint8:
        f /= 255.0
    f[..., :3] *= f[..., 3:4]
    return f


def unpremultiply(premul: np.ndarray) -> np.ndarray:
    """float premultiplied -> straight RGBA uint8 (colour of fully transparent pixels is 0)."""
    alpha = np.clip(premul[..., 3], 0.0, 1.0).astype(np.float32, copy=False)
    scale = np.zeros_like(alpha)
    np.divide(255.0, alpha, out=scale, where=alpha > 1e-6)
    out = np.empty(premul.shape[:2] + (4,), np.uint8)
    rgb = premul[..., :3] * scale[..., None]
    rgb += 0.5
    np.clip(rgb, 0.0, 255.0, out=rgb)
    out[..., :3] = rgb
    alpha *= 255.0
    alpha += 0.5
    out[..., 3] = alpha
    return out


def resize_premultiplied(premul: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float premultiplied RGBA; area averaging down, bilinear up (no ringing)."""
    import cv2

    h, w = premul.shape[:2]
    if (w, h) == (width, height):
        return premul
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    out = cv2.resize(premul, (int(width), int(height)), interpolation=interp)
    # keep colour <= alpha, as premultiplied pixels must be
    out[..., 3] = np.clip(out[..., 3], 0.0, 1.0)
    out[..., :3] = np.clip(out[..., :3], 0.0, out[..., 3:4])
    return out


def resize_rgba(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """Straight RGBA uint8 -> straight RGBA uint8 at a new size, resampled premultiplied."""
    return unpremultiply(resize_premultiplied(premultiply(rgba), width, height))


def _restore_band(layers: np.ndarray, target: np.ndarray, passes: int) -> np.ndarray:
    """layers: (L, h, w, 4) float straight RGBA in [0, 1]; target: (h, w, 4) float straight."""
    colour, alpha = layers[..., :3], layers[..., 3:4]
    weights = np.empty_like(alpha)
    above = np.ones(alpha.shape[1:], np.float32)
    for i in range(len(layers) - 1, -1, -1):
        weights[i] = alpha[i] * above
        above = above * (1.0 - alpha[i])
    # the input's colour at the layers' own coverage; undefined where the input is transparent
    goal = target[..., :3] * weights.sum(axis=0)
    trust = target[..., 3:4]
    for _ in range(passes):
        residual = (goal - (weights * colour).sum(axis=0)) * trust
        # a layer already at 0 or 1 in a channel cannot take more of the residual there
        free = np.where(residual > 0, colour < 1.0, colour > 0.0)
        w = weights * free
        norm = (w * w).sum(axis=0)
        share = np.where(norm > 1e-6, residual / np.maximum(norm, 1e-6), 0.0)
        colour = np.clip(colour + w * share, 0.0, 1.0)
    return np.concatenate([colour, alpha], axis=-1)


#: Floats one band of :func:`restore_detail` may hold (about 128 MB), whatever the image's width.
BAND_FLOATS = 32_000_000


def restore_detail(layers: list[np.ndarray], target_rgba: np.ndarray, passes: int = 3,
                   band_rows: int | None = None) -> list[np.ndarray]:
    """Share the residual between the layers' composite and the target so they composite to it.

    With visibility weights ``w_i = a_i * prod_{j>i}(1 - a_j)`` the composite
    colour is ``sum w_i c_i`` at coverage ``A = sum w_i``; adding
    ``w_i / sum(w^2) * residual`` to each layer's straight colour ``c_i``
    makes the composite's colour the target's wherever some layer shows
    (residual = target colour * A - composite, scaled by the target's alpha,
    since a transparent input pixel has no colour to restore). Layers that
    hit 0 or 1 drop out and the rest take the remainder (a few passes).
    Alpha stays as the model made it. Works on straight uint8
    layers, in bands of rows, so a large image needs little extra memory.
    """
    if not layers:
        return []
    stack = [np.array(layer, copy=True) for layer in layers]
    height, width = target_rgba.shape[:2]
    if band_rows is None:
        band_rows = max(8, BAND_FLOATS // (4 * (len(stack) + 2) * width))
    for top in range(0, height, band_rows):
        rows = slice(top, min(height, top + band_rows))
        band = np.stack([layer[rows] for layer in stack]).astype(np.float32) / 255.0
        target = target_rgba[rows].astype(np.float32) / 255.0
        fixed = _restore_band(band, target, passes)
        fixed = np.clip(np.rint(fixed * 255.0), 0, 255).astype(np.uint8)
        for layer, new in zip(stack, fixed):
            layer[rows, :, :3] = np.where(new[..., 3:4] > 0, new[..., :3], 0)
    return stack


def layers_to_input_size(layers: np.ndarray | list[np.ndarray], width: int, height: int,
                         target_rgba: np.ndarray | None = None) -> list[np.ndarray]:
    """Model layers (straight RGBA, float [0,1] or uint8, bottom first) -> uint8 RGBA at (width, height).

    With ``target_rgba`` (the input), the detail lost to the bucket is restored.
    """
    scaled = [unpremultiply(resize_premultiplied(premultiply(np.asarray(layer)), width, height))
              for layer in layers]
    if target_rgba is not None:
        scaled = restore_detail(scaled, as_rgba_u8(target_rgba))
    return scaled

"""Small test pictures and the premultiplied view used to compare them, shared by the test modules."""

import numpy as np


def solid(h, w, rgb, a=255):
    """An h x w RGBA block of one colour and alpha."""
    px = np.zeros((h, w, 4), np.uint8)
    px[..., :3] = rgb
    px[..., 3] = a
    return px


def gradient(w, h, blue, alpha=255):
    """Red rising left to right, green top to bottom: a wrong offset or flip shows."""
    y, x = np.mgrid[0:h, 0:w]
    out = np.empty((h, w, 4), np.uint8)
    out[..., 0] = x * 255 // max(1, w - 1)
    out[..., 1] = y * 255 // max(1, h - 1)
    out[..., 2] = blue
    out[..., 3] = alpha
    return out


def premultiplied(rgba):
    """Colour times alpha (float): invisible pixels compare equal whatever their colour."""
    a = np.asarray(rgba, np.float64)
    return np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], axis=-1)

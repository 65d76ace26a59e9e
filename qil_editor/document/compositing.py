"""Flatten layers into one image.

Straight-alpha uint8 in, premultiplied float32 math inside, straight uint8
out. Formulas follow the W3C Compositing and Blending spec (what Photoshop,
GIMP and Krita implement): with backdrop Cb/ab and source Cs/as,
``Cs' = (1 - ab) Cs + ab B(Cb, Cs)`` and ``co = as Cs' + (1 - as) cb``.
The canvas is processed in horizontal bands so the working buffers stay in
cache; only the part of each layer inside the band is touched.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .blend import BlendMode
from .layer import Layer

BAND_ROWS = 32
Region = tuple[int, int, int, int]  # left, top, right, bottom


# ----- separable blend functions on straight colour in [0, 1] ----------------
def _safe_div(num, den, fill):
    out = np.full_like(num, fill)
    np.divide(num, den, out=out, where=den > 1e-7)
    return out


def _color_dodge(cb, cs):
    out = np.minimum(1.0, _safe_div(cb, 1.0 - cs, 1.0))
    out = np.where(cs >= 1.0, 1.0, out)
    return np.where(cb <= 0.0, 0.0, out)


def _color_burn(cb, cs):
    out = 1.0 - np.minimum(1.0, _safe_div(1.0 - cb, cs, 1.0))
    out = np.where(cs <= 0.0, 0.0, out)
    return np.where(cb >= 1.0, 1.0, out)


def _hard_light(cb, cs):
    return np.where(cs <= 0.5, cb * 2.0 * cs, 1.0 - (1.0 - cb) * (1.0 - (2.0 * cs - 1.0)))


def _soft_light(cb, cs):
    d = np.where(cb <= 0.25, ((16.0 * cb - 12.0) * cb + 4.0) * cb, np.sqrt(cb))
    return np.where(cs <= 0.5, cb - (1.0 - 2.0 * cs) * cb * (1.0 - cb),
                    cb + (2.0 * cs - 1.0) * (d - cb))


def _vivid_light(cb, cs):
    return np.where(cs <= 0.5, _color_burn(cb, 2.0 * cs), _color_dodge(cb, 2.0 * cs - 1.0))


def _lum(c):
    return 0.3 * c[..., 0:1] + 0.59 * c[..., 1:2] + 0.11 * c[..., 2:3]


def _clip_color(c):
    lum = _lum(c)
    n = c.min(axis=-1, keepdims=True)
    x = c.max(axis=-1, keepdims=True)
    c = np.where(n < 0.0, lum + _safe_div((c - lum) * lum, lum - n, 0.0), c)
    c = np.where(x > 1.0, lum + _safe_div((c - lum) * (1.0 - lum), x - lum, 0.0), c)
    return c


def _set_lum(c, lum):
    return _clip_color(c + (lum - _lum(c)))


def _sat(c):
    return c.max(axis=-1, keepdims=True) - c.min(axis=-1, keepdims=True)


def _set_sat(c, s):
    cmin = c.min(axis=-1, keepdims=True)
    cmax = c.max(axis=-1, keepdims=True)
    return _safe_div((c - cmin) * s, cmax - cmin, 0.0)


def _darker_color(cb, cs):
    return np.where(_lum(cs) < _lum(cb), cs, cb)


def _lighter_color(cb, cs):
    return np.where(_lum(cs) > _lum(cb), cs, cb)


_BLEND = {
    BlendMode.MULTIPLY: lambda cb, cs: cb * cs,
    BlendMode.SCREEN: lambda cb, cs: cb + cs - cb * cs,
    BlendMode.OVERLAY: lambda cb, cs: _hard_light(cs, cb),
    BlendMode.DARKEN: np.minimum,
    BlendMode.LIGHTEN: np.maximum,
    BlendMode.COLOR_DODGE: _color_dodge,
    BlendMode.COLOR_BURN: _color_burn,
    BlendMode.HARD_LIGHT: _hard_light,
    BlendMode.SOFT_LIGHT: _soft_light,
    BlendMode.DIFFERENCE: lambda cb, cs: np.abs(cb - cs),
    BlendMode.EXCLUSION: lambda cb, cs: cb + cs - 2.0 * cb * cs,
    BlendMode.LINEAR_DODGE: lambda cb, cs: np.minimum(1.0, cb + cs),
    BlendMode.LINEAR_BURN: lambda cb, cs: np.maximum(0.0, cb + cs - 1.0),
    BlendMode.SUBTRACT: lambda cb, cs: np.maximum(0.0, cb - cs),
    BlendMode.DIVIDE: lambda cb, cs: np.minimum(1.0, _safe_div(cb, cs, 1.0)),
    BlendMode.VIVID_LIGHT: _vivid_light,
    BlendMode.LINEAR_LIGHT: lambda cb, cs: np.clip(cb + 2.0 * cs - 1.0, 0.0, 1.0),
    BlendMode.PIN_LIGHT: lambda cb, cs: np.where(cs <= 0.5, np.minimum(cb, 2.0 * cs),
                                                 np.maximum(cb, 2.0 * cs - 1.0)),
    BlendMode.HARD_MIX: lambda cb, cs: (cb + cs >= 1.0).astype(cb.dtype),
    BlendMode.DARKER_COLOR: _darker_color,
    BlendMode.LIGHTER_COLOR: _lighter_color,
    BlendMode.HUE: lambda cb, cs: _set_lum(_set_sat(cs, _sat(cb)), _lum(cb)),
    BlendMode.SATURATION: lambda cb, cs: _set_lum(_set_sat(cb, _sat(cs)), _lum(cb)),
    BlendMode.COLOR: lambda cb, cs: _set_lum(cs, _lum(cb)),
    BlendMode.LUMINOSITY: lambda cb, cs: _set_lum(cb, _lum(cs)),
}


def blend_function(mode: BlendMode):
    """The separable/non-separable B(Cb, Cs) for a mode; None for normal."""
    return _BLEND.get(BlendMode.parse(mode))


# ----- the compositor ---------------------------------------------------------
def _intersect(a: Region, b: Region) -> Region | None:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    if right <= left or bottom <= top:
        return None
    return (left, top, right, bottom)


def composite_over(dst: np.ndarray, layer: Layer, dst_origin: tuple[int, int],
                   opacity: float | None = None) -> None:
    """Blend one layer onto a premultiplied float32 buffer, in place.

    ``dst_origin`` is the document coordinate of ``dst[0, 0]``.
    """
    ox, oy = dst_origin
    h, w = dst.shape[:2]
    box = _intersect(layer.bbox, (ox, oy, ox + w, oy + h))
    if box is None:
        return
    op = layer.opacity if opacity is None else opacity
    if op <= 0.0:
        return
    l, t, r, b = box
    src = layer.pixels[t - layer.y:b - layer.y, l - layer.x:r - layer.x]
    d = dst[t - oy:b - oy, l - ox:r - ox]
    a = src[..., 3:4].astype(np.float32)
    a *= np.float32(op / 255.0)
    fn = _BLEND.get(layer.blend_mode)
    if fn is None:  # normal / dissolve: the fast path
        d *= 1.0 - a
        d[..., :3] += src[..., :3] * (a * np.float32(1.0 / 255.0))
        d[..., 3:] += a
        return
    cs = src[..., :3].astype(np.float32) * np.float32(1.0 / 255.0)
    ab = d[..., 3:4].copy()
    cb = _safe_div(d[..., :3], ab, 0.0)
    mixed = (1.0 - ab) * cs + ab * np.clip(fn(cb, cs), 0.0, 1.0)
    d *= 1.0 - a
    d[..., :3] += a * mixed
    d[..., 3:] += a


def to_straight_uint8(premul: np.ndarray) -> np.ndarray:
    """Premultiplied float32 [0,1] -> straight RGBA uint8."""
    out = np.empty(premul.shape, np.uint8)
    alpha = premul[..., 3:4]
    rgb = _safe_div(premul[..., :3], alpha, 0.0)
    np.clip(rgb * 255.0 + 0.5, 0, 255, out=rgb)
    out[..., :3] = rgb
    out[..., 3:] = np.clip(alpha * 255.0 + 0.5, 0, 255)
    return out


def composite_layers(layers: Iterable[Layer], width: int, height: int,
                     region: Region | None = None, *, include_hidden: bool = False,
                     premultiplied: bool = False) -> np.ndarray:
    """Flatten layers (bottom first) over transparency.

    ``region`` (document coordinates) limits the work to that rectangle and
    the result has the region's size; it may extend beyond the canvas (used
    for merging), but by default is the canvas.
    """
    if region is None:
        region = (0, 0, int(width), int(height))
    left, top, right, bottom = (int(v) for v in region)
    w, h = max(0, right - left), max(0, bottom - top)
    todo = [ly for ly in layers if (include_hidden or ly.visible) and ly.opacity > 0
            and _intersect(ly.bbox, (left, top, right, bottom)) is not None]
    result = np.zeros((h, w, 4), np.float32 if premultiplied else np.uint8)
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        band = np.zeros((y1 - y0, w, 4), np.float32)
        for layer in todo:
            composite_over(band, layer, (left, top + y0))
        result[y0:y1] = band if premultiplied else to_straight_uint8(band)
    return result


def composite(doc, region: Region | None = None, **kwargs) -> np.ndarray:
    """Flatten a :class:`Document` (or anything with width/height/layers)."""
    return composite_layers(doc.layers, doc.width, doc.height, region, **kwargs)


def merge_layers(layers: Sequence[Layer], name: str | None = None) -> Layer:
    """Merge layers into one normal-mode layer covering their union box.

    Hidden layers are dropped, like Photoshop's merge; the result keeps the
    lower layer's name unless ``name`` is given.
    """
    visible = [ly for ly in layers if ly.visible]
    base = layers[0]
    if not visible:
        return base.copy(new_id=True, name=name or base.name, visible=False)
    left = min(ly.x for ly in visible)
    top = min(ly.y for ly in visible)
    right = max(ly.x + ly.width for ly in visible)
    bottom = max(ly.y + ly.height for ly in visible)
    pixels = composite_layers(visible, 0, 0, (left, top, right, bottom))
    return Layer(pixels, name=name or base.name, x=left, y=top, locked=base.locked)

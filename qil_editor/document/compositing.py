"""Flatten layers into one image.

Straight-alpha uint8 in, premultiplied float32 math inside, straight uint8
out. Formulas follow the W3C Compositing and Blending spec (what Photoshop,
GIMP and Krita implement): with backdrop Cb/ab and source Cs/as,
``Cs' = (1 - ab) Cs + ab B(Cb, Cs)`` and ``co = as Cs' + (1 - as) cb``.
The canvas is processed in horizontal bands so the working buffers stay in
cache. Each layer keeps a coarse summary of its alpha (per 32x32 tile: is
anything there, is everything opaque), so transparent areas cost nothing
and opaque normal-mode areas are copied instead of blended. The per-pixel
arithmetic goes through OpenCV, which is vectorised and multi-threaded.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

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
    # Not color burn/dodge as such: Photoshop has no backdrop special cases here, the
    # source's extremes win (Cs 0 burns to 0, Cs 1 dodges to 1), as psd-tools measured.
    burn = 1.0 - np.minimum(1.0, _safe_div(1.0 - cb, 2.0 * cs, 1.0))
    dodge = np.minimum(1.0, _safe_div(cb, 2.0 * (1.0 - cs), 1.0))
    out = np.where(cs <= 0.5, burn, dodge)
    out = np.where(cs <= 0.0, 0.0, out)
    return np.where(cs >= 1.0, 1.0, out)


def _hard_mix(cb, cs):
    # on the line Cb + Cs = 1 Photoshop answers 1 only where Cb > 0.5 (psd-tools, #189)
    total = cb + cs
    return ((total > 1.0) | ((total == 1.0) & (cb > 0.5))).astype(cb.dtype)


def _divide(cb, cs):
    # 0 / 0 is 0 in Photoshop (black stays black); anything else over 0 is white
    return np.where(cb <= 0.0, 0.0, np.minimum(1.0, _safe_div(cb, cs, 1.0)))


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
    BlendMode.DARKEN: lambda cb, cs: np.minimum(cb, cs),
    BlendMode.LIGHTEN: lambda cb, cs: np.maximum(cb, cs),
    BlendMode.COLOR_DODGE: _color_dodge,
    BlendMode.COLOR_BURN: _color_burn,
    BlendMode.HARD_LIGHT: _hard_light,
    BlendMode.SOFT_LIGHT: _soft_light,
    BlendMode.DIFFERENCE: lambda cb, cs: np.abs(cb - cs),
    BlendMode.EXCLUSION: lambda cb, cs: cb + cs - 2.0 * cb * cs,
    BlendMode.LINEAR_DODGE: lambda cb, cs: np.minimum(1.0, cb + cs),
    BlendMode.LINEAR_BURN: lambda cb, cs: np.maximum(0.0, cb + cs - 1.0),
    BlendMode.SUBTRACT: lambda cb, cs: np.maximum(0.0, cb - cs),
    BlendMode.DIVIDE: _divide,
    BlendMode.VIVID_LIGHT: _vivid_light,
    BlendMode.LINEAR_LIGHT: lambda cb, cs: np.clip(cb + 2.0 * cs - 1.0, 0.0, 1.0),
    BlendMode.PIN_LIGHT: lambda cb, cs: np.where(cs <= 0.5, np.minimum(cb, 2.0 * cs),
                                                 np.maximum(cb, 2.0 * cs - 1.0)),
    BlendMode.HARD_MIX: _hard_mix,
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
TILE = 32
_K = 1.0 / 255.0


def _intersect(a: Region, b: Region) -> Region | None:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    if right <= left or bottom <= top:
        return None
    return (left, top, right, bottom)


def alpha_tiles(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile (max, min) alpha of a layer, cached until its pixels change.

    Pixels are immutable arrays, so the cache is keyed on the array object.
    """
    cached = layer.__dict__.get("_alpha_tiles")
    if cached is not None and cached[0] is layer.pixels:
        return cached[1], cached[2]
    alpha = layer.pixels[..., 3]
    h, w = alpha.shape
    th, tw = -(-h // TILE), -(-w // TILE)
    tmax = np.empty((th, tw), np.uint8)
    tmin = np.empty((th, tw), np.uint8)
    step = max(1, (1 << 22) // (TILE * TILE * max(tw, 1)))  # tile rows per band: ~4 MB scratch,
    for r0 in range(0, th, step):  # not two padded copies of a whole (huge) layer's alpha
        r1 = min(th, r0 + step)
        band = alpha[r0 * TILE:r1 * TILE]
        padded_max = np.zeros(((r1 - r0) * TILE, tw * TILE), np.uint8)
        padded_max[:band.shape[0], :w] = band
        padded_min = np.full(padded_max.shape, 255, np.uint8)
        padded_min[:band.shape[0], :w] = band
        tmax[r0:r1] = padded_max.reshape(r1 - r0, TILE, tw, TILE).max(axis=(1, 3))
        tmin[r0:r1] = padded_min.reshape(r1 - r0, TILE, tw, TILE).min(axis=(1, 3))
    layer.__dict__["_alpha_tiles"] = (layer.pixels, tmax, tmin)
    return tmax, tmin


def _visible_span(layer: Layer, top: int, bottom: int, left: int, right: int):
    """Shrink a layer-local rectangle to the columns that have any alpha.

    Returns (left, right, fully_opaque) or None when nothing is visible.
    """
    tmax, tmin = alpha_tiles(layer)
    r0, r1 = top // TILE, -(-bottom // TILE)
    c0, c1 = left // TILE, -(-right // TILE)
    sub = tmax[r0:r1, c0:c1]
    cols = np.flatnonzero(sub.any(axis=0))
    if cols.size == 0:
        return None
    new_left = max(left, (c0 + int(cols[0])) * TILE)
    new_right = min(right, (c0 + int(cols[-1]) + 1) * TILE)
    opaque = bool(tmin[r0:r1, new_left // TILE:-(-new_right // TILE)].min() == 255)
    return new_left, new_right, opaque


def _straight_float(src: np.ndarray) -> np.ndarray:
    """Straight uint8 RGBA -> float32 (r, g, b, 1) in [0, 1] (alpha forced to 1)."""
    import cv2  # here, not at import time: the empty window's start-up does not need OpenCV
    opaque = cv2.cvtColor(cv2.cvtColor(src, cv2.COLOR_RGBA2RGB), cv2.COLOR_RGB2RGBA)
    out = opaque.astype(np.float32)
    out *= np.float32(_K)
    return out


# Photoshop's "fill opacity eight": for these modes Fill does not fade the
# layer's alpha, it weakens the blend itself. Modelled as the source colour
# pulled towards the mode's neutral colour (black for the dodges and
# Difference, white for the burns, mid-grey for the lights); Hard Mix uses
# the documented (Cb + f Cs - f) / (1 - f), which is Cb at f = 0 and tends to
# the hard threshold as f -> 1.
_FILL_NEUTRAL = {
    BlendMode.COLOR_DODGE: 0.0, BlendMode.LINEAR_DODGE: 0.0, BlendMode.DIFFERENCE: 0.0,
    BlendMode.COLOR_BURN: 1.0, BlendMode.LINEAR_BURN: 1.0,
    BlendMode.VIVID_LIGHT: 0.5, BlendMode.LINEAR_LIGHT: 0.5,
}
SPECIAL_FILL_MODES = frozenset(_FILL_NEUTRAL) | {BlendMode.HARD_MIX}


def _fill_blend(mode: BlendMode, fill: float):
    """B(Cb, Cs) for a special-eight mode at fill opacity ``fill`` < 1."""
    if mode == BlendMode.HARD_MIX:
        f = np.float32(fill)
        return lambda cb, cs: np.clip((cb + f * cs - f) / (1.0 - f), 0.0, 1.0)
    fn, neutral = _BLEND[mode], np.float32(_FILL_NEUTRAL[mode])
    f = np.float32(fill)
    return lambda cb, cs: fn(cb, neutral + f * (cs - neutral))


def _special_fill_over(d: np.ndarray, cs: np.ndarray, a: np.ndarray, fn, fill: float) -> None:
    """Composite a special-eight layer at fill opacity < 1 onto premultiplied ``d``.

    Where there is backdrop the blend acts at full strength with the weakened
    source (``fn``); where there is none the layer's own colour shows with
    coverage ``fill``. Fitted to Photoshop's merged image of ag-psd's
    fill-opacity case (linear light at fill 20 % over a semi-transparent
    backdrop: within 1 level, alpha exact):
    ``co = (1 - a) cb + a ab B'(Cb, Cs) + f a (1 - ab) Cs`` and
    ``ao = ab + f a (1 - ab)``; at f = 1 this is the ordinary formula.
    """
    ab = d[..., 3:4].copy()
    cb = _safe_div(d[..., :3], ab, 0.0)
    f = np.float32(fill)
    blended = np.clip(fn(cb, cs), 0.0, 1.0)
    d[..., :3] = (1.0 - a) * d[..., :3] + a * ab * blended + f * a * (1.0 - ab) * cs
    d[..., 3:4] = ab + f * a * (1.0 - ab)


def _coverage(layer: Layer, box: Region) -> np.ndarray | float:
    """The layer mask over ``box`` (1.0 where it hides nothing)."""
    if layer.mask is not None:
        m = layer.mask.coverage(box)
        if m is not None:
            return m
    return 1.0


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055).astype(np.float32)


def _to_gamma(premul: np.ndarray, gamma: float) -> None:
    """Premultiplied sRGB colour -> premultiplied colour encoded as linear^(1/gamma), in place."""
    a = premul[..., 3:4]
    c = _safe_div(premul[..., :3], a, 0.0)
    premul[..., :3] = _srgb_to_linear(np.clip(c, 0.0, 1.0)) ** np.float32(1.0 / gamma) * a


def _from_gamma(premul: np.ndarray, gamma: float) -> None:
    a = premul[..., 3:4]
    c = _safe_div(premul[..., :3], a, 0.0)
    premul[..., :3] = _linear_to_srgb(np.clip(c, 0.0, 1.0) ** np.float32(gamma)) * a


def _gamma_composite_over(dst: np.ndarray, layer: Layer, dst_origin: tuple[int, int],
                          opacity: float | None) -> None:
    """Composite a layer whose colours mix at ``layer.blend_gamma`` (Photoshop's text layers).

    Photoshop's "Blend Text Colors Using Gamma 1.45" mixes text with what is below in
    an encoding of linear light with that gamma: the backdrop under the layer and the
    layer's colours are moved into it, composited as usual and moved back. Measured on
    Photoshop's merged images (ag-psd's text cases: red text on white within 1 level).
    """
    from dataclasses import replace

    ox, oy = dst_origin
    h, w = dst.shape[:2]
    box = _intersect(layer.bbox, (ox, oy, ox + w, oy + h))
    if box is None:
        return
    gamma = float(layer.blend_gamma)
    view = dst[box[1] - oy:box[3] - oy, box[0] - ox:box[2] - ox]
    region = np.ascontiguousarray(view)
    _to_gamma(region, gamma)
    cached = layer.__dict__.get("_gamma_encoded")  # per pixels array: bands reuse it
    if cached is None or cached[0] is not layer.pixels or cached[1] != gamma:
        lut = np.round(_srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
                       ** np.float32(1.0 / gamma) * 255.0).astype(np.uint8)
        px = layer.pixels.copy()
        px[..., :3] = lut[px[..., :3]]
        cached = (layer.pixels, gamma, px)
        layer.__dict__["_gamma_encoded"] = cached
    plain = replace(layer, pixels=cached[2], blend_gamma=1.0)
    tiles = layer.__dict__.get("_alpha_tiles")  # same alpha: same tile summary
    if tiles is not None and tiles[0] is layer.pixels:
        plain.__dict__["_alpha_tiles"] = (plain.pixels,) + tuple(tiles[1:])
    composite_over(region, plain, (box[0], box[1]), opacity)
    _from_gamma(region, gamma)
    view[...] = region


def dissolve_noise(left: int, top: int, width: int, height: int) -> np.ndarray:
    """Uniform [0, 1) values fixed to document pixels (Dissolve's pattern; Photoshop's own
    random pattern is not known, so only its density matches)."""
    ys = np.arange(top, top + height, dtype=np.int64)[:, None]
    xs = np.arange(left, left + width, dtype=np.int64)[None, :]
    h = (xs * 0x27D4EB2D + ys * 0x165667B1 + 0x3C6EF372) & 0xFFFFFFFF
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & 0xFFFFFFFF
    h = ((h ^ (h >> 12)) * 0x297A2D39) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0xFFFFFF).astype(np.float32) * np.float32(1.0 / (1 << 24))


def _knockout_over(d: np.ndarray, straight: np.ndarray, a: np.ndarray, fill: float,
                   backdrop: np.ndarray, fn) -> None:
    """Knockout: under the layer's coverage ``a`` what was drawn since the knockout
    backdrop is replaced by the layer (at its fill opacity) over that backdrop:
    ``d = (1 - a) d + a X`` with ``X = f S' + (1 - f) B``; fill 0 shows the backdrop
    through (Photoshop's usual knockout use)."""
    s = straight.copy()
    if fn is not None:
        ab = backdrop[..., 3:4]
        cb = _safe_div(backdrop[..., :3], ab, 0.0)
        s[..., :3] = (1.0 - ab) * s[..., :3] + ab * np.clip(fn(cb, s[..., :3]), 0.0, 1.0)
    f = np.float32(fill)
    x = f * s + (1.0 - f) * backdrop
    d += (x - d) * a[..., None]


REPLACE = 3  # Layer.knockout value of a snapshot of everything below (a baked adjustment)


def composite_over(dst: np.ndarray, layer: Layer, dst_origin: tuple[int, int],
                   opacity: float | None = None, knockout_backdrop: np.ndarray | None = None,
                   opaque: bool = False) -> None:
    """Blend one layer onto a premultiplied float32 buffer, in place.

    ``dst_origin`` is the document coordinate of ``dst[0, 0]``. With source
    alpha ``a`` and S = (Cs', 1), every mode reduces to the lerp
    ``d = a S + (1 - a) d`` on premultiplied d, which ``cv2.blendLinear`` does
    in one pass. ``a`` is the pixel alpha times opacity, fill opacity (except
    for the special eight modes) and the layer mask. Dissolve turns ``a`` into
    all or nothing per pixel against a fixed noise; a knockout layer (with
    ``knockout_backdrop``, the buffer as its knockout began, same shape as
    ``dst``) replaces instead of covering: see :func:`_knockout_over`. A
    ``REPLACE`` layer (a snapshot that already holds everything below it) takes
    the place of what is there, by its opacity and mask; into an ``opaque``
    buffer (a clipping group's base colour) only its colour goes.
    """
    import cv2  # lazily, see _straight_float
    if layer.blend_gamma != 1.0:
        _gamma_composite_over(dst, layer, dst_origin, opacity)
        return
    ox, oy = dst_origin
    h, w = dst.shape[:2]
    box = _intersect(layer.bbox, (ox, oy, ox + w, oy + h))
    op = layer.opacity if opacity is None else opacity
    mode = layer.blend_mode
    fill = layer.fill_opacity
    special = mode in SPECIAL_FILL_MODES
    replace = layer.knockout == REPLACE
    into_opaque = opaque  # (``opaque`` is reused below for the layer's own tiles)
    knockout = layer.knockout and knockout_backdrop is not None and not replace
    if not special and not knockout:
        op *= fill
    if box is None or op <= 0.0:
        return
    l, t, r, b = (box[0] - layer.x, box[1] - layer.y, box[2] - layer.x, box[3] - layer.y)
    span = _visible_span(layer, t, b, l, r)
    if span is None:
        return
    l, r, opaque = span
    doc_box = (l + layer.x, t + layer.y, r + layer.x, b + layer.y)
    factor = _coverage(layer, doc_box)
    src = layer.pixels[t:b, l:r]
    d = dst[t + layer.y - oy:b + layer.y - oy, l + layer.x - ox:r + layer.x - ox]
    fn = _BLEND.get(mode)
    straight = _straight_float(src)
    plain = isinstance(factor, float)
    if replace:
        alpha = cv2.extractChannel(src, 3).astype(np.float32) * np.float32(_K)
        t = np.full(alpha.shape, np.float32(op), np.float32) if plain else factor * np.float32(op)
        if into_opaque:  # only where the snapshot shows anything
            t = np.where(alpha > 0.0, t, np.float32(0.0))
        else:
            straight[..., :3] *= alpha[..., None]
            straight[..., 3] = alpha
        d += (straight - d) * t[..., None]
        return
    if knockout:
        a = cv2.extractChannel(src, 3).astype(np.float32) * np.float32(op * _K)
        if not plain:
            a *= factor
        kb = knockout_backdrop[t + layer.y - oy:b + layer.y - oy, l + layer.x - ox:r + layer.x - ox]
        _knockout_over(d, straight, a, fill, kb, fn)
        return
    if mode == BlendMode.DISSOLVE:  # each pixel wholly drawn or not, as likely as its alpha
        a = cv2.extractChannel(src, 3).astype(np.float32) * np.float32(op * _K)
        if not plain:
            a *= factor
        noise = dissolve_noise(doc_box[0], doc_box[1], r - l, b - t)
        hit = (noise < a).astype(np.float32) * np.float32(1024.0)
        d[...] = cv2.blendLinear(straight, np.ascontiguousarray(d), hit, np.float32(1024.0) - hit)
        return
    if special and fill < 1.0:
        if fill <= 0.0 and mode != BlendMode.HARD_MIX:
            return  # pulled all the way to the neutral colour: no change
        a = cv2.extractChannel(src, 3).astype(np.float32)[..., None] * np.float32(op * _K)
        if not plain:
            a *= factor[..., None]
        _special_fill_over(d, straight[..., :3], a, _fill_blend(mode, fill), fill)
        return
    if fn is None and opaque and op >= 1.0 and plain:  # covers everything below: a copy
        d[...] = straight
        return
    if fn is not None:  # Cs' = (1 - ab) Cs + ab B(Cb, Cs)
        cs = straight[..., :3]
        ab = d[..., 3:4].copy()
        cb = _safe_div(d[..., :3], ab, 0.0)
        cs[...] = (1.0 - ab) * cs + ab * np.clip(fn(cb, cs), 0.0, 1.0)
    # blendLinear divides by (w1 + w2 + 1e-5); weights scaled by 1024 make that
    # bias vanish below float32 resolution.
    a = cv2.extractChannel(src, 3).astype(np.float32)
    a *= np.float32(op * _K * 1024.0)
    if not plain:
        a *= factor
    inv = 1024.0 - a
    if d.flags.c_contiguous:
        cv2.blendLinear(straight, d, a, inv, dst=d)
    else:
        d[...] = cv2.blendLinear(straight, np.ascontiguousarray(d), a, inv)


class _GroupBase:
    """Stands for a group as the base of the clipped layers that follow it (``_plan``)."""

    def __init__(self, group_id: str | None) -> None:
        self.group = group_id  # the group the clipped layers are in (the base group's parent)


def _child_holding(groups: Mapping, inner: str | None, outer: str | None):
    """The group directly inside ``outer`` (None: the document) that holds group ``inner``."""
    while inner is not None:
        group = groups.get(inner)
        if group is None:
            return None
        if group.parent == outer:
            return group
        inner = group.parent
    return None


def _plan(layers: Iterable[Layer], include_hidden: bool, groups: Mapping | None = None,
          group_clips: dict | None = None) -> list[list]:
    """[layer, clipped layers] for each layer to draw, bottom first.

    A clipped layer belongs to the nearest non-clipped layer below it (its
    base) and is drawn only where and when that base is; one with nothing
    below it is drawn unclipped. With ``groups``, clipped layers that follow
    a group (their base is the group) go to ``group_clips`` (group id -> layers).
    """
    plan: list[list] = []
    entry: list | None = None
    for ly in layers:
        if ly.clipping and entry is not None and entry[0].group != ly.group and groups:
            base = _child_holding(groups, entry[0].group, ly.group)
            if base is not None and group_clips is not None:
                entry = [_GroupBase(ly.group), group_clips.setdefault(base.id, [])]
        if ly.clipping and entry is not None and entry[0].group == ly.group:
            if (include_hidden or ly.visible) and ly.opacity > 0:
                entry[1].append(ly)
            continue
        entry = [ly, []]
        if (include_hidden or ly.visible) and ly.opacity > 0:
            plan.append(entry)
    return plan


def composite_clip_group(dst: np.ndarray, base: Layer, clips: Sequence[Layer],
                         dst_origin: tuple[int, int]) -> None:
    """Draw a clipping group the way Photoshop does.

    The clipped layers are blended onto the base's own colour (made opaque),
    the result takes the base's coverage (pixels x mask x fill), and that is
    composited with the base's opacity and blend mode: so an opaque clipped
    layer over a 50 % base shows at 50 %, not blended with the base.
    """
    ox, oy = dst_origin
    h, w = dst.shape[:2]
    box = _intersect(base.bbox, (ox, oy, ox + w, oy + h))
    if box is None:
        return
    l, t, r, b = box
    src = base.pixels[t - base.y:b - base.y, l - base.x:r - base.x]
    cover = src[..., 3].astype(np.float32) * np.float32(_K)
    fill = base.fill_opacity if base.blend_mode not in SPECIAL_FILL_MODES else 1.0
    if fill < 1.0:
        cover *= np.float32(fill)
    m = _coverage(base, box)
    if not isinstance(m, float):
        cover *= m
    if not cover.any():
        return
    tmp = _straight_float(np.ascontiguousarray(src))
    for clip in clips:
        composite_over(tmp, clip, (l, t), opaque=True)
    tmp *= cover[..., None]
    group = Layer(to_straight_uint8(tmp), x=l, y=t, opacity=base.opacity,
                  blend_mode=base.blend_mode, blend_gamma=base.blend_gamma,
                  knockout=REPLACE if base.knockout == REPLACE else 0)
    composite_over(dst, group, dst_origin)


def to_straight_uint8(premul: np.ndarray) -> np.ndarray:
    """Premultiplied float32 [0,1] -> straight RGBA uint8 (rounded, saturated)."""
    import cv2  # lazily, see _straight_float
    alpha = np.ascontiguousarray(premul[..., 3])
    scale = np.zeros_like(alpha)
    np.divide(255.0, alpha, out=scale, where=alpha > 1e-7)
    fac = cv2.merge([scale, scale, scale, np.full_like(alpha, 255.0)])
    prod = cv2.multiply(np.ascontiguousarray(premul), fac)
    return cv2.convertScaleAbs(prod)  # rounds and saturates to uint8


def composite_layers(layers: Iterable[Layer], width: int, height: int,
                     region: Region | None = None, *, include_hidden: bool = False,
                     premultiplied: bool = False, groups: Mapping | None = None,
                     space=None) -> np.ndarray:
    """Flatten layers (bottom first) over transparency.

    ``region`` (document coordinates) limits the work to that rectangle and
    the result has the region's size; it may extend beyond the canvas (used
    for merging), but by default is the canvas. ``groups`` (id -> Group)
    makes layers that name a group draw inside it (see ``group.py``).
    ``space`` (a :class:`~qil_editor.document.cmyk.CmykSpace`, kept with a
    document read from a CMYK file) blends in that file's CMYK, as Photoshop.
    """
    if space is not None:
        return space.composite(layers, width, height, region, include_hidden=include_hidden,
                               premultiplied=premultiplied, groups=groups)
    if region is None:
        region = (0, 0, int(width), int(height))
    left, top, right, bottom = (int(v) for v in region)
    w, h = max(0, right - left), max(0, bottom - top)
    layers = list(layers)
    grouped = bool(groups) and any(ly.group is not None for ly in layers)
    group_clips: dict = {}  # group id -> layers clipped to that group
    todo = [item for item in _plan(layers, include_hidden, groups if grouped else None, group_clips)
            if _intersect(item[0].bbox, (left, top, right, bottom)) is not None]
    if grouped:
        todo = [(ly, clips, _chain(groups, ly.group)) for ly, clips in todo]
        if not include_hidden:
            todo = [item for item in todo if all(g.visible for g in item[2])]
    result = np.zeros((h, w, 4), np.float32 if premultiplied else np.uint8)
    band = np.empty((min(h, BAND_ROWS), w, 4), np.float32)
    knockouts = any(item[0].knockout for item in todo)
    background = knockouts and bool(todo) and _is_background(todo[0][0], width, height)
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        buf = band[:y1 - y0]
        buf.fill(0.0)
        origin = (left, top + y0)
        base = np.zeros_like(buf) if knockouts else None  # what a deep knockout shows
        if grouped:
            _composite_tree(buf, todo, origin, base, background, group_clips)
        else:
            for i, (layer, clips) in enumerate(todo):
                _draw(buf, layer, clips, origin, base)
                if i == 0 and background:
                    base[...] = buf
        result[y0:y1] = buf if premultiplied else to_straight_uint8(buf)
    return result


def _is_background(layer: Layer, width: int, height: int) -> bool:
    """An opaque bottom layer over the whole canvas: what Photoshop's knockouts reveal."""
    if layer.x > 0 or layer.y > 0 or layer.x + layer.width < width \
            or layer.y + layer.height < height or layer.blend_mode != BlendMode.NORMAL:
        return False
    tmin = alpha_tiles(layer)[1]
    return bool(tmin.size and tmin.min() == 255 and layer.opacity >= 1.0 and layer.mask is None)


def _draw(buf: np.ndarray, layer: Layer, clips: list, origin: tuple[int, int],
          knockout_backdrop: np.ndarray | None = None) -> None:
    if clips:
        composite_clip_group(buf, layer, clips, origin)
    else:
        composite_over(buf, layer, origin, knockout_backdrop=knockout_backdrop)


def _chain(groups: Mapping, group_id: str | None) -> list:
    chain = []
    while group_id is not None:
        group = groups[group_id]
        chain.append(group)
        group_id = group.parent
    return chain[::-1]


def _backdrop_removed(inner: np.ndarray, start: np.ndarray, own_alpha: np.ndarray) -> np.ndarray:
    """A pass-through group's own picture (straight uint8): its composite over the
    backdrop ``start`` with the backdrop's part removed (W3C group compositing,
    Cs = Cn + (Cn - C0) (a0 / ag - a0)), with its own coverage ``own_alpha``."""
    a, a0 = inner[..., 3:4], start[..., 3:4]
    color = _safe_div(inner[..., :3], a, 0.0)
    color0 = _safe_div(start[..., :3], a0, 0.0)
    ag = own_alpha[..., None]
    ratio = np.ones_like(ag)
    np.divide(a0, ag, out=ratio, where=ag > 1e-7)
    color = np.clip(color + (color - color0) * (ratio - a0), 0.0, 1.0)
    out = np.empty(inner.shape[:2] + (4,), np.uint8)
    out[..., :3] = np.round(np.where(ag > 1e-7, color, 0.0) * 255.0).astype(np.uint8)
    out[..., 3] = np.round(np.clip(own_alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def _composite_tree(buf: np.ndarray, todo: list, origin: tuple[int, int],
                    base: np.ndarray | None = None, background: bool = False,
                    group_clips: Mapping | None = None) -> None:
    """Draw layers inside their groups: a buffer per open group, closed when left.

    A pass-through group starts from a copy of what is below and is faded
    back by its opacity and mask; any other group starts empty (isolated)
    and its picture is then blended with the group's mode, opacity and mask.
    A group split in two runs by the layer order is drawn as two groups.
    With knockouts (``base`` given: the document's bottom background after it
    is drawn, else nothing), a shallow knockout shows its group's start (a
    pass-through group's backdrop, an isolated group's transparency) and a
    deep one ``base``. A group with layers clipped to it (``group_clips``) is
    the base of a clipping group: the clipped layers blend onto its colour and
    take its coverage (:func:`composite_clip_group`); a pass-through group's
    colour is what its layers make over the backdrop with the backdrop taken
    back out (psd-tools' rule; psd-tools' clipping-mask4/5: exact).
    """
    stack: list[tuple[object, np.ndarray, np.ndarray | None]] = []
    group_clips = group_clips or {}
    zeros = np.zeros_like(buf) if base is not None else None

    def top() -> np.ndarray:
        return stack[-1][1] if stack else buf

    def close() -> None:
        group, inner, start = stack.pop()
        below = top()
        h, w = inner.shape[:2]
        box = (origin[0], origin[1], origin[0] + w, origin[1] + h)
        clips = group_clips.get(group.id)
        if clips:
            if group.pass_through:  # its own coverage: the contents again, over nothing
                own = np.zeros_like(inner)
                _composite_tree(own, [item for item in todo if any(g is group for g in item[2])],
                                origin)
                pixels = _backdrop_removed(inner, start, own[..., 3])
            else:
                pixels = to_straight_uint8(inner)
            picture = Layer(pixels, x=origin[0], y=origin[1], opacity=group.opacity,
                            mask=group.mask, blend_mode=group.blend_mode or BlendMode.NORMAL)
            composite_clip_group(below, picture, clips, origin)
            return
        if group.pass_through:
            t = np.float32(group.opacity)
            if group.mask is not None:
                m = group.mask.coverage(box)
                if m is not None:
                    t = t * m[..., None]
            below += (inner - below) * t
            return
        picture = Layer(to_straight_uint8(inner), x=origin[0], y=origin[1],
                        opacity=group.opacity, blend_mode=group.blend_mode, mask=group.mask)
        composite_over(below, picture, origin)

    for i, (layer, clips, chain) in enumerate(todo):
        common = 0
        while (common < min(len(stack), len(chain))
               and stack[common][0] is chain[common]):
            common += 1
        while len(stack) > common:
            close()
        for group in chain[common:]:
            inner = top().copy() if group.pass_through else np.zeros_like(buf)
            keep = base is not None or bool(group_clips.get(group.id))
            start = inner.copy() if keep and group.pass_through else None
            stack.append((group, inner, start))
        backdrop = None
        if layer.knockout and base is not None:
            backdrop = base
            if layer.knockout == 1 and stack:
                backdrop = stack[-1][2] if stack[-1][2] is not None else zeros
        _draw(top(), layer, clips, origin, backdrop)
        if i == 0 and background and not stack:
            base[...] = buf
    while stack:
        close()


def lone_layer_pixels(doc) -> np.ndarray | None:
    """The pixels of a document that is one plain layer covering the canvas (a picture
    opened to be converted, or dropped in as a layer): its composite, as far as the merged
    image can tell (only the colour under alpha 0 differs, and over white that is white
    either way), without compositing. None for any other document."""
    if len(doc.layers) != 1:
        return None
    layer = doc.layers[0]
    plain = (layer.visible and layer.opacity == 1.0 and layer.fill_opacity == 1.0
             and layer.blend_mode == BlendMode.NORMAL and layer.mask is None
             and not layer.clipping and layer.group is None)
    return layer.pixels if plain and layer.bbox == (0, 0, doc.width, doc.height) else None


def composite(doc, region: Region | None = None, **kwargs) -> np.ndarray:
    """Flatten a :class:`Document` (or anything with width/height/layers), groups included."""
    groups = getattr(doc, "_groups", None)
    if groups:
        kwargs.setdefault("groups", groups)
    space = working_space(doc)
    if space is not None:
        kwargs.setdefault("space", space)
    return composite_layers(doc.layers, doc.width, doc.height, region, **kwargs)


def working_space(doc):
    """The colour space a document blends in besides RGB (a CMYK file's), or None."""
    return getattr(getattr(doc, "source", None), "working_space", None)


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
    shared = {ly.group for ly in layers}
    return Layer(pixels, name=name or base.name, x=left, y=top, locked=base.locked,
                 group=shared.pop() if len(shared) == 1 else None)

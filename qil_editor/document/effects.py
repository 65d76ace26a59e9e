"""Photoshop's layer styles drawn from a layer's alpha: shadows, glows, satin, inner bevel.

Qt-free and independent of the PSD reader: an effect is a small record of
Photoshop's documented parameters (size, spread/choke, distance and angle,
range, contour, colour, opacity, blend mode), and :func:`apply_effects` draws
a list of them around and inside straight-alpha RGBA pixels.

The kernels were measured against Photoshop's merged images of ag-psd's test
files (tests/data/psd-cases and ag-psd's test/read set):

* the blur of a shadow or glow of size ``s`` is two passes of a box filter
  ``s`` pixels wide (an even width is anchored so the two passes are
  symmetric): drop shadow on 'effects' max 1.2 levels, outer glow exact,
  inner shadow of size 4 within 1 level; a Gaussian is visibly off;
* spread (drop shadow, outer glow) and choke (inner shadow, inner glow) are
  ``round(size * percent / 100)`` pixels of Euclidean growth before a blur of
  the remaining size (a group's shadow with 64 % spread: mean 0.1 level);
* the offset is ``(-cos a, sin a) * distance`` rounded to whole pixels, with
  the document's global angle where the effect uses global light;
* a glow's range maps the blurred coverage v to ``min(1, v / range)``;
* "Layer Knocks Out Drop Shadow" hides the shadow only under the layer's solid
  pixels (at its soft edges the shadow shows through: measured).

Satin follows its documented construction (the blurred shape against itself
moved both ways along the angle, contour, invert); no file here shows it
alone, so it is not verified against Photoshop.

An inner bevel is lit like a bump map: the height is the layer's alpha
blurred (Gaussian, sigma = size / 2), its slope scaled by the depth, shaded
with the light's angle and altitude; brighter than flat ground is highlight,
darker is shadow. Fitted to one Photoshop file (ag-psd's 'effects', size 5,
depth 100 %): within ~4 levels on average, 30 at worst, so approximate.

Not drawn: noise and jitter (random), the glows' gradient mode (their first
colour is used), outer bevel, emboss and pillow emboss, a bevel's gloss
contour and texture. Contours are interpolated linearly between their points
(Photoshop smooths non-corner points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .blend import BlendMode

OUTER = ("drop_shadow", "outer_glow")
INNER = ("satin", "inner_glow", "inner_shadow", "bevel")  # bottom to top, as Photoshop stacks them


@dataclass(frozen=True)
class Effect:
    """One layer effect with Photoshop's parameters (sizes in pixels, percentages 0..100)."""

    kind: str  # drop_shadow, outer_glow, inner_shadow, inner_glow, satin, bevel
    color: tuple[float, float, float]  # RGB 0..1 (a bevel's highlight)
    opacity: float = 0.75  # 0..1
    blend_mode: BlendMode = BlendMode.NORMAL
    size: float = 5.0
    spread: float = 0.0  # spread (outer) or choke (inner), percent of size
    distance: float = 0.0
    angle: float = 120.0  # degrees; the light comes from here
    range: float = 100.0  # glows: percent
    contour: tuple[tuple[float, float], ...] = ()  # (x, y) 0..255; () is linear
    conceals: bool = True  # drop shadow: the layer knocks it out ("Layer Knocks Out Drop Shadow")
    source_center: bool = False  # inner glow from the centre instead of the edges
    invert: bool = True  # satin
    # bevel (inner bevel; colour/opacity/blend_mode above are its highlight's)
    altitude: float = 30.0
    depth: float = 100.0  # percent
    up: bool = True
    soften: float = 0.0
    shadow_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    shadow_opacity: float = 0.75
    shadow_mode: BlendMode = BlendMode.MULTIPLY

    def __post_init__(self) -> None:
        if self.kind not in OUTER + INNER:
            raise ValueError(f"unknown layer effect {self.kind!r}")


# ----- kernels -----------------------------------------------------------------
def box_blur2(plane: np.ndarray, size: int, border_value: float = 0.0) -> np.ndarray:
    """Two passes of a ``size``-wide box filter (Photoshop's shadow and glow blur)."""
    import cv2

    size = int(size)
    if size <= 1:
        return plane
    border = cv2.BORDER_CONSTANT
    out = plane.astype(np.float32, copy=True)
    anchors = ((size // 2, size // 2), (size // 2, size // 2))
    if size % 2 == 0:  # even width: shift the two passes opposite ways (symmetric in total)
        anchors = ((size // 2 - 1, size // 2 - 1), (size // 2, size // 2))
    pad = size + 1
    out = cv2.copyMakeBorder(out, pad, pad, pad, pad, border, value=float(border_value))
    for anchor in anchors:
        out = cv2.blur(out, (size, size), anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    return out[pad:-pad, pad:-pad]


def grow(plane: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a coverage plane by ``pixels`` (Euclidean distance, edges anti-aliased)."""
    import cv2

    if pixels <= 0:
        return plane
    outside = (plane < 0.5).astype(np.uint8)
    pad = int(pixels) + 2
    outside = cv2.copyMakeBorder(outside, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=1)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[pad:-pad, pad:-pad]
    grown = np.clip(np.float32(pixels) + np.float32(0.5) - dist, 0.0, 1.0)
    return np.maximum(grown, plane).astype(np.float32)


def shift(plane: np.ndarray, dx: int, dy: int, fill: float = 0.0) -> np.ndarray:
    """Move a plane by whole pixels, filling what comes in with ``fill``."""
    if dx == 0 and dy == 0:
        return plane
    h, w = plane.shape
    out = np.full_like(plane, fill)
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    if abs(dx) < w and abs(dy) < h:
        out[yd, xd] = plane[ys, xs]
    return out


def offset(distance: float, angle: float) -> tuple[int, int]:
    """Photoshop's shadow offset: away from the light at ``angle`` degrees, whole pixels."""
    theta = math.radians(angle)
    # halves round up: cos(120 deg) * 5 is 2.4999... in floating point, Photoshop moves 3
    return (int(math.floor(-distance * math.cos(theta) + 0.5 + 1e-9)),
            int(math.floor(distance * math.sin(theta) + 0.5 + 1e-9)))


def contour_lut(points) -> np.ndarray | None:
    """A contour's lookup table over 0..1 (None for the linear contour)."""
    pts = sorted((float(x), float(y)) for x, y in points)
    if len(pts) < 2 or all(abs(x - y) < 0.5 for x, y in pts):
        return None
    xs = np.array([p[0] for p in pts]) / 255.0
    ys = np.array([p[1] for p in pts]) / 255.0
    return np.interp(np.linspace(0.0, 1.0, 256), xs, ys).astype(np.float32)


def _contour(plane: np.ndarray, lut: np.ndarray | None) -> np.ndarray:
    if lut is None:
        return plane
    idx = np.clip(np.round(plane * 255.0), 0, 255).astype(np.intp)
    return lut[idx]


def _split(effect: Effect) -> tuple[int, int]:
    """(grow, blur) pixels: the spread/choke part of the size, then the rest."""
    size = max(0, int(round(effect.size)))
    grown = int(round(size * max(0.0, min(100.0, effect.spread)) / 100.0))
    return grown, size - grown


def coverage(effect: Effect, alpha: np.ndarray) -> np.ndarray:
    """Where an effect paints (0..1, before its opacity), over the same pixels as ``alpha``.

    ``alpha`` must leave room for the effect's reach around the layer (outer
    effects are drawn outside it). Inner effects mix into the layer's straight
    colour, so their coverage is not multiplied by its alpha (which limits
    them anyway): a faint edge pixel takes the full shadow, as in Photoshop.
    """
    grown, blur = _split(effect)
    lut = contour_lut(effect.contour)
    kind = effect.kind
    if kind == "drop_shadow":
        plane = box_blur2(grow(alpha, grown), blur)
        plane = _contour(plane, lut)
        dx, dy = offset(effect.distance, effect.angle)
        plane = shift(plane, dx, dy)
        if effect.conceals:  # hidden under the layer's solid pixels (their edges: not, measured)
            plane = np.where(alpha >= 1.0, np.float32(0.0), plane)
        return plane
    if kind == "outer_glow":
        plane = box_blur2(grow(alpha, grown), blur)
        plane = _ranged(plane, effect.range)
        return _contour(plane, lut)
    if kind == "inner_shadow":
        dx, dy = offset(effect.distance, effect.angle)
        inv = shift(1.0 - alpha, dx, dy, fill=1.0)
        plane = box_blur2(grow(inv, grown), blur, border_value=1.0)
        return _contour(plane, lut)
    if kind == "inner_glow":
        plane = box_blur2(grow(1.0 - alpha, grown), blur, border_value=1.0)
        plane = _ranged(plane, effect.range)
        if effect.source_center:
            plane = 1.0 - plane
        return _contour(plane, lut)
    if kind == "bevel":
        raise ValueError("a bevel has two colours: use bevel_light()")
    # satin: the blurred shape against itself moved both ways along the angle
    plane = _contour(box_blur2(alpha, max(0, int(round(effect.size)))), lut)
    dx, dy = offset(effect.distance, effect.angle)
    diff = np.abs(shift(plane, dx, dy) - shift(plane, -dx, -dy))
    if effect.invert:
        diff = 1.0 - diff
    return diff


def bevel_light(effect: Effect, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(highlight, shadow) amounts 0..1 of an inner bevel over the pixels of ``alpha``."""
    import cv2

    size = max(1.0, float(effect.size))
    height = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), sigmaX=size / 2.0,
                              borderType=cv2.BORDER_CONSTANT)
    gy, gx = np.gradient(height)
    k = np.float32(6.0 * max(0.0, effect.depth) / 100.0 * (1.0 if effect.up else -1.0))
    nx, ny = -gx * k, -gy * k
    theta, alt = math.radians(effect.angle), math.radians(max(0.0, min(90.0, effect.altitude)))
    lx, ly, lz = math.cos(theta) * math.cos(alt), -math.sin(theta) * math.cos(alt), math.sin(alt)
    shade = (nx * np.float32(lx) + ny * np.float32(ly) + np.float32(lz)) / np.sqrt(nx * nx + ny * ny + 1.0)
    flat = np.float32(lz)
    high = np.clip((shade - flat) / max(1e-6, 1.0 - flat), 0.0, 1.0)
    low = np.clip((flat - shade) / max(1e-6, flat), 0.0, 1.0)
    if effect.soften >= 1.0:
        high, low = box_blur2(high, int(round(effect.soften))), box_blur2(low, int(round(effect.soften)))
    return high.astype(np.float32), low.astype(np.float32)


def _ranged(plane: np.ndarray, rng: float) -> np.ndarray:
    r = max(1.0, min(100.0, float(rng))) / 100.0
    return np.minimum(1.0, plane / np.float32(r)) if r < 1.0 else plane


# ----- drawing ------------------------------------------------------------------
def apply_effects(rgba: np.ndarray, effects, shape: np.ndarray | None = None) -> np.ndarray:
    """Draw ``effects`` onto straight RGBA uint8 pixels; returns new pixels, same size.

    ``shape`` (0..1) is what the effects follow (the layer's pixels before its
    fill opacity); by default the pixels' own alpha. Outer effects go under
    the layer (composited as normal: exact over transparency and for black
    multiply shadows, the usual case); inner effects go on the layer's colour
    with their own blend mode, limited to its alpha, as Photoshop draws them
    for an opaque layer.
    """
    from .compositing import blend_function

    effects = list(effects)
    if not effects or rgba.size == 0:
        return rgba
    k = np.float32(1.0 / 255.0)
    alpha = rgba[..., 3].astype(np.float32) * k
    src = alpha if shape is None else np.clip(shape.astype(np.float32), 0.0, 1.0)
    color = rgba[..., :3].astype(np.float32) * k

    def mix(color, amount, rgb, opacity, mode):
        t = np.clip(amount * np.float32(opacity), 0.0, 1.0)[..., None]
        ec = np.broadcast_to(np.asarray(rgb, np.float32), color.shape)
        fn = blend_function(mode)
        mixed = np.clip(fn(color, ec), 0.0, 1.0) if fn is not None else ec
        return color + (mixed - color) * t

    for kind in INNER:
        for effect in (e for e in effects if e.kind == kind):
            if kind == "bevel":
                high, low = bevel_light(effect, src)
                color = mix(color, low, effect.shadow_color, effect.shadow_opacity, effect.shadow_mode)
                color = mix(color, high, effect.color, effect.opacity, effect.blend_mode)
            else:
                color = mix(color, coverage(effect, src), effect.color, effect.opacity,
                            effect.blend_mode)
    out_c, out_a = _outer(effects, src)
    out_c = color * alpha[..., None] + out_c * (1.0 - alpha[..., None])
    out_a = alpha + out_a * (1.0 - alpha)
    return _straight_uint8(out_c, out_a)


def _unit(a: np.ndarray) -> np.ndarray:
    """Clamp to 0..1 in place (np.clip's result, several times faster on big planes)."""
    np.maximum(a, 0.0, out=a)
    np.minimum(a, 1.0, out=a)
    return a


def _outer(effects, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The outer effects alone over transparency: (colour times coverage, alpha), float.

    In place where it can be (the same values as the plain expressions): a group's
    style is redrawn from it while the person edits (``group_styles``)."""
    out_c = out_a = None
    for kind in OUTER:  # drop shadows lowest, then outer glows
        for effect in (e for e in effects if e.kind == kind):
            t = coverage(effect, src) * np.float32(effect.opacity)
            t = _unit(t if t.dtype == np.float32 else t.astype(np.float32))
            rgb = np.asarray(effect.color, np.float32)
            if out_a is None:  # over nothing: colour times coverage, alpha the coverage
                out_c = rgb * t[..., None]
                out_a = t.copy()
                continue
            keep = 1.0 - t
            out_c *= keep[..., None]
            out_c += rgb * t[..., None]
            out_a *= keep
            out_a += t
    if out_a is None:
        return np.zeros(src.shape + (3,), np.float32), np.zeros(src.shape, np.float32)
    return out_c, out_a


def _straight_uint8(out_c: np.ndarray, out_a: np.ndarray) -> np.ndarray:
    result = np.empty(out_a.shape + (4,), np.uint8)
    safe = np.where(out_a > 1e-6, out_a, 1.0)[..., None]
    c = _unit(out_c / safe)
    c *= 255.0
    result[..., :3] = np.round(c, out=c)
    a = _unit(out_a.copy())
    a *= 255.0
    result[..., 3] = np.round(a, out=a)
    return result


def outer_effects(effects, shape: np.ndarray) -> np.ndarray:
    """Only the outer effects (drop shadows, outer glows) of ``shape`` (0..1), as straight
    RGBA uint8: what ``apply_effects`` draws for them under a transparent layer, without
    the work for the layer's own colour (a group's style drawn as a layer of its own)."""
    src = np.clip(shape.astype(np.float32), 0.0, 1.0)
    return _straight_uint8(*_outer([e for e in effects if e.kind in OUTER], src))

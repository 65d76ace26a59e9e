"""Build full-resolution layers from the working-resolution analysis.

Each region's alpha is computed at full resolution where it matters (its
rim): the pixel is projected onto the line between the region's colour and
what lies beneath it, ``alpha = ((I - U)·(F - U)) / |F - U|^2``, which
recovers anti-aliasing and soft edges exactly for flat fills. Hidden parts
take the region's own fill. A last pass makes the layers composite back to
the input exactly: each pixel's residual goes to the layer that is most
visible there, divided by its visibility (unblending), so edge colours come
out as the object's colour, not a mix with the background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .grouping import Group
from .models import RegionModel

BAND_ROWS = 256
_MIN_CONTRAST2 = 0.06 ** 2


@dataclass
class LayerBuffer:
    pixels: np.ndarray        # (h, w, 4) uint8, straight alpha, writable
    x: int
    y: int
    name: str
    claim: np.ndarray | None = None   # (h, w) bool: rim pixels this layer may absorb

    @property
    def box(self):
        return self.x, self.y, self.x + self.pixels.shape[1], self.y + self.pixels.shape[0]


Scale = tuple[float, float]  # working / full, per axis


def upsample(src: np.ndarray, origin: tuple[int, int], box: tuple[int, int, int, int],
             scale: Scale, replicate: bool) -> np.ndarray:
    """Sample a working-resolution crop (top-left ``origin``) onto a full-res ``box``."""
    x0w, y0w = origin
    X0, Y0, X1, Y1 = box
    sx, sy = scale
    if sx == 1.0 and sy == 1.0 and X0 - x0w >= 0 and Y0 - y0w >= 0 \
            and X1 - x0w <= src.shape[1] and Y1 - y0w <= src.shape[0]:
        return np.ascontiguousarray(src[Y0 - y0w:Y1 - y0w, X0 - x0w:X1 - x0w])
    mat = np.float32([[sx, 0, (X0 + 0.5) * sx - 0.5 - x0w],
                      [0, sy, (Y0 + 0.5) * sy - 0.5 - y0w]])
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.warpAffine(src, mat, (X1 - X0, Y1 - Y0),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)


def full_box(model: RegionModel, scale: Scale, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = model.box
    sx, sy = scale
    pad = int(math.ceil(1.0 / min(sx, sy))) + 1
    return (max(0, int(math.floor(x0 / sx)) - pad), max(0, int(math.floor(y0 / sy)) - pad),
            min(width, int(math.ceil(x1 / sx)) + pad), min(height, int(math.ceil(y1 / sy)) + pad))


def region_rgba(model: RegionModel, box, scale: Scale, image: np.ndarray,
                under: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution (alpha, colour, rim zone) of one region inside ``box``."""
    X0, Y0, X1, Y1 = box
    origin = model.box[:2]
    sup = upsample(model.support, origin, box, scale, False)
    colour = upsample(model.colour, origin, box, scale, True)
    a_model = upsample(model.alpha, origin, box, scale, True)
    img = image[Y0:Y1, X0:X1, :3].astype(np.float32) * np.float32(1.0 / 255.0)
    d = colour - under
    den = np.einsum("...c,...c->...", d, d)
    num = np.einsum("...c,...c->...", img - under, d)
    own = upsample(model.own, origin, box, scale, False)
    proj = np.where(den > _MIN_CONTRAST2, num / np.maximum(den, 1e-9), own)
    np.clip(proj, 0.0, 1.0, out=proj)
    r = max(1, int(math.ceil(1.0 / min(scale)))) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    zone = cv2.dilate((sup > 0.01).astype(np.uint8), kernel).astype(bool)
    inner = upsample(model.interior, origin, box, scale, False)
    fixed = inner >= (0.99 if model.kind in ("shape", "photo", "text") else 0.5)
    alpha = np.where(fixed, a_model, np.where(zone, proj, 0.0)).astype(np.float32)
    alpha[alpha < 0.03] = 0.0
    alpha[alpha > 0.97] = 1.0
    return alpha, colour, zone


def build_layers(groups: list[Group], models: dict[int, RegionModel], scale: Scale,
                 image: np.ndarray, under: np.ndarray,
                 check: Callable[[], None] = lambda: None) -> list[LayerBuffer]:
    """Composite regions group by group (bottom first) into uint8 layer buffers.

    ``under`` (H, W, 3) float32 starts as the background and is updated in
    place to the running composite, which is what each next region unblends
    against.
    """
    height, width = image.shape[:2]
    out = []
    for group in groups:
        boxes = {lbl: full_box(models[lbl], scale, width, height) for lbl in group.labels}
        gx0 = min(b[0] for b in boxes.values())
        gy0 = min(b[1] for b in boxes.values())
        gx1 = max(b[2] for b in boxes.values())
        gy1 = max(b[3] for b in boxes.values())
        buf = np.zeros((gy1 - gy0, gx1 - gx0, 4), np.uint8)
        claim = np.zeros(buf.shape[:2], bool)
        for lbl in group.labels:
            check()
            box = boxes[lbl]
            X0, Y0, X1, Y1 = box
            u = under[Y0:Y1, X0:X1]
            alpha, colour, zone = region_rgba(models[lbl], box, scale, image, u)
            claim[Y0 - gy0:Y1 - gy0, X0 - gx0:X1 - gx0] |= zone
            a3 = alpha[..., None]
            u[...] = a3 * colour + (1.0 - a3) * u
            sub = buf[Y0 - gy0:Y1 - gy0, X0 - gx0:X1 - gx0]
            ab = sub[..., 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
            cb = sub[..., :3].astype(np.float32) * np.float32(1.0 / 255.0)
            ao = a3 + ab * (1.0 - a3)
            co = (a3 * colour + ab * (1.0 - a3) * cb) / np.maximum(ao, 1e-6)
            sub[..., :3] = np.clip(co * 255.0 + 0.5, 0, 255).astype(np.uint8)
            sub[..., 3] = np.clip(ao[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        out.append(LayerBuffer(buf, gx0, gy0, group.name, claim))
    return out


def _band_views(layers, y0, y1):
    views = []
    for layer in layers:
        lx0, ly0, lx1, ly1 = layer.box
        if ly1 <= y0 or ly0 >= y1:
            views.append(None)
            continue
        ry0, ry1 = max(y0, ly0), min(y1, ly1)
        claim = None if layer.claim is None else layer.claim[ry0 - ly0:ry1 - ly0]
        views.append((layer.pixels[ry0 - ly0:ry1 - ly0], ry0 - y0, ry1 - y0, lx0, lx1, claim))
    return views


def _unblend_pass(views, target: np.ndarray, primary_alpha: float, tol: float) -> None:
    """Give each pixel's colour to the topmost layer that claims it, unblending against
    what lies beneath; a faint claimant gets just enough alpha to carry the difference."""
    inv = np.float32(1.0 / 255.0)
    bh, width = target.shape[:2]
    chosen = np.full((bh, width), -1, np.int16)
    for i in range(len(views) - 1, -1, -1):
        v = views[i]
        if v is None:
            continue
        px, r0, r1, lx0, lx1, claim = v
        cand = px[..., 3] >= int(round(primary_alpha * 255))
        if claim is not None:
            cand |= claim
        sub = chosen[r0:r1, lx0:lx1]
        sub[cand & (sub < 0)] = i
    run = np.zeros((bh, width, 3), np.float32)
    for i, v in enumerate(views):
        if v is None:
            continue
        px, r0, r1, lx0, lx1, _ = v
        reg = run[r0:r1, lx0:lx1]
        sel = chosen[r0:r1, lx0:lx1] == i
        if sel.any():
            u = reg[sel]
            need = target[r0:r1, lx0:lx1][sel] - u
            a = px[..., 3][sel].astype(np.float32) * inv
            weak = a < primary_alpha
            if weak.any():
                nw, uw = need[weak], u[weak]
                amin = np.where(nw > 0, nw / np.maximum(1.0 - uw, 1e-6), -nw / np.maximum(uw, 1e-6)).max(-1)
                big = np.abs(nw).max(-1) > tol
                a_new = np.where(big, np.maximum(a[weak], np.minimum(amin, 1.0)), a[weak])
                a[weak] = np.ceil(a_new * 255.0 - 1e-3) * inv
                px[..., 3][sel] = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
            has = a > 0
            col = px[..., :3][sel].astype(np.float32)
            new = np.where(has[:, None], (u + need / np.maximum(a, 1e-6)[:, None]) * 255.0, col)
            px[..., :3][sel] = np.clip(np.floor(new + 0.5), 0, 255).astype(np.uint8)
        a = px[..., 3].astype(np.float32)[..., None] * inv
        reg[...] = a * (px[..., :3].astype(np.float32) * inv) + (1.0 - a) * reg


def _visible_pass(views, target: np.ndarray, rank: int = 0) -> None:
    """Whatever is left (clipping, rounding) goes to the most visible layer of each pixel
    (``rank`` 1: the second most visible, for what the first could not take)."""
    inv = np.float32(1.0 / 255.0)
    bh, width = target.shape[:2]
    trans = np.ones((bh, width), np.float32)
    comp = np.zeros((bh, width, 3), np.float32)
    best_w = np.zeros((rank + 1, bh, width), np.float32)
    best_i = np.full((rank + 1, bh, width), -1, np.int16)
    for i in range(len(views) - 1, -1, -1):
        v = views[i]
        if v is None:
            continue
        px, r0, r1, lx0, lx1, _ = v
        a = px[..., 3].astype(np.float32) * inv
        t = trans[r0:r1, lx0:lx1]
        wgt = a * t
        comp[r0:r1, lx0:lx1] += wgt[..., None] * (px[..., :3].astype(np.float32) * inv)
        cur_w, cur_i = wgt, np.full(wgt.shape, i, np.int16)
        for k in range(rank + 1):  # insertion into the top-(rank+1) list
            bw = best_w[k, r0:r1, lx0:lx1]
            bi = best_i[k, r0:r1, lx0:lx1]
            better = cur_w > bw
            old_w, old_i = bw.copy(), bi.copy()
            bw[better], bi[better] = cur_w[better], cur_i[better]
            cur_w, cur_i = np.where(better, old_w, cur_w), np.where(better, old_i, cur_i)
        t *= 1.0 - a
    resid = target - comp
    sel_w, sel_i = best_w[rank], best_i[rank]
    for i, v in enumerate(views):
        if v is None:
            continue
        px, r0, r1, lx0, lx1, _ = v
        sel = sel_i[r0:r1, lx0:lx1] == i
        if rank:
            sel &= np.abs(resid[r0:r1, lx0:lx1]).max(-1) > 0.5 / 255.0
        if not sel.any():
            continue
        wsel = np.maximum(sel_w[r0:r1, lx0:lx1][sel], 1e-6)[:, None]
        old = px[..., :3][sel].astype(np.float32)
        new = old + resid[r0:r1, lx0:lx1][sel] / wsel * 255.0
        px[..., :3][sel] = np.clip(np.floor(new + 0.5), 0, 255).astype(np.uint8)


def match_input(layers: list[LayerBuffer], image: np.ndarray, input_alpha: np.ndarray | None,
                check: Callable[[], None] = lambda: None, primary_alpha: float = 0.15,
                tol: float = 2.0 / 255.0) -> None:
    """Adjust layer colours (and faint alphas) so the stack composites to the input.

    Each pixel's difference goes first to the topmost layer that is reasonably
    opaque there or whose rim covers it (anti-aliased edges and edge halos
    belong to the object, so moving it leaves a clean background), then any
    leftover from clipping to the most visible layer.

    For an input with transparency the opaque decomposition is then scaled by
    the input alpha: each layer keeps its share of every pixel (stick-breaking
    over the stack), so nothing appears where the input was transparent.
    """
    height, width = image.shape[:2]
    inv = np.float32(1.0 / 255.0)
    for y0 in range(0, height, BAND_ROWS):
        check()
        y1 = min(height, y0 + BAND_ROWS)
        views = _band_views(layers, y0, y1)
        target = image[y0:y1, :, :3].astype(np.float32) * inv
        _unblend_pass(views, target, primary_alpha, tol)
        _visible_pass(views, target)
        _visible_pass(views, target, rank=1)
        if input_alpha is not None:
            a_in = input_alpha[y0:y1].astype(np.float32) * inv
            _rescale_alphas(views, a_in, y1 - y0, width)
            _visible_pass(views, target * a_in[..., None])
            _visible_pass(views, target * a_in[..., None], rank=1)
    for layer in layers:
        layer.pixels[layer.pixels[..., 3] == 0, :3] = 0


def _rescale_alphas(views, a_in: np.ndarray, bh: int, width: int) -> None:
    inv = np.float32(1.0 / 255.0)
    trans = np.ones((bh, width), np.float32)
    weights = [None] * len(views)
    for i in range(len(views) - 1, -1, -1):
        v = views[i]
        if v is None:
            continue
        px, r0, r1, lx0, lx1, _ = v
        a = px[..., 3].astype(np.float32) * inv
        t = trans[r0:r1, lx0:lx1]
        weights[i] = a * t * a_in[r0:r1, lx0:lx1]
        t *= 1.0 - a
    taken = np.zeros((bh, width), np.float32)
    for i in range(len(views) - 1, -1, -1):
        v = views[i]
        if v is None:
            continue
        px, r0, r1, lx0, lx1, _ = v
        s = taken[r0:r1, lx0:lx1]
        a_new = weights[i] / np.maximum(1.0 - s, 1e-6)
        px[..., 3] = np.clip(a_new * 255.0 + 0.5, 0, 255).astype(np.uint8)
        s += weights[i]


def crop_to_content(layer: LayerBuffer) -> LayerBuffer | None:
    a = layer.pixels[..., 3]
    rows = np.flatnonzero(a.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(a.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return LayerBuffer(layer.pixels[y0:y1, x0:x1], layer.x + int(x0), layer.y + int(y0), layer.name)

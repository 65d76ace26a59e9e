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
from .tints import untint

BAND_ROWS = 256
_MIN_CONTRAST2 = 0.06 ** 2
GLYPH_BODY = 0.5     # alpha from which a text pixel is the glyph's body, not its rim
GLYPH_BODY_SHARE = 0.3  # ... and the least share of its support the body must be to be trusted


@dataclass
class LayerBuffer:
    pixels: np.ndarray        # (h, w, 4) uint8, straight alpha, writable
    x: int
    y: int
    name: str
    claim: np.ndarray | None = None   # (h, w) bool: rim pixels this layer may absorb
    bar: np.ndarray | None = None     # (h, w) bool: pixels next to it that are surely not its own

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


def seen_image(image: np.ndarray, box, scale: Scale,
               tints: list[RegionModel]) -> tuple[np.ndarray, np.ndarray | None]:
    """The image inside ``box`` (float) as it is under the translucent shapes ``tints``
    (those stacked above the region being built): each taken off where it lies whole, so
    what it covers unblends against its own colours, not tinted ones. Also where that is
    (None: nowhere)."""
    X0, Y0, X1, Y1 = box
    img = image[Y0:Y1, X0:X1, :3].astype(np.float32) * np.float32(1.0 / 255.0)
    seen = None
    for t in tints:
        whole = upsample(t.interior, t.box[:2], box, scale, False) >= 0.99
        if whole.any():
            img[whole] = untint(img[whole], *t.tint)
            seen = whole if seen is None else seen | whole
    return img, seen


def region_rgba(model: RegionModel, box, scale: Scale, img: np.ndarray,
                under: np.ndarray, seen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution (alpha, colour, rim zone) of one region inside ``box``, where the
    image is ``img`` (float, the box's crop). Where a tint lets it be seen (``seen``), a
    shadow's hidden part is unblended like its visible one, not taken from its model."""
    origin = model.box[:2]
    sup = upsample(model.support, origin, box, scale, False)
    colour = upsample(model.colour, origin, box, scale, True)
    a_model = upsample(model.alpha, origin, box, scale, True)
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
    if seen is not None and model.kind == "shadow":
        fixed &= ~seen
    alpha = np.where(fixed, a_model, np.where(zone, proj, 0.0)).astype(np.float32)
    alpha[alpha < 0.03] = 0.0
    alpha[alpha > 0.97] = 1.0
    bar = None
    if model.kind == "text":
        alpha, zone, bar = _glyph_rim(alpha, zone, sup)
    return alpha, colour, zone, bar


def _glyph_rim(alpha: np.ndarray, zone: np.ndarray, sup: np.ndarray):
    """A word is flat-coloured glyphs with a hard edge: its anti-aliased rim is the one pixel
    round each glyph's body (alpha >= ``GLYPH_BODY``), at any size. What unblending finds
    farther out (in a counter, between letters, in the ring the region takes at working size)
    is what lies beneath departing from its model (a photo's or texture's detail, not the
    inpainted fill) and would give the word a faint halo that moves with it; there the word
    is absent and may not claim the pixel (``bar``). A body too small to trust (a colour
    model that misses the strokes) leaves the word as it was."""
    body = alpha >= GLYPH_BODY
    if body.sum() < GLYPH_BODY_SHARE * max(1, int((sup > 0.5).sum())):
        return alpha, zone, None
    rim = cv2.dilate(body.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return np.where(rim, alpha, 0.0).astype(np.float32), zone & rim, zone & ~rim


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
    pending = {k: m for k, m in models.items() if m.tint is not None}  # tints not yet laid
    for group in groups:
        boxes = {lbl: full_box(models[lbl], scale, width, height) for lbl in group.labels}
        gx0 = min(b[0] for b in boxes.values())
        gy0 = min(b[1] for b in boxes.values())
        gx1 = max(b[2] for b in boxes.values())
        gy1 = max(b[3] for b in boxes.values())
        buf = np.zeros((gy1 - gy0, gx1 - gx0, 4), np.uint8)
        claim = np.zeros(buf.shape[:2], bool)
        bar = np.zeros(buf.shape[:2], bool)
        for lbl in group.labels:
            check()
            box = boxes[lbl]
            X0, Y0, X1, Y1 = box
            u = under[Y0:Y1, X0:X1]
            pending.pop(lbl, None)
            over = [t for t in pending.values() if _meets(full_box(t, scale, width, height), box)]
            img, seen = seen_image(image, box, scale, over)
            alpha, colour, zone, no = region_rgba(models[lbl], box, scale, img, u, seen)
            claim[Y0 - gy0:Y1 - gy0, X0 - gx0:X1 - gx0] |= zone
            if no is not None:
                bar[Y0 - gy0:Y1 - gy0, X0 - gx0:X1 - gx0] |= no
            a3 = alpha[..., None]
            u[...] = a3 * colour + (1.0 - a3) * u
            sub = buf[Y0 - gy0:Y1 - gy0, X0 - gx0:X1 - gx0]
            ab = sub[..., 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
            cb = sub[..., :3].astype(np.float32) * np.float32(1.0 / 255.0)
            ao = a3 + ab * (1.0 - a3)
            co = (a3 * colour + ab * (1.0 - a3) * cb) / np.maximum(ao, 1e-6)
            sub[..., :3] = np.clip(co * 255.0 + 0.5, 0, 255).astype(np.uint8)
            sub[..., 3] = np.clip(ao[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        bar &= ~claim & (buf[..., 3] == 0)  # what another region of the group holds stays
        out.append(LayerBuffer(buf, gx0, gy0, group.name, claim, bar if bar.any() else None))
    return out


def _meets(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grow(layer: LayerBuffer, box: tuple[int, int, int, int]) -> None:
    """Enlarge a layer's buffer (and claim) to cover ``box`` too; new pixels are empty."""
    x0, y0, x1, y1 = layer.box
    nx0, ny0, nx1, ny1 = min(x0, box[0]), min(y0, box[1]), max(x1, box[2]), max(y1, box[3])
    if (nx0, ny0, nx1, ny1) == (x0, y0, x1, y1):
        return
    px = np.zeros((ny1 - ny0, nx1 - nx0, 4), np.uint8)
    px[y0 - ny0:y1 - ny0, x0 - nx0:x1 - nx0] = layer.pixels
    claim = np.zeros(px.shape[:2], bool)
    if layer.claim is not None:
        claim[y0 - ny0:y1 - ny0, x0 - nx0:x1 - nx0] = layer.claim
    if layer.bar is not None:
        bar = np.zeros(px.shape[:2], bool)
        bar[y0 - ny0:y1 - ny0, x0 - nx0:x1 - nx0] = layer.bar
        layer.bar = bar
    layer.pixels, layer.claim, layer.x, layer.y = px, claim, nx0, ny0


def claim_residue(layers: list[LayerBuffer], image: np.ndarray, threshold: float,
                  radius: int, check: Callable[[], None] = lambda: None) -> int:
    """Hand what the background model does not explain next to an object to that object.

    Whatever no layer claims ends up in the bottom layer as the input itself, so the
    faint tail of a glow or shadow, an edge halo or a speck just outside a region would
    stay behind as a ring, a ghost or dots once the object is moved or hidden. Pixels
    within ``radius`` of a layer that differ from the background model by more than
    ``threshold`` levels become part of the nearest layer's claim; the exact
    reconstruction then gives that layer just enough alpha to carry them and leaves the
    model's colour in the background. Returns the number of pixels claimed.
    """
    if len(layers) < 2:
        return 0
    height, width = image.shape[:2]
    bottom = layers[0]
    index = np.zeros((height, width), np.int32)   # topmost layer present, 0 = none
    for i, layer in enumerate(layers[1:], start=1):
        check()
        x0, y0, x1, y1 = layer.box
        pres = layer.pixels[..., 3] > 0
        if layer.claim is not None:
            pres |= layer.claim
        sub = index[y0:y1, x0:x1]
        sub[pres] = i
    present = index > 0
    if not present.any():
        return 0
    barred = np.zeros((height, width), bool)
    for layer in layers[1:]:
        if layer.bar is not None:
            x0, y0, x1, y1 = layer.box
            barred[y0:y1, x0:x1] |= layer.bar
    bx0, by0 = bottom.x, bottom.y
    model = bottom.pixels[-by0:height - by0, -bx0:width - bx0, :3]
    dev = cv2.absdiff(image[..., :3], model).max(axis=-1)
    cand = (dev > threshold) & ~present & ~barred
    if not cand.any():
        return 0
    check()
    dist, lab = cv2.distanceTransformWithLabels((~present).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    seeds = index[present]   # raster order matches the pixel labels
    cand &= dist <= radius
    # only what hangs together with the object: isolated dots farther out are the
    # background's own grain (dithering, compression), not the object's residue
    n, comp = cv2.connectedComponents(cand.astype(np.uint8), connectivity=8)
    if n > 1:
        touching = np.zeros(n, bool)
        touching[np.unique(comp[cand & (dist <= 1.5)])] = True
        touching[0] = False
        cand = touching[comp]
    rr, cc = np.nonzero(cand)
    if rr.size == 0:
        return 0
    near = seeds[np.clip(lab[rr, cc] - 1, 0, seeds.size - 1)]
    for i in np.unique(near):
        check()
        layer = layers[int(i)]
        sel = near == i
        r, c = rr[sel], cc[sel]
        _grow(layer, (int(c.min()), int(r.min()), int(c.max()) + 1, int(r.max()) + 1))
        if layer.claim is None:
            layer.claim = np.zeros(layer.pixels.shape[:2], bool)
        layer.claim[r - layer.y, c - layer.x] = True
    return int(rr.size)


def _q(x: np.ndarray) -> np.ndarray:
    """Round values in [0, 1] to the 8-bit grid they will be stored on."""
    return np.clip(np.floor(x * 255.0 + 0.5), 0, 255) * np.float32(1.0 / 255.0)


def _weights(A: np.ndarray) -> np.ndarray:
    """Visibility of each layer (rows, bottom first) in the composite: a_i * prod_{j>i}(1-a_j)."""
    W = np.empty_like(A)
    trans = np.ones(A.shape[1], np.float32)
    for i in range(A.shape[0] - 1, -1, -1):
        W[i] = A[i] * trans
        trans *= 1.0 - A[i]
    return W


def _fix_residual(A, F, target, rank: int) -> None:
    """Give what the composite misses to the rank-th most visible layer (unblended)."""
    W = _weights(A)
    comp = np.einsum("ln,lnc->nc", W, F)
    resid = target - comp
    if rank:
        big = np.abs(resid).max(-1) > 0.5 / 255.0
        Wr = W.copy()
        Wr[np.argmax(W, axis=0), np.arange(W.shape[1])] = -1.0
        # never the bottom layer: what it takes here stays behind as a ghost of the
        # object's outline once the object is moved or hidden
        Wr[0] = -1.0
        pick = np.argmax(Wr, axis=0)
        # nor a layer that barely shows: dividing by its tiny weight would repaint its
        # hidden colour (a covered card turning the colour of the rim above it)
        big &= Wr[pick, np.arange(W.shape[1])] > 0.05
    else:
        big = np.ones(W.shape[1], bool)
        pick = np.argmax(W, axis=0)
    n = np.flatnonzero(big)
    li = pick[n]
    w = np.maximum(W[li, n], 1e-6)[:, None]
    F[li, n] = _q(F[li, n] + resid[n] / w)


def _force_exact(A, F, target, tol: float = 1.5 / 255.0) -> None:
    """Last resort where clipping left a visible error: the topmost present layer takes
    the pixel outright (opaque, exact colour). Rare: it needs several faint layers
    stacked on one pixel with colours no unblending can reach."""
    W = _weights(A)
    comp = np.einsum("ln,lnc->nc", W, F)
    bad = np.flatnonzero(np.abs(target - comp).max(-1) > tol)
    if bad.size == 0:
        return
    present = A[:, bad] > 0
    top = A.shape[0] - 1 - np.argmax(present[::-1], axis=0)
    A[top, bad] = 1.0
    F[top, bad] = _q(target[bad])


def _unblend(A, F, C, target, primary_alpha: float, tol: float, grain: float = 0.0) -> None:
    """Each pixel's colour goes to the topmost layer that claims it (reasonably opaque there,
    or its rim covers it), unblended against what lies beneath; a faint claimant gets just
    enough alpha to carry the difference. A difference within the background's own
    ``grain`` is no reason for a faint claimant to be there at all: on a photo the filled-in
    background never matches the grain, and carrying it would give an object a faint halo
    of photo pixels that moves with it; the bottom layer keeps those pixels instead."""
    L, N = A.shape
    cand = (A >= primary_alpha) | C
    cand[0] = True                          # the bottom layer takes what nobody else does
    top = L - 1 - np.argmax(cand[::-1], axis=0)
    U = np.zeros((N, 3), np.float32)
    run = np.zeros((N, 3), np.float32)
    for i in range(L):
        sel = top == i
        if sel.any():
            U[sel] = run[sel]
        run = A[i][:, None] * F[i] + (1.0 - A[i][:, None]) * run
    n = np.arange(N)
    a = A[top, n]
    need = target - U
    # The least alpha that carries the difference without clipping the colour: a faint
    # claimant gets just that; an opaque-enough one whose colour would clip (a rim pixel
    # brighter than its fill allows) gets a little more, instead of leaving the rest to
    # the layers beneath as specks on the object's edge.
    amin = np.where(need > 0, need / np.maximum(1.0 - U, 1e-6), -need / np.maximum(U, 1e-6)).max(-1)
    big = np.abs(need).max(-1) > tol
    if grain > tol:
        idle = (top > 0) & (a < primary_alpha) & (np.abs(need).max(-1) <= grain)
        if idle.any():
            a[idle] = 0.0
            A[top[idle], n[idle]] = 0.0
            big &= ~idle
    grow = big & (top > 0) & ((a < primary_alpha) | (amin > a))
    if grow.any():
        a_new = np.maximum(a[grow], np.minimum(amin[grow], 1.0))
        a[grow] = np.ceil(a_new * 255.0 - 1e-3) / 255.0
        A[top, n] = a
    has = a > 0
    F[top[has], n[has]] = _q(U[has] + need[has] / a[has][:, None])


def _rescale(A, a_in) -> None:
    """Scale the stack by the input alpha keeping each layer's share (stick-breaking).

    Where the layers above already cover a pixel completely, a layer's alpha does
    not change the picture; it keeps its own (clipped to the input's presence) so
    hidden parts survive, e.g. the card under its text when a layer is split.
    """
    W = _weights(A) * a_in[None]
    taken = np.zeros(A.shape[1], np.float32)
    present = (a_in > 0).astype(np.float32)
    for i in range(A.shape[0] - 1, -1, -1):
        room = 1.0 - taken
        free = room > 1e-4
        A[i] = np.where(free, _q(W[i] / np.maximum(room, 1e-6)), A[i] * present)
        taken += W[i]


def match_input(layers: list[LayerBuffer], image: np.ndarray, input_alpha: np.ndarray | None,
                check: Callable[[], None] = lambda: None, primary_alpha: float = 0.15,
                tol: float = 2.0 / 255.0, grain: float = 0.0) -> None:
    """Adjust layer colours (and faint alphas) so the stack composites to the input.

    Each pixel's difference goes first to the topmost layer that is reasonably
    opaque there or whose rim covers it (anti-aliased edges and edge halos
    belong to the object, so moving it leaves a clean background), then any
    leftover from clipping to the most visible layer, then the next one.

    For an input with transparency the opaque decomposition is then scaled by
    the input alpha: each layer keeps its share of every pixel (stick-breaking
    over the stack), so nothing appears where the input was transparent.

    Work is done only where some layer above the bottom one is present; the
    rest of the bottom layer is the input itself. ``layers[0]`` must cover the
    canvas.
    """
    height, width = image.shape[:2]
    inv = np.float32(1.0 / 255.0)
    bottom = layers[0]
    for y0 in range(0, height, BAND_ROWS):
        check()
        y1 = min(height, y0 + BAND_ROWS)
        bh = y1 - y0
        cov = np.zeros((bh, width), bool)
        parts = [None]
        for layer in layers[1:]:
            lx0, ly0, lx1, ly1 = layer.box
            if ly1 <= y0 or ly0 >= y1:
                parts.append(None)
                continue
            ry0, ry1 = max(y0, ly0), min(y1, ly1)
            px = layer.pixels[ry0 - ly0:ry1 - ly0]
            present = px[..., 3] > 0
            if layer.claim is not None:
                present = present | layer.claim[ry0 - ly0:ry1 - ly0]
            cov[ry0 - y0:ry1 - y0, lx0:lx1] |= present
            parts.append((ry0, ry1, lx0, lx1))
        band_img = image[y0:y1, :, :3]
        bottom_px = bottom.pixels[y0 - bottom.y:y1 - bottom.y]
        if input_alpha is None:
            np.copyto(bottom_px[..., :3], band_img, where=~cov[..., None])
        else:
            a_band = input_alpha[y0:y1]
            free = ~cov
            np.copyto(bottom_px[..., :3], band_img, where=free[..., None])
            np.copyto(bottom_px[..., 3], a_band, where=free)
        rr, cc = np.nonzero(cov)
        if rr.size == 0:
            continue
        L, N = len(layers), rr.size
        A = np.zeros((L, N), np.float32)
        F = np.zeros((L, N, 3), np.float32)
        C = np.zeros((L, N), bool)
        ins = [None] * L
        gy = rr + y0
        A[0] = bottom_px[rr, cc, 3] * inv
        F[0] = bottom_px[rr, cc, :3] * inv
        if input_alpha is not None:
            A[0] = 1.0  # the opaque decomposition first; transparency comes last
        ins[0] = np.ones(N, bool)
        for i, layer in enumerate(layers[1:], start=1):
            if parts[i] is None:
                continue
            ly = gy - layer.y
            lx = cc - layer.x
            inside = (ly >= 0) & (ly < layer.pixels.shape[0]) & (lx >= 0) & (lx < layer.pixels.shape[1])
            if not inside.any():
                continue
            ins[i] = inside
            px = layer.pixels[ly[inside], lx[inside]]
            A[i, inside] = px[:, 3] * inv
            F[i, inside] = px[:, :3] * inv
            if layer.claim is not None:
                C[i, inside] = layer.claim[ly[inside], lx[inside]]
        target = band_img[rr, cc].astype(np.float32) * inv
        _unblend(A, F, C, target, primary_alpha, tol, grain)
        for rank in range(min(3, L)):
            _fix_residual(A, F, target, rank)
        _force_exact(A, F, target)
        if input_alpha is not None:
            a_in = input_alpha[y0:y1][rr, cc].astype(np.float32) * inv
            _rescale(A, a_in)
            for rank in range(min(3, L)):
                _fix_residual(A, F, target * a_in[:, None], rank)
        for i, layer in enumerate(layers):
            if ins[i] is None:
                continue
            inside = ins[i]
            if i == 0:
                ly, lx = rr, cc
                dst = bottom_px
            else:
                ly = (gy - layer.y)[inside]
                lx = (cc - layer.x)[inside]
                dst = layer.pixels
            vals = np.empty((int(inside.sum()), 4), np.uint8)
            vals[:, :3] = np.clip(np.floor(F[i, inside] * 255.0 + 0.5), 0, 255)
            vals[:, 3] = np.clip(np.floor(A[i, inside] * 255.0 + 0.5), 0, 255)
            dst[ly, lx] = vals
    for layer in layers:
        layer.pixels[layer.pixels[..., 3] == 0, :3] = 0


def drop_specks(layers: list[LayerBuffer], image: np.ndarray, max_area: int,
                max_alpha: int = 77) -> int:
    """Tiny, faint, isolated bits of a layer (a dot where two rims meet, a grain of
    residue) go back to the background, which takes the input colour there; only where
    no other layer is present, so the stack still composites to the input exactly.
    Returns the number of pixels moved."""
    height, width = image.shape[:2]
    bottom = layers[0]
    if bottom.box != (0, 0, width, height) or len(layers) < 2:
        return 0
    # for each pixel, the topmost layer that is present and opaque (the bottom one is)
    opaque_top = np.zeros((height, width), np.int32)
    present_above = np.zeros((height, width), np.int32)   # topmost present layer
    for i, layer in enumerate(layers[1:], start=1):
        x0, y0, x1, y1 = layer.box
        a = layer.pixels[..., 3]
        opaque_top[y0:y1, x0:x1][a == 255] = i
        present_above[y0:y1, x0:x1][a > 0] = i
    moved = 0
    for li, layer in enumerate(layers[1:], start=1):
        a = layer.pixels[..., 3]
        n, comp, stats, _ = cv2.connectedComponentsWithStats((a > 0).astype(np.uint8), connectivity=8)
        if n <= 2:
            continue
        small = stats[:, cv2.CC_STAT_AREA] <= max_area
        small[0] = False
        if not small.any():
            continue
        peak = np.zeros(n, np.int32)
        np.maximum.at(peak, comp.ravel(), a.ravel().astype(np.int32))
        speck = small & (peak <= max_alpha)
        sel = speck[comp]
        x0, y0, x1, y1 = layer.box
        # the speck must be the top of the stack there, with an opaque layer right under
        # it (which then shows the input colour as it is)
        sel &= present_above[y0:y1, x0:x1] == li
        rr, cc = np.nonzero(sel)
        if rr.size == 0:
            continue
        gy, gx = rr + y0, cc + x0
        below = np.zeros(rr.size, np.int32)
        for j in range(1, li):
            other = layers[j]
            ly, lx = gy - other.y, gx - other.x
            inside = (ly >= 0) & (ly < other.pixels.shape[0]) & (lx >= 0) & (lx < other.pixels.shape[1])
            hit = np.zeros(rr.size, bool)
            hit[inside] = other.pixels[ly[inside], lx[inside], 3] > 0
            below[hit] = j
        ok = opaque_top[gy, gx] == below
        ok |= below == 0
        for j in np.unique(below[ok]):
            tgt = layers[int(j)]
            m = ok & (below == j)
            tgt.pixels[gy[m] - tgt.y, gx[m] - tgt.x, :3] = image[gy[m], gx[m], :3]
        layer.pixels[rr[ok], cc[ok]] = 0
        moved += int(ok.sum())
    return moved


def crop_to_content(layer: LayerBuffer) -> LayerBuffer | None:
    a = layer.pixels[..., 3]
    rows = np.flatnonzero(a.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(a.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return LayerBuffer(layer.pixels[y0:y1, x0:x1], layer.x + int(x0), layer.y + int(y0), layer.name)

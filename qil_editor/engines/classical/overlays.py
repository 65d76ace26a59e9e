"""Text and flat shapes laid over a photograph.

When the background is a photo, there is no smooth surface to subtract.
Graphics stand out differently: a glyph or a banner is one exact colour
with crisp, high-contrast edges, while a photo's flat patches (sky, blur)
drift in colour and fade into their surroundings. So: uniform cores, kept
only when their outline is a crisp step to something clearly different,
and only as text lines or as shapes big enough to matter. The photo under
them is filled by inpainting.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import ndimage_subset as ndimage  # scipy.ndimage's, exactly, without SciPy
from .background import Background
from .colour import delta_e, rgb_to_lab
from .regions import Region, Segmentation

MIN_CONTRAST = 25.0      # CIE76 between an overlay and what surrounds it
MIN_CRISP = 0.35         # outline step per pixel / contrast
MIN_SHAPE_SHARE = 0.004  # a lone shape must cover this share of the picture


def _uniform_cores(lab: np.ndarray, grad: np.ndarray, valid: np.ndarray) -> np.ndarray:
    mean = cv2.blur(lab, (3, 3))
    var = (cv2.blur(lab * lab, (3, 3)) - mean * mean).sum(-1)
    return valid & (var < 4.0) & (grad < 4.0)


def find_overlays(rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray, valid: np.ndarray,
                  max_segments: int = 4000) -> np.ndarray:
    """Label image (0 = photo) of graphic overlays found on a photographic background."""
    h, w = valid.shape
    npx = h * w
    core = _uniform_cores(lab, grad, valid)
    n, seg, stats, _ = cv2.connectedComponentsWithStats(core.astype(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros((h, w), np.int32)
    area = stats[:, cv2.CC_STAT_AREA]
    keep = (area >= max(6, int(2e-5 * npx))) & (area <= 0.2 * npx)
    keep[0] = False
    ids = np.flatnonzero(keep)
    if ids.size == 0:
        return np.zeros((h, w), np.int32)
    if ids.size > max_segments:  # a busy photo: look at the biggest patches only
        ids = ids[np.argsort(-area[ids])[:max_segments]]
    out = np.zeros((h, w), np.int32)
    nxt = 1
    for k in ids:
        x, y, bw, bh = stats[k, :4]
        x0, y0 = max(0, x - 3), max(0, y - 3)
        x1, y1 = min(w, x + bw + 3), min(h, y + bh + 3)
        mine = seg[y0:y1, x0:x1] == k
        inner = lab[y0:y1, x0:x1][mine]
        colour = inner.mean(axis=0)
        if float(inner.std(axis=0).max()) > 3.0:
            continue
        grown = cv2.dilate(mine.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        outer = grown & ~cv2.dilate(mine.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        d_outer = delta_e(lab[y0:y1, x0:x1][outer], colour)
        other = d_outer > 10.0  # ignore more of the same graphic (the stem of a 'd')
        if other.sum() < 3 or other.mean() < 0.3:
            continue
        contrast = float(np.median(d_outer[other]))
        if contrast < MIN_CONTRAST:
            continue
        band = grown & ~mine
        d_band = delta_e(lab[y0:y1, x0:x1][band], colour)
        steps = grad[y0:y1, x0:x1][band][(d_band > 5.0) & (d_band < 0.9 * contrast)]
        if steps.size == 0 or float(np.median(steps)) < MIN_CRISP * contrast:
            continue
        sub = out[y0:y1, x0:x1]
        sub[mine] = nxt
        nxt += 1
    return out


def overlay_segmentation(rgb: np.ndarray, lab: np.ndarray, grad: np.ndarray, valid: np.ndarray,
                         bg: Background) -> tuple[Segmentation, Background] | None:
    """Regions for the overlays and a background made by inpainting the photo under them."""
    from .text import find_text_lines
    labels = find_overlays(rgb, lab, grad, valid)
    n = int(labels.max())
    if n == 0:
        return None
    # Each core takes its anti-aliased rim: pixels within 2 px that move away from the photo.
    near, idx = _grow(labels, 2)
    h, w = labels.shape
    regions = _regions(near, rgb, lab, labels, n)
    lines = find_text_lines(regions, h)
    in_line = {lbl for g in lines for lbl in g}
    keep = set(in_line)
    for r in regions:
        if r.label not in in_line and r.area >= MIN_SHAPE_SHARE * h * w:
            keep.add(r.label)
    if not keep:
        return None
    remap = np.zeros(n + 1, np.int32)
    for new, lbl in enumerate(sorted(keep), start=1):
        remap[lbl] = new
    owner = remap[near]
    cores = remap[labels]
    owner, cores = _inner_marks(owner, cores, lab, [remap[lbl] for lbl in keep if lbl not in in_line])
    regions = _regions(owner, rgb, lab, cores, int(owner.max()))
    mask = cv2.dilate((owner > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
    mask = ndimage.binary_fill_holes(mask).astype(np.uint8)  # no sources inside a banner
    filled = _inpaint(rgb, mask)
    filled_lab = rgb_to_lab(filled)
    dist = delta_e(lab, filled_lab).astype(np.float32)
    new_bg = Background(filled, filled_lab, dist, bg.noise, True, max(bg.t_low, 8.0),
                        max(bg.t_high, 16.0))
    fg = owner > 0
    core = (remap[labels] > 0) | ~cv2.dilate(fg.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return Segmentation(owner, regions, fg, core), new_bg


def _inner_marks(owner, cores, lab, shapes):
    """What is drawn on a banner (its text) shows as holes of another colour in it."""
    nxt = int(owner.max()) + 1
    h, w = owner.shape
    for lbl in shapes:
        ys, xs = np.nonzero(owner == lbl)
        if ys.size == 0:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        own = owner[y0:y1, x0:x1] == lbl
        colour = lab[y0:y1, x0:x1][cores[y0:y1, x0:x1] == lbl].mean(axis=0)
        holes = ndimage.binary_fill_holes(own) & ~own & (owner[y0:y1, x0:x1] == 0)
        holes &= delta_e(lab[y0:y1, x0:x1], colour) > 12.0
        n, comp = cv2.connectedComponents(holes.astype(np.uint8), connectivity=8)
        for k in range(1, n):
            m = comp == k
            d = delta_e(lab[y0:y1, x0:x1], colour)
            sub_o, sub_c = owner[y0:y1, x0:x1], cores[y0:y1, x0:x1]
            sub_o[m] = nxt
            sub_c[m & (d >= 0.7 * d[m].max())] = nxt  # the stroke's own colour
            nxt += 1
    return owner, cores


def _inpaint(rgb: np.ndarray, mask: np.ndarray, max_side: int = 400) -> np.ndarray:
    """Fill ``mask`` from the photo around it (Telea), on a reduced copy for big areas,
    then keep the original pixels outside the mask."""
    h, w = mask.shape
    f = min(1.0, max_side / max(h, w))
    sw, sh = max(1, int(round(w * f))), max(1, int(round(h * f)))
    img8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    small = cv2.resize(img8, (sw, sh), interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_NEAREST)
    m = cv2.dilate(m, np.ones((3, 3), np.uint8))
    out = cv2.inpaint(small, m, 5, cv2.INPAINT_TELEA)
    big = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    return np.where(mask[..., None] > 0, big, rgb).astype(np.float32)


def _grow(labels: np.ndarray, radius: int):
    src = (labels == 0).astype(np.uint8)
    if src.min() == 1:
        return labels.copy(), None
    dist, idx = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    zero_labels = labels[src == 0]
    near = zero_labels[np.clip(idx - 1, 0, zero_labels.size - 1)]
    grown = np.where(dist <= radius, near, 0).astype(np.int32)
    return grown, idx


def _regions(owner: np.ndarray, rgb: np.ndarray, lab: np.ndarray, cores: np.ndarray,
             n: int) -> list[Region]:
    flat = owner.ravel()
    area = np.bincount(flat, minlength=n + 1)
    cflat = cores.ravel()
    cnt = np.maximum(np.bincount(cflat, minlength=n + 1), 1)
    mean = np.stack([np.bincount(cflat, weights=rgb[..., c].ravel(), minlength=n + 1) / cnt
                     for c in range(3)], axis=1).astype(np.float32)
    mean_lab = rgb_to_lab(np.clip(mean, 0, 1))
    slices = ndimage.find_objects(owner, max_label=n)
    out = []
    for k in range(1, n + 1):
        slc = slices[k - 1] if slices[k - 1] is not None else (slice(0, 0), slice(0, 0))
        out.append(Region(k, "shape", slc, int(area[k]), mean[k], mean_lab[k], 1.0))
    return out

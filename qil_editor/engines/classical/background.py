"""Estimate the background of a design: a flat colour or a smooth gradient.

The background is modelled as a low-order polynomial surface (linear and
radial gradients are close to quadratic or cubic), fitted robustly so that
objects on top do not pull it, plus a push-pull correction for what a
polynomial misses (multi-stop gradients, vignettes). Whatever differs from
this model by more than a few CIELAB units is foreground.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .colour import delta_e, neighbour_gradient, resize, rgb_to_lab
from .fill import eval_cone, eval_surface, fit_cone, fit_surface, push_pull

# (degree, inlier threshold in CIE76 units) for the successive robust fits
_FIT_SCHEDULE = ((1, 12.0), (2, 9.0), (3, 6.0), (3, 5.0))
CONE_GAIN = 0.01   # share of the picture a radial gradient must explain beyond the polynomial
FLAT_NOISE = 1.0   # typical step (CIE76) on a background with no grain: a fill, never a photo
GRAIN_NOISE = 2.0  # typical step (CIE76) of a grained surface (texture, photo print), twice a fill's most
GRAIN_BUSY = 0.5   # ... with steps over 3 units on more than half the picture: a textured backdrop
OVERSHOOT = 0.02   # RGB share a fill may lie beyond the soft object on it before it is an overshoot
OVERSHOOT_PX = 2.0  # summed overshoot (pixels x RGB share) a cone's tip may have under soft objects


@dataclass
class Background:
    rgb: np.ndarray        # (h, w, 3) float32 [0, 1]: the background everywhere, holes filled
    lab: np.ndarray        # same in CIELAB
    delta: np.ndarray      # (h, w) CIE76 distance of the image from the background
    noise: float           # typical pixel-to-pixel variation on the background
    textured: bool         # True when the background is a photo/texture, not a fill
    t_low: float           # "differs from the background" threshold
    t_high: float          # "clearly differs" threshold (seeds)


def _border(h: int, w: int) -> np.ndarray:
    bw = max(1, int(round(0.02 * min(h, w))))
    m = np.zeros((h, w), bool)
    m[:bw], m[-bw:], m[:, :bw], m[:, -bw:] = True, True, True, True
    return m


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def dominant_colour(lab: np.ndarray, radius: float = 10.0, samples: int = 4000,
                    candidates: int = 300) -> np.ndarray:
    """The CIELAB colour with the most pixels within ``radius`` of it (a density mode,
    robust to a colour straddling histogram bins)."""
    rng = np.random.default_rng(0)
    pts = lab if lab.shape[0] <= samples else lab[rng.choice(lab.shape[0], samples, replace=False)]
    cand = pts if pts.shape[0] <= candidates else pts[rng.choice(pts.shape[0], candidates, replace=False)]
    d = np.sqrt(((cand[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    near = d < radius
    best = int(np.argmax(near.sum(1)))
    return pts[near[best]].mean(axis=0)


def _robust_fit(c_rgb, c_lab, c_valid, seed, max_degree: int = 3):
    """Polynomial background seeded by ``seed`` pixels, refitted on its inliers with
    growing degree, or a radial gradient (a cone, see ``fit_cone``) where that explains
    more; returns (surface: (h, w) -> rgb, share of pixels it explains)."""
    ch, cw = c_valid.shape
    if seed.sum() < 1:
        seed = c_valid
    coef, degree = fit_surface(c_rgb, seed, 0), 0
    n_valid = max(1, int(c_valid.sum()))
    inl, wts = None, None
    for deg, thr in _FIT_SCHEDULE:
        deg = min(deg, max_degree)
        c_bg_lab = rgb_to_lab(np.clip(eval_surface(coef, ch, cw, degree), 0, 1))
        dist = delta_e(c_lab, c_bg_lab)
        inl = (dist < thr) & c_valid
        if inl.sum() < max(8, 0.02 * n_valid):
            inl = None
            break
        wts = np.clip(1.0 - (dist / thr) ** 2, 0.0, 1.0) ** 2
        coef, degree = fit_surface(c_rgb, inl, deg, weights=wts), deg
    c_bg_lab = rgb_to_lab(np.clip(eval_surface(coef, ch, cw, degree), 0, 1))
    cover = float(((delta_e(c_lab, c_bg_lab) < 5.0) & c_valid).sum()) / n_valid
    best = (lambda h, w, c=coef, d=degree: eval_surface(c, h, w, d)), cover
    if inl is not None and max_degree >= 3:
        cone = fit_cone(c_rgb, inl, weights=wts)
        if cone is not None:
            c_bg_lab = rgb_to_lab(np.clip(eval_cone(cone, ch, cw), 0, 1))
            cone_cover = float(((delta_e(c_lab, c_bg_lab) < 5.0) & c_valid).sum()) / n_valid
            if cone_cover > cover + CONE_GAIN:
                best = (lambda h, w, c=cone: eval_cone(c, h, w)), cone_cover
    return best


def estimate_background(rgb: np.ndarray, lab: np.ndarray, valid: np.ndarray,
                        grad: np.ndarray | None = None) -> Background:
    """``rgb``/``lab`` at working resolution; ``valid`` marks pixels with any opacity."""
    h, w = valid.shape
    if grad is None:
        grad = neighbour_gradient(lab)
    # Fit on a coarse copy (the surface is smooth), evaluate at full working size.
    fs = min(1.0, 192.0 / max(h, w))
    ch, cw = max(1, int(round(h * fs))), max(1, int(round(w * fs)))
    c_rgb = resize(rgb, cw, ch)
    c_lab = resize(lab, cw, ch)
    c_valid = resize(valid.astype(np.float32), cw, ch) > 0.99
    if c_rgb.ndim == 2:  # cv2 drops the channel axis of 1-pixel images in some paths
        c_rgb, c_lab = c_rgb.reshape(ch, cw, 3), c_lab.reshape(ch, cw, 3)
    if not c_valid.any():
        c_valid = resize(valid.astype(np.float32), cw, ch) > 0.0
    border = _border(ch, cw) & c_valid
    if border.sum() < 8:
        border = c_valid.copy()
    # With transparency around (a layer being split further) there is no page edge to go
    # by, and no gradient to infer across the holes: the dominant colour, nearly flat.
    see_through = c_valid.mean() < 0.9
    max_degree = 1 if see_through else 3
    med = np.median(c_lab[border], axis=0)
    d0 = delta_e(c_lab, med)
    cut = max(10.0, float(np.percentile(d0[border], 50)))
    surface, cover = _robust_fit(c_rgb, c_lab, c_valid, border & (d0 < cut), max_degree)
    if cover < 0.6 or see_through:
        # What the border suggests covers little: a big panel fills the canvas (or the
        # border is busy). Try the picture's dominant colour as the background too.
        mode = dominant_colour(lab[valid])  # full working detail: thin strokes count too
        seed = c_valid & (delta_e(c_lab, mode) < 10.0)
        alt = _robust_fit(c_rgb, c_lab, c_valid, seed, max_degree)
        if alt[1] > cover + (-0.02 if see_through else 0.05):
            surface, cover = alt
    bg_rgb = surface(h, w)
    bg_lab = rgb_to_lab(np.clip(bg_rgb, 0, 1))
    border = _border(h, w) & valid
    if border.sum() < 8:
        border = valid.copy()
    n_valid = max(1, int(valid.sum()))

    dist = delta_e(lab, bg_lab)
    # Noise: typical local variation where the image sits on the surface.
    calm = (dist < 5.0) & valid
    # Noise: typical local variation. Flat designs are mostly flat, so the median over
    # the whole picture is tiny even when the background model is poor; photos are not.
    noise = float(np.median(grad[valid]))
    if calm.sum() > 16:
        noise = min(noise, float(np.median(grad[calm])))
    t_low = max(4.0, 3.0 * noise)
    t_high = max(10.0, 6.0 * noise)

    poly_rgb = bg_rgb
    r = max(2, int(round(0.015 * max(h, w))))
    smooth = poly_rgb
    data = None
    for _ in range(2):
        near = (dist < t_low) & valid
        data = near & ~cv2.dilate((~near & valid).astype(np.uint8), _disk(r)).astype(bool)
        if data.sum() < 8:
            data = near
            if data.sum() < 8:
                break
        resid = push_pull(rgb - poly_rgb, data.astype(np.float32))
        resid = cv2.GaussianBlur(resid, (0, 0), 1.5)
        smooth = poly_rgb + resid
        dist = delta_e(lab, rgb_to_lab(np.clip(smooth, 0, 1)))
    smooth = np.clip(smooth, 0.0, 1.0).astype(np.float32)
    smooth_lab = rgb_to_lab(smooth)
    dist = delta_e(lab, smooth_lab)
    frac_bg = float(((dist < t_low) & valid).sum()) / n_valid
    border_err = float(np.median(dist[border]))
    busy = float((grad[valid] > 3.0).mean()) if valid.any() else 0.0
    # A big photo panel on a flat fill is busy over half the picture, but the fill around it
    # is exact (no grain at all): a design with a picture on it, not a photograph.
    flat_rest = noise <= FLAT_NOISE and frac_bg >= 0.2
    textured = bool(noise > 4.0 or (frac_bg < 0.25 and border_err > t_low and noise > 1.5)
                    or (busy > 0.35 and frac_bg < 0.5 and not flat_rest)  # edges everywhere: a photograph
                    # grain all over: the surface's own pattern (stripes, soft blobs) beats any
                    # smooth fit in places, which the flat path would take for objects
                    or (noise > GRAIN_NOISE and busy > GRAIN_BUSY))
    return Background(smooth, smooth_lab, dist.astype(np.float32), noise, textured, t_low, t_high)


def _overshoot(rgb: np.ndarray, fills: list[np.ndarray], soft: np.ndarray, data: np.ndarray,
               r: int) -> list[float]:
    """How far each of ``fills`` runs past the soft objects lying on it (summed over their
    pixels, in RGB shares beyond ``OVERSHOOT``). A soft shadow, glow or blur darker (lighter)
    than the clean background around it can only darken (lighten) what lies beneath, so
    wherever the fill is darker (lighter) than the object itself the model ran on under the
    hole (a cone's tip under a soft spot), and the object would have to come out opaque, with
    a hard edge or a pale veil, to undo it. The soft objects are found once for all fills."""
    lum, unders = rgb.mean(-1), [fill.mean(-1) for fill in fills]
    n, lbl, stats, _ = cv2.connectedComponentsWithStats(soft.astype(np.uint8), connectivity=8)
    h, w = soft.shape
    totals, reach = [0.0] * len(fills), 4 * r
    for k in range(1, n):
        if stats[k, cv2.CC_STAT_AREA] < 64:
            continue
        x, y, bw, bh = stats[k, :4]
        box = (slice(max(0, y - reach), min(h, y + bh + reach)), slice(max(0, x - reach), min(w, x + bw + reach)))
        m = lbl[box] == k
        ring = cv2.dilate(m.astype(np.uint8), _disk(reach)).astype(bool) & data[box]
        if ring.sum() < 16:
            continue
        lum_b = lum[box]
        side = float(lum_b[m].mean() - lum_b[ring].mean())
        if abs(side) >= OVERSHOOT:
            for i, under in enumerate(unders):
                beyond = (under[box][m] - lum_b[m]) * np.sign(side)  # > 0: the fill lies past the object
                totals[i] += float(np.clip(beyond - OVERSHOOT, 0.0, None).sum())
    return totals


def refine_background(rgb: np.ndarray, lab: np.ndarray, valid: np.ndarray, bg: Background,
                      objects: np.ndarray, soft: np.ndarray) -> Background:
    """Refit the background once the objects are known, keeping well clear of them.

    The first estimate only knows which pixels differ clearly from the background, so
    the faint tail of a shadow or glow counts as background there and bends the fill
    under the object (a crescent or ring once the object is hidden). Here everything
    near an object (``objects``), and farther still near soft ones (``soft``), is left
    out; the surface and its smooth correction are fitted on what remains and carried
    under the objects. The first estimate stays when too little clean background is left.
    """
    h, w = valid.shape
    r = max(2, int(round(0.015 * max(h, w))))
    out = cv2.dilate(objects.astype(np.uint8), _disk(r)).astype(bool)
    if soft.any():
        out |= cv2.dilate(soft.astype(np.uint8), _disk(3 * r)).astype(bool)
    data = valid & ~out & (bg.delta < bg.t_low)
    if data.sum() < max(64, 0.05 * valid.sum()):
        return bg
    fs = min(1.0, 192.0 / max(h, w))
    ch, cw = max(1, int(round(h * fs))), max(1, int(round(w * fs)))
    c_rgb = resize(rgb, cw, ch).reshape(ch, cw, 3)
    c_data = resize(data.astype(np.float32), cw, ch) > 0.99
    if c_data.sum() < 32:
        return bg
    coef = fit_surface(c_rgb, c_data, 3)
    for _ in range(2):  # downweight what the surface does not explain (stray marks)
        err = np.abs(c_rgb - eval_surface(coef, ch, cw, 3)).max(-1)
        scale = max(2.0 / 255.0, 3.0 * float(np.median(err[c_data])))
        wts = np.clip(1.0 - (err / (3.0 * scale)) ** 2, 0.0, 1.0) ** 2
        coef = fit_surface(c_rgb, c_data & (wts > 0), 3, weights=wts)
    poly = eval_surface(coef, h, w, 3)
    # a radial gradient's peak under the objects: a cone, when it explains the clean
    # background clearly better than the polynomial does
    cone = fit_cone(c_rgb, c_data & (wts > 0), weights=wts)
    if cone is not None:
        e_poly = np.abs(c_rgb - eval_surface(coef, ch, cw, 3)).max(-1)[c_data]
        e_cone = np.abs(c_rgb - eval_cone(cone, ch, cw)).max(-1)[c_data]
        if float(np.percentile(e_cone, 90)) < 0.7 * float(np.percentile(e_poly, 90)):
            peaked = eval_cone(cone, h, w)
            past_cone, past_poly = _overshoot(rgb, [peaked, poly], soft, data, r)
            if past_cone <= max(OVERSHOOT_PX, 2.0 * past_poly):
                poly = peaked
    resid = cv2.GaussianBlur(push_pull(rgb - poly, data.astype(np.float32)), (0, 0), 1.5)
    smooth = np.clip(poly + resid, 0.0, 1.0).astype(np.float32)
    smooth_lab = rgb_to_lab(smooth)
    return Background(smooth, smooth_lab, delta_e(lab, smooth_lab).astype(np.float32), bg.noise,
                      bg.textured, bg.t_low, bg.t_high)

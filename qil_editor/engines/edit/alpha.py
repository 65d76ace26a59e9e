"""Getting a clean alpha back after an RGB-only edit.

The edit model sees RGB only, so a layer is composited over a flat matte
(``I = C*a + M*(1 - a)``) before the edit and its transparency is rebuilt
afterwards, in one of two ways:

* keep shape: the original alpha is reused exactly and the colours are
  un-matted, ``C = (I - M(1 - a)) / a``. Quantisation and model noise in
  ``I`` are amplified by ``1/a``, so faint pixels are pulled towards the
  colour of nearby opaque ones (a least-squares blend weighted by ``a^2``);
  without that, soft edges turn into speckle.
* new shape: alpha is measured from how far each pixel is from the matte,
  along the direction from the matte to the local foreground colour (the
  compositing equation solved for ``a`` with ``C`` taken from the nearest
  sure-foreground pixels), inside a trimap band; a guided filter on the
  edited image then snaps the band to the picture's edges.

In both modes the matte is re-measured on the edited image (the model may
shift the background's tone or add a gradient), so un-matting subtracts the
background that is actually there, which is what removes halos.

All maths is float32 in 0..1; inputs and outputs are uint8.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Matte candidates in order of preference. Keep-shape prefers neutral grey:
# the least suggestive context for the edit model, and un-matting under a
# known alpha works whatever the colours. New-shape must tell the edited
# object from the matte without knowing its new colours, so it prefers a
# chroma-key green, which few objects contain (grey is everywhere).
MATTE_CANDIDATES: tuple[tuple[int, int, int], ...] = (
    (128, 128, 128), (0, 177, 64), (255, 0, 255), (255, 255, 255), (0, 0, 0),
)
NEW_SHAPE_MATTES: tuple[tuple[int, int, int], ...] = (
    (0, 177, 64), (255, 0, 255), (128, 128, 128), (255, 255, 255), (0, 0, 0),
)
# A candidate is good enough when 98% of the layer's visible colours are at
# least this far (Euclidean, 0..255 per channel) from it.
MATTE_MIN_DISTANCE = 80.0

# Noise-to-prior variance ratio for un-matting (see module docstring):
# data weight a^2, prior weight _UNMATTE_PRIOR. At a = 0.05 both weigh the same;
# at a = 1 the prior moves a colour by ~0.3% of its distance to its neighbours.
_UNMATTE_PRIOR = 0.0025
_EPS = 1e-6


def _f32(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255.0


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def choose_matte(rgba: np.ndarray, candidates=MATTE_CANDIDATES) -> tuple[int, int, int]:
    """The first candidate matte that the layer's visible colours stay clear of."""
    alpha = rgba[..., 3]
    colours = rgba[..., :3][alpha >= 128].reshape(-1, 3).astype(np.float32)
    if colours.size == 0:
        return candidates[0]
    if len(colours) > 20000:  # a fixed stride keeps this deterministic and fast
        colours = colours[:: len(colours) // 20000 + 1]
    best, best_distance = candidates[0], -1.0
    for candidate in candidates:
        distance = float(np.percentile(np.linalg.norm(colours - np.float32(candidate), axis=1), 2))
        if distance >= MATTE_MIN_DISTANCE:
            return candidate
        if distance > best_distance:
            best, best_distance = candidate, distance
    return best


def over_matte(rgba: np.ndarray, matte: tuple[int, int, int]) -> np.ndarray:
    """RGB of the layer composited over a flat matte colour (what the model sees)."""
    a = _f32(rgba[..., 3:4])
    return _u8(_f32(rgba[..., :3]) * a + _f32(np.array(matte)) * (1.0 - a))


def spread_colours(colour: np.ndarray, weight: np.ndarray, *, min_weight: float = 0.25,
                   sigma: float = 1.0) -> np.ndarray:
    """Give every pixel the (lightly smoothed) colour of its nearest trusted pixel.

    Trusted pixels are those with ``weight >= min_weight``; their colours are
    first averaged with a small weighted Gaussian to damp noise. Nearest
    (not a wide average) matters: objects have gradients, and an average
    over a large neighbourhood biases colours at edges by tens of levels.
    """
    from scipy.ndimage import distance_transform_edt

    colour = np.asarray(colour, dtype=np.float32)
    weight = np.asarray(weight, dtype=np.float32)
    trusted = weight >= min_weight
    if not trusted.any():
        total = float(weight.sum())
        if total <= _EPS:
            return np.zeros_like(colour)
        mean = (colour * weight[..., None]).reshape(-1, colour.shape[2]).sum(0) / total
        return np.broadcast_to(mean, colour.shape).copy()
    w = np.where(trusted, weight, 0.0).astype(np.float32)
    num = cv2.GaussianBlur(colour * w[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(w, (0, 0), sigma)
    smooth = num.reshape(colour.shape) / np.maximum(den, _EPS)[..., None]
    if trusted.all():
        return smooth
    _, (iy, ix) = distance_transform_edt(~trusted, return_indices=True)
    return smooth[iy, ix]


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide (box filters; OpenCV's is in contrib only)."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def measure_matte(rgb: np.ndarray, background: np.ndarray,
                  expected: tuple[int, int, int] | None = None, tolerance: float = 0.2) -> np.ndarray:
    """The background as it looks in ``rgb`` (0..1 float field), from pixels marked ``background``.

    With ``expected`` (the matte colour the model was given), marked pixels
    farther than ``tolerance`` from it are ignored: content that reaches
    into the marked area is not background. Falls back to the expected
    colour, or the border's median, when too few pixels remain.
    """
    image = _f32(rgb)
    mask = np.asarray(background, dtype=bool)
    if expected is not None:
        near = np.linalg.norm(image - np.float32(expected) / 255.0, axis=2) / np.sqrt(3.0) < tolerance
        mask = mask & near
    if mask.sum() < 16:
        if expected is not None:
            return np.broadcast_to(np.float32(expected) / 255.0, image.shape).copy()
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        return np.broadcast_to(np.median(border, axis=0).astype(np.float32), image.shape).copy()
    return spread_colours(image, mask.astype(np.float32))


def unmatte(rgb: np.ndarray, alpha: np.ndarray, matte: np.ndarray | tuple) -> np.ndarray:
    """Straight colours from a composite over ``matte`` given the alpha (uint8 in, uint8 RGB out).

    ``matte`` is a colour (0..255) or a float 0..1 field from :func:`measure_matte`.
    """
    image = _f32(rgb)
    a = _f32(alpha)[..., None]
    m = np.asarray(matte, dtype=np.float32)
    if m.ndim == 1:
        m = m / 255.0
    data = image - m * (1.0 - a)  # = a * C, plus noise
    direct = data / np.maximum(a, _EPS)
    # Prior: the colour of the nearest mostly-opaque pixels.
    prior = spread_colours(np.clip(direct, 0.0, 1.0), a[..., 0])
    colour = (a * data + _UNMATTE_PRIOR * prior) / (a * a + _UNMATTE_PRIOR)
    return _u8(colour)


def keep_shape(edited_rgb: np.ndarray, original_rgba: np.ndarray,
               matte: tuple[int, int, int]) -> np.ndarray:
    """Edited colours under the original alpha, exactly (recolour, texture, style edits)."""
    alpha = original_rgba[..., 3]
    background = alpha == 0
    # transparent pixels are background by construction, however the edit changed them
    field = measure_matte(edited_rgb, background) if background.sum() >= 16 \
        else np.float32(matte) / 255.0
    rgb = unmatte(edited_rgb, alpha, field)
    return np.dstack([rgb, alpha]).astype(np.uint8)


@dataclass(frozen=True)
class NewShapeSettings:
    """Thresholds for new-shape recovery, as distances in 0..1 RGB units."""

    background_distance: float = 0.05   # closer than this to the matte: background
    foreground_distance: float = 0.15   # opaque colours must stand at least this far from the matte
    plateau: float = 0.85               # ... and within this share of the farthest colour nearby
    plateau_radius: int = 6
    band: int = 2                       # pixels of unknown band kept around every edge
    filter_radius: int = 1              # guided-filter radius; 0 turns the refinement off
    filter_eps: float = 1e-3
    max_hole_fraction: float = 0.02     # opaque-enclosed details smaller than this share are filled


def estimate_alpha(edited_rgb: np.ndarray, matte_field: np.ndarray,
                   settings: NewShapeSettings = NewShapeSettings()) -> np.ndarray:
    """Alpha (uint8) of whatever stands out from the matte in ``edited_rgb``.

    1. Opaque reference pixels: far from the matte, and close to the farthest
       colour around them (so a wide feathered edge, whose pixels are all
       "far" but less far than the solid part, is not taken as opaque).
    2. Each pixel's alpha solves ``I = aF + (1-a)M`` along the line from the
       matte to ``F``, the nearest reference pixel's colour.
    3. Areas enclosed by opaque pixels with no matte-coloured pixel in them
       (texture, a grey button on a red coat) are opaque; enclosed areas
       that show the matte (a letter's counter, a ring's hole) stay holes,
       soft rims included.
    4. A guided filter, guided by the distance-to-matte ratio, smooths the
       soft pixels without moving edges.
    """
    from skimage.measure import label
    from skimage.morphology import remove_small_holes, remove_small_objects

    image = _f32(edited_rgb)
    diff = image - matte_field
    distance = np.linalg.norm(diff, axis=2) / np.sqrt(3.0)
    hole_area = max(4, int(settings.max_hole_fraction * distance.size))
    not_bg = remove_small_objects(distance >= settings.background_distance, max_size=2)

    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * settings.plateau_radius + 1,) * 2)
    local_max = cv2.dilate(distance.astype(np.float32), disk)
    reference = (distance >= settings.foreground_distance) & (distance >= settings.plateau * local_max)
    reference = cv2.erode(reference.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) \
        if reference.sum() > 64 else reference

    fg_colour = spread_colours(image, reference.astype(np.float32), min_weight=0.5)
    direction = fg_colour - matte_field
    length2 = np.sum(direction * direction, axis=2)
    projected = np.sum(diff * direction, axis=2) / np.maximum(length2, _EPS)
    # Where the reference colour is too close to the matte the projection is
    # noise: use the distance ratio against the opaque threshold instead.
    reliable = length2 > 3 * (2 * settings.background_distance) ** 2
    ratio = distance / max(settings.foreground_distance, _EPS)
    alpha = np.clip(np.where(reliable, projected, ratio), 0.0, 1.0).astype(np.float32)

    band_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * settings.band + 1,) * 2)
    sure_bg = ~cv2.dilate(not_bg.astype(np.uint8), band_kernel).astype(bool)
    alpha[sure_bg] = 0.0
    opaque = alpha >= 0.95
    # enclosed non-opaque areas; those with any matte-coloured pixel are real
    # holes (their soft rims keep their alpha), the others are details
    holes = remove_small_holes(opaque, max_size=hole_area) & ~opaque
    labels = label(holes, connectivity=2)
    is_hole = np.zeros(labels.max() + 1, dtype=bool)
    is_hole[np.unique(labels[holes & ~not_bg])] = True
    enclosed = holes & ~is_hole[labels]
    alpha[enclosed | reference] = 1.0

    if settings.filter_radius > 0:
        guide = np.clip(distance / np.sqrt(np.maximum(length2, _EPS) / 3.0), 0.0, 1.5).astype(np.float32)
        refined = np.clip(guided_filter(guide, alpha, settings.filter_radius, settings.filter_eps), 0.0, 1.0)
        soft = cv2.dilate(((alpha > 0) & (alpha < 1)).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        alpha = np.where(soft & ~sure_bg & ~enclosed & ~reference, refined, alpha)
    out = _u8(alpha)
    out[out <= 2] = 0      # faint residue of the matte is not content
    out[out >= 253] = 255
    return out


def new_shape(edited_rgb: np.ndarray, matte: tuple[int, int, int],
              background_hint: np.ndarray | None = None,
              settings: NewShapeSettings = NewShapeSettings()) -> np.ndarray:
    """A new RGBA layer from an edited matte composite, shape included.

    ``background_hint`` marks pixels that are surely matte (e.g. the outer
    margin added around the layer); by default the image border is used.
    """
    h, w = edited_rgb.shape[:2]
    if background_hint is None:
        background_hint = np.zeros((h, w), dtype=bool)
        ring = max(1, min(h, w) // 32)
        background_hint[:ring], background_hint[-ring:] = True, True
        background_hint[:, :ring], background_hint[:, -ring:] = True, True
    field = measure_matte(edited_rgb, background_hint, matte)
    alpha = estimate_alpha(edited_rgb, field, settings)
    rgb = unmatte(edited_rgb, alpha, field)
    return np.dstack([rgb, alpha]).astype(np.uint8)


def recover_with_alpha(edited_rgb: np.ndarray, alpha: np.ndarray,
                       matte: tuple[int, int, int], background_hint: np.ndarray | None = None) -> np.ndarray:
    """Un-matte ``edited_rgb`` under an alpha found elsewhere (e.g. a layered-model pass)."""
    if background_hint is None:
        background_hint = np.zeros(edited_rgb.shape[:2], dtype=bool)
    field = measure_matte(edited_rgb, background_hint, matte)
    return np.dstack([unmatte(edited_rgb, alpha, field), alpha]).astype(np.uint8)

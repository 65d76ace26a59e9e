"""Alpha preservation and recovery on synthetic layers with known truth.

Each case is a shape with anti-aliased or feathered edges and a colour
gradient, composited over the matte like the edit engine does, then
"edited" the way a diffusion model edits: new colours (and for new-shape,
a new outline), a slight blur and noise like a VAE round trip, and for
new-shape a drift of the background tone. The recovered layer is scored
against the truth with :mod:`qil_editor.engines.edit.quality`; the
thresholds sit above the measured figures (see bench/alpha_recovery.py).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from qil_editor.engines.edit import alpha as A
from qil_editor.engines.edit.quality import edge_band, over, score, soft_iou

H, W = 160, 200
SS = 4  # supersampling for anti-aliased edges


def _mask(draw) -> np.ndarray:
    big = np.zeros((H * SS, W * SS), np.uint8)
    draw(big)
    return cv2.resize(big, (W, H), interpolation=cv2.INTER_AREA)


def shape_alpha(kind: str) -> np.ndarray:
    """uint8 alpha of a named test shape (anti-aliased; 'feather' has a wide soft edge)."""
    s = SS
    if kind == "ellipse":
        return _mask(lambda m: cv2.ellipse(m, (100 * s, 80 * s), (70 * s, 50 * s), 15, 0, 360, 255, -1))
    if kind == "star":
        pts = []
        for i in range(10):
            r = (70 if i % 2 == 0 else 30) * s
            t = np.pi / 5 * i - np.pi / 2
            pts.append((100 * s + r * np.cos(t), 82 * s + r * np.sin(t)))
        return _mask(lambda m: cv2.fillPoly(m, [np.int32(pts)], 255))
    if kind == "text":
        return _mask(lambda m: cv2.putText(m, "SALE", (14 * s, 110 * s), cv2.FONT_HERSHEY_DUPLEX,
                                           2.4 * s, 255, 5 * s, cv2.LINE_8))
    if kind == "ring":
        def draw(m):
            cv2.circle(m, (100 * s, 80 * s), 60 * s, 255, -1)
            cv2.circle(m, (100 * s, 80 * s), 28 * s, 0, -1)
        return _mask(draw)
    if kind == "feather":
        hard = _mask(lambda m: cv2.rectangle(m, (50 * s, 40 * s), (150 * s, 120 * s), 255, -1))
        return cv2.GaussianBlur(hard, (0, 0), 4.0)
    raise ValueError(kind)


def colour_field(seed: int, grey: bool = False, avoid=None, clearance: float = 90.0) -> np.ndarray:
    """A smooth random two-colour gradient (uint8 RGB); greyish if ``grey``.

    With ``avoid`` (a matte colour) the gradient keeps ``clearance`` away from
    it: recovering a new outline needs the new colours to differ from the
    matte (the documented limit of single-matte recovery).
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, W)[None, :, None] * 0.6 + np.linspace(0, 1, H)[:, None, None] * 0.4
    while True:
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        if grey:
            c0, c1 = np.array([110, 112, 118]), np.array([150, 146, 140])
        field = np.broadcast_to(c0 * (1 - t) + c1 * t, (H, W, 3)).round().astype(np.uint8)
        if avoid is None or np.linalg.norm(field.reshape(-1, 3) - np.float64(avoid), axis=1).min() >= clearance:
            return field


def model_like(rgb: np.ndarray, seed: int, blur: float = 0.5, noise: float = 1.5,
               drift: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """What an edit model's RGB looks like after its VAE: slightly soft and noisy (``drift``: a tone shift)."""
    rng = np.random.default_rng(seed)
    out = rgb.astype(np.float32) + np.float32(drift)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    out += rng.normal(0.0, noise, out.shape).astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def keep_shape_case(kind: str, seed: int):
    """(original layer, truth after edit, matte, edited RGB) for a recolour of ``kind``."""
    a = shape_alpha(kind)
    original = np.dstack([colour_field(seed), a])
    truth = np.dstack([colour_field(seed + 100), a])
    matte = A.choose_matte(original)
    edited = model_like(A.over_matte(truth, matte), seed)
    return original, truth, matte, edited


NEW_SHAPE_PAIRS = [("ellipse", "star"), ("star", "text"), ("text", "ring"), ("ring", "feather"),
                   ("feather", "ellipse")]


def new_shape_case(old: str, new: str, seed: int, grey: bool = False):
    """(original layer, truth after edit, matte, edited RGB, matte ring) for an outline change."""
    original = np.dstack([colour_field(seed, grey), shape_alpha(old)])
    matte = A.choose_matte(original, A.NEW_SHAPE_MATTES)
    truth = np.dstack([colour_field(seed + 100, grey, avoid=matte), shape_alpha(new)])
    # the model drifts the background's tone a little: the matte it returns is not quite the one it got
    drifted = tuple(int(c) for c in np.clip(np.int32(matte) + (5, -3, 4), 0, 255))
    edited = model_like(A.over_matte(truth, drifted), seed)
    ring = np.zeros((H, W), bool)
    ring[:3], ring[-3:], ring[:, :3], ring[:, -3:] = True, True, True, True
    return original, truth, matte, edited, ring


def naive(edited: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The edited RGB used as colour without un-matting (what leaves halos)."""
    return np.dstack([edited, alpha]).astype(np.uint8)


# ----- unit behaviour -------------------------------------------------------------

def test_unmatte_inverts_matte_compositing_exactly_without_noise():
    a = shape_alpha("feather")
    layer = np.dstack([colour_field(3), a])
    matte = (128, 128, 128)
    rgb = A.unmatte(A.over_matte(layer, matte), a, matte)
    visible = a >= 64  # 8-bit compositing rounds; below a quarter alpha 1 level grows to up to 4
    err = np.abs(rgb.astype(int) - layer[..., :3])[visible]
    assert err.max() <= 2
    # and over other backgrounds the result matches the truth to within a level or two
    band = edge_band(a)
    for bg in ((0, 0, 0), (255, 255, 255)):
        diff = np.abs(over(np.dstack([rgb, a]), bg) - over(layer, bg))[band]
        assert diff.max() <= 2.5


def test_choose_matte_avoids_the_layers_colours():
    grey = np.dstack([colour_field(0, grey=True), np.full((H, W), 255, np.uint8)])
    assert A.choose_matte(grey) != (128, 128, 128)
    red = np.zeros((8, 8, 4), np.uint8)
    red[...] = (220, 30, 20, 255)
    assert A.choose_matte(red) == (128, 128, 128)
    empty = np.zeros((8, 8, 4), np.uint8)
    assert A.choose_matte(empty) == A.MATTE_CANDIDATES[0]


def test_spread_colours_takes_the_nearest_trusted_colour():
    colour = np.zeros((5, 9, 3), np.float32)
    colour[:, :3] = (1, 0, 0)
    colour[:, 6:] = (0, 0, 1)
    weight = np.zeros((5, 9), np.float32)
    weight[:, 0], weight[:, 8] = 1, 1
    out = A.spread_colours(colour, weight, sigma=0.5)
    assert np.allclose(out[:, 1], (1, 0, 0), atol=1e-3)
    assert np.allclose(out[:, 7], (0, 0, 1), atol=1e-3)
    assert np.array_equal(A.spread_colours(colour, np.zeros((5, 9), np.float32)), np.zeros_like(colour))


def test_guided_filter_keeps_a_step_that_the_guide_has():
    guide = np.zeros((20, 20), np.float32)
    guide[:, 10:] = 1
    noisy = guide + np.random.default_rng(0).normal(0, 0.05, guide.shape).astype(np.float32)
    out = A.guided_filter(guide, noisy, 2, 1e-3)
    assert abs(out[:, 12:].mean() - 1) < 0.02 and abs(out[:, :8].mean()) < 0.02
    assert out[:, 12:].std() < noisy[:, 12:].std()


# ----- keep shape -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ellipse", "star", "text", "ring", "feather"])
def test_keep_shape_reuses_alpha_exactly_and_leaves_no_halo(kind):
    original, truth, matte, edited = keep_shape_case(kind, seed=len(kind))
    out = A.keep_shape(edited, original, matte)
    assert out.dtype == np.uint8 and out.shape == original.shape
    assert np.array_equal(out[..., 3], original[..., 3])
    s = score(out, truth, matte)
    opaque = original[..., 3] == 255
    assert np.abs(out[..., :3].astype(int) - truth[..., :3])[opaque].mean() < 2.0
    assert s.halo_mean < 4.0, s.row()
    assert abs(s.halo_toward_matte) < 2.5, s.row()
    # un-matting is what removes the halo: the raw edited colours keep the matte in the edges
    raw = score(naive(edited, original[..., 3]), truth, matte)
    assert raw.halo_mean > 2.5 * s.halo_mean, (raw.row(), s.row())
    assert raw.halo_toward_matte > 8.0, raw.row()


def test_keep_shape_follows_a_background_tone_shift():
    """The model brightened everything a little: un-matte against what the matte became."""
    a = shape_alpha("feather")
    original = np.dstack([colour_field(5), a])
    matte = A.choose_matte(original)
    edited = model_like(A.over_matte(original, matte), 5, drift=(12, 12, 12))
    out = A.keep_shape(edited, original, matte)
    shifted_truth = np.dstack([np.clip(original[..., :3].astype(int) + 12, 0, 255).astype(np.uint8), a])
    assert score(out, shifted_truth, matte).halo_mean < 2.5


# ----- new shape --------------------------------------------------------------

@pytest.mark.parametrize("old,new", NEW_SHAPE_PAIRS)
def test_new_shape_recovers_the_new_outline(old, new):
    original, truth, matte, edited, ring = new_shape_case(old, new, seed=len(old + new))
    out = A.new_shape(edited, matte, ring)
    assert out.dtype == np.uint8 and out.shape == truth.shape
    s = score(out, truth, matte)
    assert s.soft_iou > 0.96, s.row()
    assert s.alpha_mae < 2.5, s.row()
    assert s.alpha_mae_band < 9.0, s.row()
    # what is left is softness from the VAE-like blur, not matte colour: no bias towards the matte
    assert s.halo_mean < 8.0, s.row()
    assert abs(s.halo_toward_matte) < 4.0, s.row()
    raw = score(naive(edited, out[..., 3]), truth, matte)
    assert raw.halo_toward_matte > 10.0, raw.row()
    # the old outline is gone where the new one does not reach (beyond the blur's spread)
    near_new = cv2.dilate((truth[..., 3] > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    gone = (original[..., 3] == 255) & ~near_new
    assert out[..., 3][gone].max(initial=0) == 0


def test_new_shape_on_a_grey_layer_uses_a_contrasting_matte():
    original, truth, matte, edited, ring = new_shape_case("ellipse", "star", seed=9, grey=True)
    assert matte != (128, 128, 128)
    s = score(A.new_shape(edited, matte, ring), truth, matte)
    assert s.soft_iou > 0.97, s.row()


def test_new_shape_fills_details_but_keeps_matte_coloured_holes():
    """A grey button on a red shape is part of the shape; a matte-coloured hole is a hole.

    (A detail of exactly the matte's colour cannot be told from a hole in one
    image: that is why the matte is chosen to contrast with the layer.)
    """
    matte = (0, 177, 64)
    a = shape_alpha("ellipse")
    layer = np.dstack([np.full((H, W, 3), (210, 40, 30), np.uint8), a])
    layer[75:85, 80:90, :3] = 128        # a grey button: far from the matte, far from the red
    layer[75:81, 110:116, 3] = 0         # a small hole through the layer
    edited = model_like(A.over_matte(layer, matte), 0)
    out = A.new_shape(edited, matte)
    assert out[77:83, 82:88, 3].min() == 255
    assert out[76:80, 111:115, 3].max() <= 8  # noise only
    assert soft_iou(out[..., 3], layer[..., 3]) > 0.98


def test_new_shape_of_nothing_is_transparent():
    edited = model_like(np.full((H, W, 3), 128, np.uint8), 1)
    out = A.new_shape(edited, (128, 128, 128))
    assert out[..., 3].max() == 0

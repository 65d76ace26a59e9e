import zlib

import numpy as np
import pytest
from PIL import Image

from qil_editor.document import BlendMode, Document, Layer, composite
from qil_editor.document.compositing import blend_function


def random_layer(rng, w, h, **kw):
    px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    px[rng.random((h, w)) < 0.2, 3] = 0
    px[rng.random((h, w)) < 0.2, 3] = 255
    return Layer(px, **kw)


def test_normal_matches_pil_alpha_composite():
    rng = np.random.default_rng(1)
    layers = [random_layer(rng, 67, 45) for _ in range(5)]
    doc = Document(67, 45, layers)
    ref = Image.new("RGBA", (67, 45), (0, 0, 0, 0))
    for ly in layers:
        ref = Image.alpha_composite(ref, Image.fromarray(ly.pixels))
    ref = np.asarray(ref).astype(int)
    ours = composite(doc).astype(int)
    visible = ref[..., 3] > 0
    assert np.abs(ours[..., 3] - ref[..., 3]).max() <= 1
    assert np.abs(ours[visible][:, :3] - ref[visible][:, :3]).max() <= 1


def test_offsets_clip_hidden_and_opacity():
    px = np.zeros((4, 4, 4), np.uint8)
    px[...] = (200, 100, 50, 255)
    doc = Document(4, 4, [Layer(px, x=2, y=-2, opacity=0.5),
                          Layer(px, x=0, y=0, visible=False)])
    out = composite(doc)
    assert out[0, 2, 3] == 128 and out[0, 1, 3] == 0 and out[2, 2, 3] == 0
    assert tuple(out[1, 3, :3]) == (200, 100, 50)


def test_region_equals_crop_of_full():
    rng = np.random.default_rng(2)
    layers = [random_layer(rng, 30, 20, x=-5, y=3, blend_mode="screen"),
              random_layer(rng, 50, 40, blend_mode="multiply"),
              random_layer(rng, 10, 10, x=20, y=20, opacity=0.7, blend_mode="overlay")]
    layers.insert(0, random_layer(rng, 40, 40))
    doc = Document(40, 40, layers)
    full = composite(doc)
    np.testing.assert_array_equal(composite(doc, (7, 5, 33, 37)), full[5:37, 7:33])


@pytest.mark.parametrize("mode,cb,cs,expected", [
    ("multiply", 0.5, 0.5, 0.25), ("screen", 0.5, 0.5, 0.75), ("darken", 0.3, 0.6, 0.3),
    ("lighten", 0.3, 0.6, 0.6), ("difference", 0.3, 0.8, 0.5), ("linear_dodge", 0.7, 0.6, 1.0),
    ("overlay", 0.25, 0.5, 0.25), ("hard_light", 0.5, 0.25, 0.25), ("color_dodge", 0.5, 0.5, 1.0),
    ("color_burn", 0.5, 0.5, 0.0), ("soft_light", 0.5, 0.5, 0.5), ("exclusion", 0.5, 0.5, 0.5),
])
def test_blend_functions_by_hand(mode, cb, cs, expected):
    fn = blend_function(BlendMode(mode))
    got = fn(np.full((1, 1, 3), cb, np.float32), np.full((1, 1, 3), cs, np.float32))
    assert got[0, 0, 0] == pytest.approx(expected, abs=1e-6)


def test_blend_over_opaque_backdrop_uses_formula():
    base = Layer(np.full((2, 2, 4), (128, 128, 128, 255), np.uint8))
    top = Layer(np.full((2, 2, 4), (255, 0, 128, 255), np.uint8), blend_mode="multiply")
    out = composite(Document(2, 2, [base, top]))
    assert tuple(out[0, 0]) == (128, 0, 64, 255)


def test_blend_over_transparent_is_plain_source():
    top = Layer(np.full((2, 2, 4), (10, 20, 30, 255), np.uint8), blend_mode="difference")
    out = composite(Document(2, 2, [top]))
    assert tuple(out[0, 0]) == (10, 20, 30, 255)


def reference_composite(layers, w, h):
    """Straightforward float64 W3C compositing, for checking the fast path."""
    cb = np.zeros((h, w, 3))
    ab = np.zeros((h, w, 1))
    for ly in layers:
        if not ly.visible:
            continue
        cs = np.zeros((h, w, 3))
        a = np.zeros((h, w, 1))
        l, t = max(ly.x, 0), max(ly.y, 0)
        r, b = min(ly.x + ly.width, w), min(ly.y + ly.height, h)
        if r <= l or b <= t:
            continue
        px = ly.pixels[t - ly.y:b - ly.y, l - ly.x:r - ly.x].astype(np.float64) / 255
        cs[t:b, l:r] = px[..., :3]
        a[t:b, l:r] = px[..., 3:] * ly.opacity
        fn = blend_function(ly.blend_mode)
        mixed = cs if fn is None else (1 - ab) * cs + ab * np.clip(fn(cb, cs), 0, 1)
        ao = a + ab * (1 - a)
        co = a * mixed + (1 - a) * ab * cb
        cb = np.where(ao > 0, co / np.maximum(ao, 1e-12), 0)
        ab = ao
    return np.concatenate([cb, ab], axis=-1)


@pytest.mark.parametrize("mode", [m for m in BlendMode if m != BlendMode.DISSOLVE])  # dissolve: its
def test_fast_path_matches_reference(mode):  # own statistical test in test_psd_effects.py
    rng = np.random.default_rng(zlib.crc32(mode.value.encode()))
    layers = [random_layer(rng, 70, 50, x=-3, y=2),
              random_layer(rng, 40, 30, x=20, y=10, opacity=0.6, blend_mode=mode),
              random_layer(rng, 80, 80, x=-10, y=-10, opacity=0.8, blend_mode=mode)]
    ours = composite(Document(64, 48, layers)).astype(np.float64) / 255
    ref = reference_composite(layers, 64, 48)
    assert np.abs(ours[..., 3] - ref[..., 3]).max() <= 1 / 255 + 1e-9
    seen = ref[..., 3] > 0.05
    err = np.abs(ours[..., :3] - ref[..., :3])[seen].max(axis=-1)
    if mode in (BlendMode.HARD_MIX, BlendMode.DARKER_COLOR, BlendMode.LIGHTER_COLOR):
        # Threshold modes: float32 vs float64 may fall on either side of the
        # step for values that sit exactly on it; allow a few such pixels.
        assert (err > 2 / 255 + 1e-9).mean() < 0.01
    else:
        assert err.max() <= 2 / 255 + 1e-9

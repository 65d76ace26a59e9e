import colorsys

import numpy as np
import pytest

from qil_editor.engines.recolor import Recolor, adjust_hsl, colorize

LUM = np.array([0.3, 0.59, 0.11])


def _rand(seed=0, shape=(32, 48)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, shape + (4,), dtype=np.uint8)


def test_identity_keeps_pixels():
    px = _rand()
    out = adjust_hsl(px)
    assert np.abs(out.astype(int) - px).max() <= 1
    assert out is not px


@pytest.mark.parametrize("hue", [30, -90, 180])
def test_hue_shift_matches_colorsys(hue):
    px = _rand(1, (8, 8))
    out = adjust_hsl(px, hue=hue)
    for y in range(8):
        for x in range(8):
            r, g, b = px[y, x, :3] / 255.0
            h, l, s = colorsys.rgb_to_hls(r, g, b)
            exp = np.array(colorsys.hls_to_rgb((h + hue / 360.0) % 1.0, l, s)) * 255
            assert np.abs(out[y, x, :3] - exp).max() <= 2.0, (y, x)


def test_alpha_untouched_everywhere():
    px = _rand(2)
    for out in (adjust_hsl(px, 40, 50, -30), colorize(px, (10, 200, 30), 0.6)):
        assert np.array_equal(out[..., 3], px[..., 3])
        assert out.dtype == np.uint8 and out.shape == px.shape


def test_saturation_minus_100_gives_grey_and_lightness_extremes():
    px = _rand(3)
    grey = adjust_hsl(px, saturation=-100)
    assert np.abs(grey[..., 0].astype(int) - grey[..., 2]).max() <= 1
    assert adjust_hsl(px, lightness=-100)[..., :3].max() == 0
    assert adjust_hsl(px, lightness=100)[..., :3].min() == 255
    half = adjust_hsl(px, lightness=50)[..., :3].astype(int)
    assert np.abs(half - (px[..., :3] + (255 - px[..., :3].astype(int)) * 0.5)).max() <= 1


def test_colorize_keeps_luminosity_and_takes_hue():
    ramp = np.zeros((1, 256, 4), np.uint8)
    ramp[0, :, :3] = np.arange(256)[:, None]
    ramp[..., 3] = 255
    out = colorize(ramp, (0, 0, 255))
    lum_in = ramp[0, :, :3] @ LUM
    lum_out = out[0, :, :3] @ LUM
    assert np.abs(lum_in - lum_out).max() <= 2.0
    mid = out[0, 128, :3].astype(int)
    assert mid[2] > mid[0] and mid[2] > mid[1]  # blue-ish
    assert colorsys.rgb_to_hls(*(mid / 255.0))[0] == pytest.approx(2 / 3, abs=0.02)


def test_colorize_amount_zero_is_identity_and_recolor_dispatch():
    px = _rand(4)
    assert np.abs(colorize(px, (255, 0, 0), 0.0).astype(int) - px).max() <= 1
    assert Recolor(mode="colorize", amount=0.0).is_identity
    assert not Recolor(hue=10).is_identity
    assert np.array_equal(Recolor(hue=25, lightness=10).apply(px), adjust_hsl(px, 25, 0, 10))
    with pytest.raises(ValueError):
        Recolor(mode="bogus").apply(px)
    with pytest.raises(ValueError):
        adjust_hsl(px[..., :3])

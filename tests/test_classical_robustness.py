"""Odd inputs give sensible layers or a clear QilError, never a crash."""

import numpy as np
import pytest

from qil_editor.document import composite
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer
from qil_editor.errors import InputFileError, QilError, UsageError
from qil_editor.evaluation.metrics import psnr
from qil_editor.evaluation.synthetic import _fractal


def decompose(image, layers=4):
    return ClassicalDecomposer().decompose(image, DecomposeOptions(layers=layers))


def opaque(rgb):
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def photo_like(h=240, w=320, seed=3):
    rng = np.random.default_rng(seed)
    t = np.stack([_fractal(h, w, rng) for _ in range(3)], axis=-1)
    noise = rng.normal(0, 6, (h, w, 3))
    return opaque(np.clip(t * 255 + noise, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("name, image", [
    ("photo", photo_like()),
    ("noise", opaque(np.random.default_rng(0).integers(0, 256, (160, 200, 3), dtype=np.uint8))),
    ("flat", opaque(np.full((120, 90, 3), (12, 140, 200), np.uint8))),
])
def test_any_picture_rebuilds_exactly(name, image):
    for layers in (None, 2, 10):
        doc = decompose(image, layers)
        assert (doc.width, doc.height) == image.shape[1::-1]
        assert 1 <= len(doc.layers) <= 10
        assert doc.layers[0].name == "Background"
        assert psnr(composite(doc)[..., :3], image[..., :3]) >= 40.0, (name, layers)


def test_single_flat_colour_is_one_background_layer():
    image = opaque(np.full((64, 48, 3), (200, 30, 90), np.uint8))
    doc = decompose(image, None)
    assert len(doc.layers) == 1
    np.testing.assert_array_equal(doc.layers[0].pixels, image)


@pytest.mark.parametrize("shape", [(1, 1), (1, 10000), (10000, 1), (2, 3), (5, 7)])
def test_tiny_and_extreme_sizes(shape):
    rng = np.random.default_rng(1)
    image = opaque(rng.integers(0, 256, shape + (3,), dtype=np.uint8))
    doc = decompose(image)
    assert (doc.height, doc.width) == shape
    assert psnr(composite(doc)[..., :3], image[..., :3]) >= 40.0


def test_one_pixel_high_banner_with_a_stripe():
    image = opaque(np.full((1, 10000, 3), 250, np.uint8))
    image[0, 4000:6000, :3] = (10, 20, 200)
    doc = decompose(image, 2)
    assert psnr(composite(doc)[..., :3], image[..., :3]) >= 40.0


def test_fully_transparent_input_is_a_clear_error():
    with pytest.raises(InputFileError) as err:
        decompose(np.zeros((40, 40, 4), np.uint8))
    assert "transparent" in err.value.message


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 5), np.uint8), np.zeros((0, 10, 3), np.uint8),
                                 np.zeros((4, 4, 4, 4), np.uint8)])
def test_unusable_arrays_are_usage_errors(bad):
    with pytest.raises(UsageError):
        decompose(bad)


def test_grey_float_and_16_bit_inputs_are_accepted():
    grey = (np.indices((80, 100)).sum(0) % 256).astype(np.uint8)
    for image in (grey, grey.astype(np.float32) / 255.0, grey.astype(np.uint16) * 257):
        doc = decompose(image, 2)
        assert (doc.height, doc.width) == (80, 100)
        flat = composite(doc)
        assert psnr(flat[..., 0], grey) >= 40.0


def test_soft_alpha_input_keeps_its_transparency():
    rng = np.random.default_rng(2)
    h, w = 120, 160
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = (240, 200, 40)
    rgba[30:90, 40:120, :3] = (20, 40, 160)
    yy, xx = np.mgrid[0:h, 0:w]
    rgba[..., 3] = np.clip(255 - np.hypot(yy - 60, xx - 80) * 3, 0, 255).astype(np.uint8)
    rgba[rng.random((h, w)) < 0.01, 3] = 0
    doc = decompose(rgba, 3)
    flat = composite(doc)
    assert np.abs(flat[..., 3].astype(int) - rgba[..., 3]).max() <= 2
    assert not flat[rgba[..., 3] == 0, 3].any()
    solid = rgba[..., 3] > 200
    assert psnr(flat[solid, :3], rgba[solid, :3]) >= 40.0


def test_errors_are_qil_errors_not_tracebacks():
    for bad in (np.zeros((8, 8, 4), np.uint8), np.zeros((3, 3, 6), np.uint8)):
        with pytest.raises(QilError):
            decompose(bad)

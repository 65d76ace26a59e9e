"""Bucket sizes and premultiplied resampling between the input and the model's bucket."""

import numpy as np
import pytest

from qil_editor.document import Document, Layer, composite
from qil_editor.engines.qwen.resize import (as_rgba_u8, bucket_size, layers_to_input_size, premultiply,
                                            resize_rgba, restore_detail, unpremultiply, working_size)


@pytest.mark.parametrize("size", [(1, 1), (203, 301), (1920, 1080), (333, 120), (31, 1999), (640, 640)])
@pytest.mark.parametrize("resolution", [640, 1024])
def test_working_size_is_a_fixed_point_of_the_pipelines_rule(size, resolution):
    w, h = working_size(*size, resolution)
    assert (w, h) == bucket_size(w, h, resolution)  # the pipeline will not resample again
    assert w % 32 == 0 and h % 32 == 0 and min(w, h) >= 32
    assert abs(w * h - resolution ** 2) / resolution ** 2 < 0.25
    if min(size) > 100:
        assert abs(w / h - size[0] / size[1]) / (size[0] / size[1]) < 0.1


def test_bucket_matches_diffusers_calculate_dimensions():
    from diffusers.pipelines.qwenimage.pipeline_qwenimage_layered import calculate_dimensions
    for w, h in [(203, 301), (1920, 1080), (333, 120), (777, 778)]:
        for res in (640, 1024):
            assert bucket_size(w, h, res) == tuple(int(v) for v in calculate_dimensions(res * res, w / h))


def test_as_rgba_accepts_grey_grey_alpha_rgb_rgba_and_16_bit():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = as_rgba_u8(grey)
    assert out.shape == (3, 4, 4) and (out[..., 0] == grey).all() and (out[..., 3] == 255).all()
    la = np.dstack([grey, np.full_like(grey, 7)])
    assert (as_rgba_u8(la)[..., 3] == 7).all()
    rgb = np.zeros((2, 2, 3), np.uint8)
    assert as_rgba_u8(rgb).shape == (2, 2, 4)
    assert as_rgba_u8(np.full((2, 2, 4), 65535, np.uint16)).max() == 255
    with pytest.raises(ValueError):
        as_rgba_u8(np.zeros((2, 2, 5), np.uint8))


def test_premultiplied_resize_has_no_dark_fringe():
    # opaque red square on fully transparent *black*: straight-alpha resampling darkens the edge
    img = np.zeros((64, 64, 4), np.uint8)
    img[16:48, 16:48] = (255, 0, 0, 255)
    for size in [(150, 150), (23, 23)]:
        out = resize_rgba(img, *size)
        visible = out[..., 3] > 0
        assert visible.any()
        assert (out[visible][:, 0] >= 250).all(), "edge pixels must stay red, not darkened"
        assert (out[visible][:, 1:3] <= 3).all()


def test_premultiply_round_trip():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    back = unpremultiply(premultiply(img))
    opaque = img[..., 3] > 128
    assert np.abs(back.astype(int) - img)[opaque].max() <= 1
    assert (back[img[..., 3] == 0][:, :3] == 0).all()


def _layers(h, w):
    rng = np.random.default_rng(1)
    bg = np.dstack([rng.integers(0, 256, (h, w, 3)), np.full((h, w), 255)]).astype(np.uint8)
    fg = np.zeros((h, w, 4), np.uint8)
    fg[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (20, 200, 90, 255)
    fg[h // 4: h // 2, w // 4: w // 2, 3] = 128  # half transparent part
    return [bg, fg]


def test_restore_detail_makes_scaled_layers_composite_to_the_input():
    h, w = 90, 130
    truth = _layers(h, w)
    doc = Document(w, h, [Layer(p) for p in truth])
    target = composite(doc)
    small = [resize_rgba(p, 40, 28) for p in truth]       # what a model at a smaller bucket returns
    blurry = layers_to_input_size(small, w, h)            # scaled only
    restored = layers_to_input_size(small, w, h, target)  # scaled + detail restored
    err_blurry = np.abs(composite(Document(w, h, [Layer(p) for p in blurry])).astype(int) - target).mean()
    err = np.abs(composite(Document(w, h, [Layer(p) for p in restored])).astype(int) - target)
    assert err_blurry > 10
    assert err[..., :3].max() <= 2 and err.mean() < 0.6
    # alpha is the model's, not changed by the restoration
    for b, r in zip(blurry, restored):
        assert np.array_equal(b[..., 3], r[..., 3])


def test_restore_detail_leaves_hidden_parts_of_lower_layers_alone():
    h, w = 16, 16
    bottom = np.full((h, w, 4), (10, 10, 10, 255), np.uint8)
    top = np.full((h, w, 4), (200, 0, 0, 255), np.uint8)  # covers everything
    target = np.full((h, w, 4), (220, 0, 0, 255), np.uint8)
    res = restore_detail([bottom, top], target)
    assert np.array_equal(res[0], bottom)
    assert (res[1][..., 0] == 220).all()

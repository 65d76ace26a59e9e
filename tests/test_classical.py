"""The classical decomposer on scenes whose right answer is known."""

import cv2
import numpy as np
import pytest
from PIL import Image

from qil_editor.document import Document, Layer, composite
from qil_editor.engines.base import DecomposeOptions, default_registry
from qil_editor.engines.classical import ClassicalDecomposer
from qil_editor.engines.jobs import CancelToken
from qil_editor.errors import CancelledError
from qil_editor.evaluation.metrics import psnr


def on_canvas(layer: Layer, w: int, h: int) -> np.ndarray:
    out = np.zeros((h, w, 4), np.uint8)
    out[layer.y:layer.y + layer.height, layer.x:layer.x + layer.width] = layer.pixels
    return out


def disc_scene(w=240, h=180, ss=8):
    """Red disc with exact anti-aliased coverage on a vertical blue gradient."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top, bottom = np.array([40, 90, 200], np.float32), np.array([120, 170, 250], np.float32)
    bg = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3))
    big = np.zeros((h * ss, w * ss), np.uint8)
    cv2.circle(big, (int(130.3 * ss), int(85.6 * ss)), int(48.4 * ss), 255, -1)
    cover = cv2.resize(big.astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_AREA)
    red = np.array([220, 30, 40], np.float32)
    img = bg * (1 - cover[..., None]) + red * cover[..., None]
    rgba = np.dstack([np.clip(img + 0.5, 0, 255).astype(np.uint8), np.full((h, w), 255, np.uint8)])
    return rgba, cover, bg


def reconstruction_psnr(doc: Document, image: np.ndarray) -> float:
    return psnr(composite(doc)[..., :3], image[..., :3])


def test_registered_as_classical_and_always_available():
    engine = default_registry().get("classical")
    assert isinstance(engine, ClassicalDecomposer)
    assert engine.name == "classical" and engine.label == "Classical (CPU)"
    assert engine.availability(DecomposeOptions()).ok


def test_red_disc_alpha_matches_drawn_coverage_and_background_is_filled():
    image, cover, bg = disc_scene()
    h, w = cover.shape
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=2))
    assert (doc.width, doc.height) == (w, h)
    assert len(doc.layers) == 2 and doc.layers[0].name == "Background"
    disc = doc.layers[1]
    assert disc.width < w and disc.height < h  # cropped to its box
    alpha = on_canvas(disc, w, h)[..., 3].astype(np.float32) / 255.0
    assert np.abs(alpha - cover).mean() < 0.01
    rim = (cover > 0.02) & (cover < 0.98)
    assert np.abs(alpha - cover)[rim].mean() < 0.08
    inside = on_canvas(disc, w, h)[cover > 0.5, :3].astype(int)
    assert np.abs(inside - [220, 30, 40]).max() <= 12  # unblended rims keep the disc's red
    under = doc.layers[0].pixels[..., :3].astype(np.float32)
    hidden = cv2.erode((cover > 0.99).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(under[hidden] - bg[hidden]).mean() < 4.0  # the gradient continues, not red
    assert (under[hidden][:, 0] < under[hidden][:, 2]).all()
    assert reconstruction_psnr(doc, image) >= 40.0


def test_sample_poster_decomposes_into_named_layers_that_rebuild_it(sample_poster):
    image = np.asarray(Image.open(sample_poster).convert("RGBA"))
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=None))
    names = [layer.name for layer in doc.layers]
    assert names[0] == "Background"
    assert any(n.startswith("Text") for n in names) and "Shadow" in names
    assert 4 <= len(doc.layers) <= 10
    assert reconstruction_psnr(doc, image) >= 40.0
    four = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=4))
    assert len(four.layers) == 4
    assert reconstruction_psnr(four, image) >= 40.0


def test_text_on_card_leaves_a_clean_card_when_hidden():
    w, h = 320, 200
    img = np.full((h, w, 3), (240, 236, 228), np.uint8)
    cv2.rectangle(img, (40, 40), (280, 160), (40, 60, 120), -1)
    pil = Image.fromarray(img)
    from PIL import ImageDraw
    from qil_editor.evaluation.synthetic import find_fonts, load_font
    fonts = find_fonts()
    ImageDraw.Draw(pil).text((70, 80), "Hello card", fill=(255, 255, 255),
                             font=load_font(fonts[0] if fonts else None, 32))
    image = np.dstack([np.asarray(pil), np.full((h, w), 255, np.uint8)])
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=3))
    assert len(doc.layers) == 3
    card, text = doc.layers[1], doc.layers[2]
    assert text.name.startswith("Text")
    card_px = on_canvas(card, w, h)
    body = card_px[50:150, 50:270]
    assert (body[..., 3] == 255).all()
    assert np.abs(body[..., :3].astype(int) - [40, 60, 120]).max() <= 6  # no ghost of the text
    assert reconstruction_psnr(doc, image) >= 40.0


def test_drop_shadow_becomes_its_own_layer():
    w, h = 300, 220
    img = np.full((h, w, 3), 235, np.float32)
    mask = np.zeros((h, w), np.float32)
    cv2.rectangle(mask, (80, 60), (200, 150), 1.0, -1)
    shadow = cv2.GaussianBlur(np.roll(mask, (8, 8), (0, 1)), (0, 0), 5) * 0.5
    img *= 1 - shadow[..., None]
    img = img * (1 - mask[..., None]) + np.array([230, 120, 40], np.float32) * mask[..., None]
    image = np.dstack([np.clip(img + 0.5, 0, 255).astype(np.uint8), np.full((h, w), 255, np.uint8)])
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=None))
    names = [layer.name for layer in doc.layers]
    assert "Shadow" in names
    assert names.index("Shadow") < len(names) - 1  # under the shape it belongs to
    assert reconstruction_psnr(doc, image) >= 40.0


def test_progress_steps_increase_and_finish():
    image, _, _ = disc_scene(120, 90)
    seen = []
    ClassicalDecomposer().decompose(image, DecomposeOptions(layers=2), progress=seen.append)
    steps = [p.step for p in seen]
    assert len(seen) >= 5
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == seen[-1].total
    assert all(p.message for p in seen)


def test_cancel_is_honoured_between_stages():
    image, _, _ = disc_scene(120, 90)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        ClassicalDecomposer().decompose(image, DecomposeOptions(layers=2), cancel=token)
    token = CancelToken()
    seen = []

    def cancel_at_stage_two(p):
        seen.append(p.step)
        if p.step == 2:
            token.cancel()

    with pytest.raises(CancelledError):
        ClassicalDecomposer().decompose(image, DecomposeOptions(layers=2),
                                        progress=cancel_at_stage_two, cancel=token)
    assert max(seen) == 2


def test_redecomposing_a_layer_respects_its_alpha():
    """Split a card-with-text layer (transparent around it) into sub-layers."""
    w, h = 260, 160
    px = np.zeros((h, w, 4), np.uint8)
    card = np.zeros((h * 4, w * 4), np.uint8)
    cv2.rectangle(card, (80, 80), (w * 4 - 80, h * 4 - 80), 255, -1)
    a = cv2.resize(card, (w, h), interpolation=cv2.INTER_AREA)
    px[..., :3] = (30, 110, 90)
    px[..., 3] = a
    cv2.rectangle(px, (70, 60), (190, 100), (250, 240, 200, 255), -1)
    px[a == 0] = 0
    doc = ClassicalDecomposer().decompose(px, DecomposeOptions(layers=2))
    assert len(doc.layers) == 2
    flat = composite(doc)
    assert np.abs(flat[..., 3].astype(int) - a.astype(int)).max() <= 2
    assert not flat[a == 0, 3].any()
    for layer in doc.layers:  # nothing appears outside the input's shape
        assert not on_canvas(layer, w, h)[a == 0, 3].any()
    seen = a == 255
    assert psnr(flat[seen, :3], px[seen, :3]) >= 40.0
    top = on_canvas(doc.layers[1], w, h)
    assert top[80, 130, 3] == 255 and abs(int(top[80, 130, 0]) - 250) <= 3
    base = on_canvas(doc.layers[0], w, h)  # the card stays whole under what covered it
    assert (base[62:99, 72:189, 3] == 255).all()
    assert np.abs(base[62:99, 72:189, :3].astype(int) - [30, 110, 90]).max() <= 3


def test_title_and_banner_come_off_a_photo_background():
    from PIL import ImageDraw
    from qil_editor.evaluation.synthetic import _fractal, find_fonts, load_font
    rng = np.random.default_rng(5)
    h, w = 300, 450
    t = np.stack([_fractal(h, w, rng) for _ in range(3)], -1)
    photo = np.clip(t * 200 + 30 + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    pil = Image.fromarray(photo)
    draw = ImageDraw.Draw(pil)
    fonts = find_fonts()
    draw.rectangle((30, 210, 230, 270), fill=(230, 60, 40))
    draw.text((40, 40), "Market", fill=(255, 255, 255), font=load_font(fonts[1] if fonts else None, 48))
    image = np.dstack([np.asarray(pil), np.full((h, w), 255, np.uint8)])
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=None))
    names = [layer.name for layer in doc.layers]
    assert names[0] == "Background" and any(n.startswith("Text") for n in names)
    assert any(n.startswith("Shape") for n in names)
    bg = doc.layers[0].pixels[..., :3].astype(int)
    banner = bg[220:260, 40:220]
    assert np.abs(banner - [230, 60, 40]).sum(-1).mean() > 60  # filled from the photo, not red
    assert reconstruction_psnr(doc, image) >= 40.0

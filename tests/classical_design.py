"""Hand-made designs for the classical engine's tests: layers from a colour and an alpha, the
flattened image with its truth, and a decomposition checked to rebuild its input."""

import cv2
import numpy as np
from PIL import Image, ImageDraw

from qil_editor.document import Document, Layer, composite
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer
from qil_editor.engines.classical.regions import Region, Segmentation
from qil_editor.evaluation.datasets import stack_from_document
from qil_editor.evaluation.failures import soft_iou
from qil_editor.evaluation.metrics import psnr
from qil_editor.evaluation.synthetic import find_fonts, load_font


def layer(colour, alpha, name):
    """A layer of ``colour`` (RGB in [0, 1], or an (H, W, 3) picture) under ``alpha`` (H, W)."""
    h, w = alpha.shape
    px = np.zeros((h, w, 4), np.uint8)
    px[..., :3] = np.clip(np.broadcast_to(np.asarray(colour, np.float32), (h, w, 3)) * 255 + 0.5, 0, 255)
    px[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255)
    return Layer(px, name=name)


def flatten(layers):
    """The opaque image a designer would open, and the truth layers as the metrics take them."""
    h, w = layers[0].pixels.shape[:2]
    doc = Document(w, h, layers)
    image = composite(doc)
    image[..., 3] = 255
    return image, stack_from_document(doc).layers


def design(background, *objects):
    """``background`` (a colour or an (H, W, 3) picture) plus (colour, alpha, name) objects,
    bottom first: (image, truth layers)."""
    h, w = objects[0][1].shape
    return flatten([layer(background, np.ones((h, w), np.float32), "Background")]
                   + [layer(c, a, n) for c, a, n in objects])


def decompose(image, layers):
    """The classical decomposition of ``image`` into ``layers``: (document, layers as the metrics
    take them); fails unless the stack still rebuilds the input."""
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions(layers=layers))
    assert psnr(composite(doc)[..., :3], image[..., :3]) >= 40.0
    return doc, stack_from_document(doc).layers


# Photo-like backdrops for the tests of designs on photos (320 x 240 unless told).
W, H = 320, 240


def noise(seed, octaves=6, first=2, size=(W, H)):
    """Fractal value noise in [0, 1] (a photo-like texture), deterministic."""
    w, h = size
    rng = np.random.default_rng(seed)
    acc, amp = np.zeros((h, w), np.float32), 1.0
    for o in range(octaves):
        cells = 2 ** (o + first)
        acc += amp * cv2.resize(rng.random((cells, cells)).astype(np.float32), (w, h),
                                interpolation=cv2.INTER_CUBIC)
        amp *= 0.55
    return (acc - acc.min()) / (acc.max() - acc.min())


def photo(seed, c0=(0.1, 0.15, 0.45), c1=(0.35, 0.55, 0.85), size=(W, H)):
    """A photo-like texture: fractal shapes in a colour ramp plus a little grain."""
    w, h = size
    t = noise(seed, size=size)[..., None]
    grain = np.random.default_rng(seed).normal(0, 0.02, (h, w, 3)).astype(np.float32)
    return np.clip((1 - t) * np.float32(c0) + t * np.float32(c1) + grain, 0, 1)


def grainy_blobs(seed=3):
    """A blurred-blob backdrop with a little film grain (a soft photo), 320 x 240."""
    rng = np.random.default_rng(seed)
    out = np.broadcast_to(np.float32([0.2, 0.45, 0.3]), (H, W, 3)).copy()
    for cx, cy, col in ((80, 60, (0.55, 0.6, 0.35)), (240, 170, (0.3, 0.25, 0.2)), (260, 40, (0.15, 0.3, 0.2))):
        m = np.zeros((H, W), np.float32)
        cv2.circle(m, (cx, cy), 60, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), 30)[..., None]
        out = out * (1 - m) + np.float32(col) * m
    return np.clip(out + rng.normal(0, 0.01, out.shape).astype(np.float32), 0, 1)


def box(x0, y0, x1, y1, r=0):
    """An anti-aliased (rounded) rectangle's alpha on the 320 x 240 canvas."""
    ss = 4
    big = np.zeros((H * ss, W * ss), np.uint8)
    if r:
        cv2.rectangle(big, ((x0 + r) * ss, y0 * ss), ((x1 - r) * ss, y1 * ss), 255, -1)
        cv2.rectangle(big, (x0 * ss, (y0 + r) * ss), (x1 * ss, (y1 - r) * ss), 255, -1)
        for px, py in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(big, (px * ss, py * ss), r * ss, 255, -1)
    else:
        cv2.rectangle(big, (x0 * ss, y0 * ss), (x1 * ss - 1, y1 * ss - 1), 255, -1)
    return cv2.resize(big, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def ellipse(cx, cy, rx, ry, size=(W, H)):
    """An anti-aliased ellipse's alpha."""
    w, h = size
    ss = 4
    big = np.zeros((h * ss, w * ss), np.uint8)
    cv2.ellipse(big, (cx * ss, cy * ss), (rx * ss, ry * ss), 0, 0, 360, 255, -1)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def words(lines, x, y, size, serif=False, bold=False, spacing=1.25, canvas=(W, H)):
    """The alpha of one line (a str) or several (a list) set in a DejaVu face at ``size`` px."""
    lines = [lines] if isinstance(lines, str) else lines
    fonts = [f for f in find_fonts() if ("Serif" in f) == serif and ("Bold" in f) == bold]
    font = load_font(fonts[0] if fonts else None, size)
    img = Image.new("L", canvas, 0)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((x, y + int(i * spacing * size)), line, fill=255, font=font)
    return np.asarray(img, np.float32) / 255.0


def best_iou(pred, alpha):
    """The truth layer's soft IoU with the predicted layer that matches it best (not the
    background): 1 when it came out as a layer of its own."""
    return max([soft_iou(p[..., 3].astype(np.float32) / 255.0, alpha) for p in pred[1:]], default=0.0)


def segmentation(owner, kinds, colours=None, sharp=None):
    """A hand-built segmentation of the label image ``owner`` (labels 1..len(kinds)), for
    testing the ordering on exactly the regions a case needs: each region's box and area
    from its pixels, its colour from ``colours`` (grey by default), its edge ``sharp``ness."""
    regions = []
    for i, kind in enumerate(kinds):
        lbl = i + 1
        ys, xs = np.nonzero(owner == lbl)
        rgb = np.array(colours[i] if colours else (0.5, 0.5, 0.5), np.float32)
        slc = (slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)) \
            if ys.size else (slice(0, 1), slice(0, 1))
        regions.append(Region(lbl, kind, slc, max(1, int(ys.size)), rgb, rgb * 100.0,
                              sharp=1.0 if sharp is None else sharp[i]))
    return Segmentation(owner, regions, owner > 0, np.zeros_like(owner, bool))

"""Synthetic layered designs with exact ground truth.

Each design is a flat or gradient background plus a few elements: flat or
gradient shapes (anti-aliased by supersampling), text in real fonts (DejaVu
when installed, Pillow's built-in font otherwise), photo-like fractal
textures with feathered edges, drop shadows as their own layer under the
element, partial transparency and overlaps. The ground truth keeps each
element whole, including the parts other elements hide, which is what the
RGB L1 metric rewards a decomposer for filling in.
"""

from __future__ import annotations

import colorsys
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..document import Document, Layer, composite

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
             "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
              "DejaVuSerif-Bold.ttf", "DejaVuSansCondensed-Bold.ttf")
WORDS = ("SALE", "Summer", "Open day", "NEW", "Festival", "Coffee & Co", "Hello", "Design",
         "50% off", "Workshop", "Live music", "Book now", "Garden", "Travel", "Studio")


@dataclass
class SyntheticDesign:
    image: np.ndarray          # (H, W, 4) uint8, opaque: the flattened design
    truth: Document            # its layers, bottom first, hidden parts included
    seed: int


def find_fonts() -> list[str]:
    """DejaVu fonts that exist on this machine (CI installs fonts-dejavu-core)."""
    found = []
    for d in FONT_DIRS:
        for f in FONT_FILES:
            p = os.path.join(d, f)
            if os.path.isfile(p):
                found.append(p)
    return found


def load_font(path: str | None, size: int) -> ImageFont.ImageFont:
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # very old Pillow: bitmap font, fixed size
        return ImageFont.load_default()


def _colour(rng: np.random.Generator, light: bool | None = None) -> np.ndarray:
    h = rng.random()
    s = rng.uniform(0.25, 0.9)
    if light is None:
        light = bool(rng.random() < 0.5)
    v = rng.uniform(0.75, 1.0) if light else rng.uniform(0.15, 0.55)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32)


def _gradient(h: int, w: int, c0, c1, rng, kind: str) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "radial":
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        t = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / (0.8 * np.hypot(w, h))
    else:
        ang = rng.uniform(0, np.pi)
        dx, dy = np.cos(ang), np.sin(ang)
        p = xx * dx + yy * dy
        t = (p - p.min()) / max(1e-6, float(p.max() - p.min()))
    t = np.clip(t, 0, 1)[..., None]
    return (1 - t) * np.asarray(c0, np.float32) + t * np.asarray(c1, np.float32)


def _to_layer(colour: np.ndarray, alpha: np.ndarray, name: str) -> Layer:
    """Float colour (H, W, 3) or (3,) and alpha (H, W) in [0, 1] -> cropped Layer."""
    h, w = alpha.shape
    px = np.zeros((h, w, 4), np.uint8)
    col = np.broadcast_to(np.asarray(colour, np.float32), (h, w, 3))
    px[..., :3] = np.clip(col * 255 + 0.5, 0, 255).astype(np.uint8)
    px[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    px[px[..., 3] == 0, :3] = 0
    rows, cols = np.flatnonzero(px[..., 3].any(1)), np.flatnonzero(px[..., 3].any(0))
    if rows.size == 0:
        return Layer(px[:1, :1], name=name)
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return Layer(px[y0:y1, x0:x1].copy(), name=name, x=int(x0), y=int(y0))


def _shape_mask(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    kind = rng.choice(["rect", "round", "ellipse", "poly"], p=[0.25, 0.3, 0.3, 0.15])
    SS = max(1, min(4, 8192 // max(h, w)))  # supersampling, bounded in memory
    big = np.zeros((h * SS, w * SS), np.uint8)
    bw, bh = rng.uniform(0.15, 0.5) * w, rng.uniform(0.12, 0.45) * h
    cx, cy = rng.uniform(bw / 2, w - bw / 2), rng.uniform(bh / 2, h - bh / 2)
    x0, y0, x1, y1 = [int(v * SS) for v in (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)]
    if kind == "rect":
        cv2.rectangle(big, (x0, y0), (x1, y1), 255, -1)
    elif kind == "round":
        r = int(min(x1 - x0, y1 - y0) * rng.uniform(0.1, 0.3))
        cv2.rectangle(big, (x0 + r, y0), (x1 - r, y1), 255, -1)
        cv2.rectangle(big, (x0, y0 + r), (x1, y1 - r), 255, -1)
        for px, py in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(big, (px, py), r, 255, -1)
    elif kind == "ellipse":
        if rng.random() < 0.5:  # a disc
            bh = bw = min(bw, bh)
        cv2.ellipse(big, (int(cx * SS), int(cy * SS)), (int(bw * SS / 2), int(bh * SS / 2)),
                    0, 0, 360, 255, -1)
    else:
        n = int(rng.integers(3, 7))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        pts = np.stack([cx + np.cos(ang) * bw / 2, cy + np.sin(ang) * bh / 2], 1) * SS
        cv2.fillPoly(big, [pts.astype(np.int32)], 255)
    small = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0, "Shape"


def _text_mask(h: int, w: int, rng: np.random.Generator, fonts: list[str]) -> tuple[np.ndarray, str]:
    word = str(rng.choice(WORDS))
    size = int(rng.uniform(0.04, 0.14) * min(h, w) + 10)
    font = load_font(str(rng.choice(fonts)) if fonts else None, size)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((0, 0), word, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x = int(rng.uniform(0, max(1, w - tw))) - box[0]
    y = int(rng.uniform(0, max(1, h - th))) - box[1]
    draw.text((x, y), word, fill=255, font=font)
    return np.asarray(img, np.float32) / 255.0, "Text"


def _fractal(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    acc = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for octave in range(6):
        cells = 2 ** (octave + 2)
        noise = rng.random((cells, cells)).astype(np.float32)
        acc += amp * cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.55
    acc /= total
    return (acc - acc.min()) / max(1e-6, float(acc.max() - acc.min()))


def _photo(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A photo-like texture placed on the design with a soft (feathered) edge."""
    bw, bh = int(rng.uniform(0.2, 0.45) * w), int(rng.uniform(0.2, 0.45) * h)
    x0, y0 = int(rng.uniform(0, w - bw)), int(rng.uniform(0, h - bh))
    t = _fractal(h, w, rng)
    c0, c1, c2 = _colour(rng, False), _colour(rng), _colour(rng, True)
    tt = t[..., None]
    col = np.where(tt < 0.5, c0 + (c1 - c0) * (tt * 2), c1 + (c2 - c1) * (tt * 2 - 1))
    col = np.clip(col + rng.normal(0, 0.02, col.shape).astype(np.float32), 0, 1)
    mask = np.zeros((h, w), np.float32)
    if rng.random() < 0.5:
        mask[y0:y0 + bh, x0:x0 + bw] = 1.0
    else:
        cv2.ellipse(mask, (x0 + bw // 2, y0 + bh // 2), (bw // 2, bh // 2), 0, 0, 360, 1.0, -1)
    feather = rng.uniform(1.0, 4.0)
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return col, np.clip(mask, 0, 1)


def generate_design(seed: int, size: tuple[int, int] = (512, 384), *,
                    fonts: list[str] | None = None, elements: int | None = None) -> SyntheticDesign:
    """One random design; the same seed always gives the same design."""
    rng = np.random.default_rng(seed)
    w, h = size
    fonts = find_fonts() if fonts is None else fonts
    layers = []
    kind = rng.choice(["flat", "linear", "radial"], p=[0.3, 0.45, 0.25])
    c0 = _colour(rng, True)
    if kind == "flat":
        bg = np.broadcast_to(c0, (h, w, 3))
    else:
        bg = _gradient(h, w, c0, _colour(rng, True), rng, kind)
    layers.append(_to_layer(bg, np.ones((h, w), np.float32), "Background"))
    n = int(elements if elements is not None else rng.integers(2, 6))
    counts = {}
    for _ in range(n):
        etype = rng.choice(["shape", "text", "photo"], p=[0.45, 0.4, 0.15])
        if etype == "photo":
            colour, alpha = _photo(h, w, rng)
            name = "Photo"
        elif etype == "text":
            alpha, name = _text_mask(h, w, rng, fonts)
            colour = _colour(rng)
        else:
            alpha, name = _shape_mask(h, w, rng)
            colour = _colour(rng)
            if rng.random() < 0.2:
                colour = _gradient(h, w, colour, _colour(rng), rng, "linear")
        if rng.random() < 0.2 and etype != "text":
            alpha = alpha * rng.uniform(0.5, 0.85)
        if rng.random() < 0.3 and etype != "text":
            off = rng.uniform(0.005, 0.02) * min(w, h)
            mat = np.float32([[1, 0, off], [0, 1, off]])
            shadow = cv2.warpAffine(alpha, mat, (w, h))
            shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(2.0, 8.0)) * rng.uniform(0.3, 0.6)
            tint = np.array([0.0, 0.0, 0.0], np.float32) if rng.random() < 0.7 else _colour(rng, False) * 0.4
            layers.append(_to_layer(tint, shadow, "Shadow"))
        counts[name] = counts.get(name, 0) + 1
        layers.append(_to_layer(colour, alpha, f"{name} {counts[name]}"))
    truth = Document(w, h, layers)
    image = composite(truth)
    image[..., 3] = 255
    return SyntheticDesign(image, truth, seed)


def synthetic_set(count: int, size: tuple[int, int] = (512, 384), first_seed: int = 1000,
                  fonts: list[str] | None = None) -> list[SyntheticDesign]:
    fonts = find_fonts() if fonts is None else fonts
    return [generate_design(first_seed + i, size, fonts=fonts) for i in range(count)]


def save_design(design: SyntheticDesign, folder: str | Path) -> Path:
    """Write ``image.png`` and the ground-truth layers as numbered canvas-sized PNGs."""
    from .datasets import layer_canvas
    folder = Path(folder)
    (folder / "layers").mkdir(parents=True, exist_ok=True)
    Image.fromarray(design.image, "RGBA").save(folder / "image.png")
    for i, layer in enumerate(design.truth.layers):
        canvas = layer_canvas(layer, design.truth.width, design.truth.height)
        Image.fromarray(canvas, "RGBA").save(folder / "layers" / f"{i:02d}.png")
    return folder

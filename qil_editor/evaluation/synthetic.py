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
    kinds: list[str] | None = None   # per layer: "background", "shape:<form>", "photo",
                                     # "text", "shadow" or "glow" (the hard set only)


def flatten(w: int, h: int, layers: list, seed: int, kinds: list[str] | None = None) -> SyntheticDesign:
    """The design as a user would open it: the truth composited, opaque."""
    truth = Document(w, h, layers)
    image = composite(truth)
    image[..., 3] = 255
    return SyntheticDesign(image, truth, seed, kinds)


def seeded_set(generate, count: int, size: tuple[int, int], first_seed: int,
               fonts: list[str] | None) -> list[SyntheticDesign]:
    """``count`` designs of one generator from consecutive seeds, the fonts looked up once."""
    fonts = find_fonts() if fonts is None else fonts
    return [generate(first_seed + i, size, fonts=fonts) for i in range(count)]


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


def _fill_round_rect(big: np.ndarray, x0: int, y0: int, x1: int, y1: int, r: int) -> None:
    """Fill a rounded rectangle with corner radius ``r`` into ``big`` (OpenCV has none)."""
    cv2.rectangle(big, (x0 + r, y0), (x1 - r, y1), 255, -1)
    cv2.rectangle(big, (x0, y0 + r), (x1, y1 - r), 255, -1)
    for px, py in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(big, (px, py), r, 255, -1)


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
        _fill_round_rect(big, x0, y0, x1, y1, int(min(x1 - x0, y1 - y0) * rng.uniform(0.1, 0.3)))
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
    return flatten(w, h, layers, seed)


def synthetic_set(count: int, size: tuple[int, int] = (512, 384), first_seed: int = 1000,
                  fonts: list[str] | None = None) -> list[SyntheticDesign]:
    return seeded_set(generate_design, count, size, first_seed, fonts)


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


# ---- the hard set: overlapping objects, each layer's full alpha known ------------------

def _supersampled(h: int, w: int, draw) -> np.ndarray:
    """Anti-aliased coverage (H, W) in [0, 1] of whatever ``draw(canvas, ss)`` paints."""
    ss = max(1, min(4, 8192 // max(h, w)))
    big = np.zeros((h * ss, w * ss), np.uint8)
    draw(big, ss)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def _form_mask(h: int, w: int, box, form: str, rng: np.random.Generator) -> np.ndarray:
    """A simple shape (rect, round, ellipse, poly with 3-6 sides) filling ``box`` (x0, y0, x1, y1)."""
    bx0, by0, bx1, by1 = box

    def draw(big, ss):
        x0, y0, x1, y1 = (int(round(v * ss)) for v in box)
        if form == "rect":
            cv2.rectangle(big, (x0, y0), (x1, y1), 255, -1)
        elif form == "round":
            _fill_round_rect(big, x0, y0, x1, y1, int(min(x1 - x0, y1 - y0) * rng.uniform(0.12, 0.3)))
        elif form == "ellipse":
            cv2.ellipse(big, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2),
                        0, 0, 360, 255, -1)
        else:
            n = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n)) if n > 3 else \
                np.array([0.0, 2.1, 4.2]) + rng.uniform(0, 2 * np.pi)
            ang += np.linspace(0, 0.3, n)  # keep vertices apart
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
            pts = np.stack([cx + np.cos(ang) * rx, cy + np.sin(ang) * ry], 1)
            cv2.fillPoly(big, [np.round(pts).astype(np.int32)], 255)
    return _supersampled(h, w, draw)


def _texture_fill(h: int, w: int, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A shape fill with a visible texture: stripes or a fractal grain around ``base``."""
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ang = rng.uniform(0, np.pi)
        period = rng.uniform(6, 14)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period)
    else:
        t = _fractal(h, w, rng)
    other = _colour(rng)
    mix = rng.uniform(0.25, 0.5)
    return np.clip(base + (other - base) * (mix * t)[..., None], 0, 1).astype(np.float32)


def _text_in_box(h: int, w: int, box, rng: np.random.Generator, fonts: list[str]) -> np.ndarray | None:
    """A word fitted inside ``box`` (text on a shape), or None if no legible size fits."""
    x0, y0, x1, y1 = box
    word = str(rng.choice(WORDS))
    path = str(rng.choice(fonts)) if fonts else None
    size = int(min(0.5 * (y1 - y0), 0.2 * min(h, w) + 10))
    while size >= 12:
        font = load_font(path, size)
        img = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(img)
        tb = draw.textbbox((0, 0), word, font=font)
        tw, th = tb[2] - tb[0], tb[3] - tb[1]
        if tw <= 0.85 * (x1 - x0) and th <= 0.7 * (y1 - y0):
            x = int((x0 + x1 - tw) / 2) - tb[0]
            y = int((y0 + y1 - th) / 2) - tb[1]
            draw.text((x, y), word, fill=255, font=font)
            return np.asarray(img, np.float32) / 255.0
        size = int(size * 0.85)
    return None


def _place_box(h: int, w: int, rng: np.random.Generator, boxes: list, form: str):
    """A box for the next object: the first anywhere, later ones straddling an earlier one's edge."""
    bw, bh = rng.uniform(0.22, 0.42) * w, rng.uniform(0.25, 0.5) * h
    if form == "ellipse" and rng.random() < 0.5:
        bw = bh = min(bw, bh)
    if not boxes:
        cx, cy = rng.uniform(bw / 2, w - bw / 2), rng.uniform(bh / 2, h - bh / 2)
    else:
        ox0, oy0, ox1, oy1 = boxes[int(rng.integers(len(boxes)))]
        side = int(rng.integers(4))
        t = rng.uniform(0.2, 0.8)
        ex = [ox0 + t * (ox1 - ox0), ox1, ox0 + t * (ox1 - ox0), ox0][side]
        ey = [oy0, oy0 + t * (oy1 - oy0), oy1, oy0 + t * (oy1 - oy0)][side]
        # the new object's centre sits a little outside that edge, so both stay partly visible
        push = rng.uniform(0.1, 0.35)
        dx, dy = [(0, -1), (1, 0), (0, 1), (-1, 0)][side]
        cx, cy = ex + dx * push * bw, ey + dy * push * bh
        cx = float(np.clip(cx, bw / 2 + 2, w - bw / 2 - 2))
        cy = float(np.clip(cy, bh / 2 + 2, h - bh / 2 - 2))
    return (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)



class KindedLayers:
    """The layers of a design being generated, each tagged with its kind for the per-failure
    scores; repeated names are numbered ("Shape 1", "Shape 2") as a designer's tool would."""

    def __init__(self, layers: list | None = None, kinds: list[str] | None = None):
        self.layers = layers or []
        self.kinds = kinds or []
        self._counts: dict[str, int] = {}

    def add(self, colour, alpha, name: str, kind: str) -> None:
        if float(alpha.max()) < 1.0 / 255.0:
            return   # nothing of it shows, not even faintly: no layer
        self._counts[name] = self._counts.get(name, 0) + 1
        self.layers.append(_to_layer(colour, alpha, f"{name} {self._counts[name]}"))
        self.kinds.append(kind)


def generate_hard_design(seed: int, size: tuple[int, int] = (512, 384), *,
                         fonts: list[str] | None = None) -> SyntheticDesign:
    """A harder design: 2-4 overlapping objects (shapes, photos, text on shapes), drop shadows
    and soft glows under their casters (often partly under other objects too), gradient and
    textured fills. Every layer keeps its full alpha, covered parts included, and ``kinds``
    says what each layer is, so completion, residue and order can be scored per failure."""
    rng = np.random.default_rng(seed)
    w, h = size
    fonts = find_fonts() if fonts is None else fonts
    bg_kind = rng.choice(["flat", "linear", "radial"], p=[0.3, 0.4, 0.3])
    c0 = _colour(rng, True)
    bg = np.broadcast_to(c0, (h, w, 3)) if bg_kind == "flat" else \
        _gradient(h, w, c0, _colour(rng, True), rng, bg_kind)
    stack = KindedLayers([_to_layer(bg, np.ones((h, w), np.float32), "Background")], ["background"])
    layers, add = stack.layers, stack.add
    boxes: list = []

    mains: list[tuple[float, np.ndarray]] = []   # (full alpha sum, what still shows) per object
    n = int(rng.integers(2, 5))
    for _ in range(n):
        etype = rng.choice(["shape", "photo", "text_on_shape"], p=[0.5, 0.25, 0.25])
        form = str(rng.choice(["rect", "round", "ellipse", "poly"]))
        if etype == "photo":
            form = "rect" if rng.random() < 0.75 else "ellipse"
        # every object stays at least half visible: a layer nobody can see cannot be scored
        for _attempt in range(8):
            box = _place_box(h, w, rng, boxes, form)
            alpha = _form_mask(h, w, box, form, rng)
            if all(float((vis * (1.0 - alpha)).sum()) >= 0.5 * total for total, vis in mains):
                break
        else:
            continue
        boxes.append(box)
        if etype == "photo":
            colour, _ = _photo(h, w, rng)
            if rng.random() < 0.3:
                alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), 1.2), 0, 1)
        else:
            base = _colour(rng)
            r = rng.random()
            if r < 0.25:
                colour = _gradient(h, w, base, _colour(rng), rng, "linear")
            elif r < 0.4:
                colour = _texture_fill(h, w, base, rng)
            else:
                colour = np.broadcast_to(base, (h, w, 3))
        effect = rng.random()
        if effect < 0.35:  # a drop shadow: the object's shape, offset and blurred
            off = rng.uniform(0.01, 0.03) * min(w, h)
            ang = rng.uniform(0.2, 1.4)
            mat = np.float32([[1, 0, off * np.cos(ang)], [0, 1, off * np.sin(ang)]])
            sh = cv2.GaussianBlur(cv2.warpAffine(alpha, mat, (w, h)), (0, 0), rng.uniform(2.0, 6.0))
            add(np.zeros(3, np.float32), np.clip(sh * rng.uniform(0.35, 0.6), 0, 1), "Shadow", "shadow")
        elif effect < 0.5 and etype != "photo":  # a soft glow around it
            grow = cv2.dilate(alpha, np.ones((9, 9), np.uint8))
            glow = cv2.GaussianBlur(grow, (0, 0), rng.uniform(4.0, 8.0)) * rng.uniform(0.5, 0.8)
            add(_colour(rng, True), np.clip(glow, 0, 1), "Glow", "glow")
        add(colour, alpha, "Photo" if etype == "photo" else "Shape",
            "photo" if etype == "photo" else f"shape:{form}")
        mains[:] = [(total, vis * (1.0 - alpha)) for total, vis in mains]
        mains.append((float(alpha.sum()), alpha.copy()))
        if etype == "text_on_shape":
            text = _text_in_box(h, w, box, rng, fonts)
            if text is not None:
                tc = np.asarray(_colour(rng, False), np.float32)
                if float(np.abs(tc - np.asarray(colour).reshape(-1, 3).mean(0)).max()) < 0.3:
                    tc = 1.0 - tc
                add(tc, text, "Text", "text")
                mains[:] = [(total, vis * (1.0 - text)) for total, vis in mains]
                mains.append((float(text.sum()), text.copy()))
        if len(layers) >= 9:
            break
    return flatten(w, h, layers, seed, stack.kinds)


def hard_set(count: int, size: tuple[int, int] = (512, 384), first_seed: int = 5000,
             fonts: list[str] | None = None) -> list[SyntheticDesign]:
    return seeded_set(generate_hard_design, count, size, first_seed, fonts)

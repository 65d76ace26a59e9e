"""A text-heavy generated set: designs laid out the way real graphic designs are.

Real designs (Crello, the LayerD protocol) carry several text boxes, and each box
is ONE layer: a title line, a subtitle, a short paragraph of body text, a button
label on a rounded rectangle, text over a photo. The other generated sets only
have single words, so a decomposer that splits a line into words, or a paragraph
into lines, or cuts a word where a shape crosses it, is not caught there.

Each design: a background (flat, gradient, sometimes a photo filling the canvas),
0-3 shapes or photos, 1-3 text boxes (multi-word lines, 2-4-line paragraphs in
different sizes, colours and weights; some on a button shape, some over a photo);
3-8 layers in all. Every ground-truth layer is a whole object (a text box is one
layer) with its full alpha, covered parts included, and ``kinds`` names each the
way :func:`synthetic.generate_hard_design` does, so the per-failure figures apply.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .synthetic import (SyntheticDesign, _colour, _form_mask, _gradient, _photo, _to_layer, find_fonts, flatten,
                        load_font, seeded_set)

VOCABULARY = ("summer", "sale", "open", "day", "festival", "coffee", "and", "live", "music",
              "garden", "travel", "studio", "design", "workshop", "book", "now", "new", "season",
              "fresh", "local", "market", "every", "weekend", "join", "us", "for", "the", "best",
              "city", "night", "free", "entry", "tickets", "online", "art", "food", "kids",
              "family", "week", "special", "offer", "today", "only", "handmade", "gifts", "visit",
              "our", "shop", "learn", "more", "about", "yoga", "class", "morning", "wine", "tasting")
BUTTONS = ("Book now", "Learn more", "Shop now", "Sign up", "Join us", "Get tickets", "Order today")


def _phrase(rng: np.random.Generator, lo: int, hi: int, title: bool) -> str:
    words = [str(w) for w in rng.choice(VOCABULARY, int(rng.integers(lo, hi + 1)))]
    if title and rng.random() < 0.5:
        return " ".join(w.capitalize() for w in words)
    if title and rng.random() < 0.4:
        return " ".join(words).upper()
    return " ".join(words).capitalize()


def _pick_font(rng: np.random.Generator, fonts: list[str], bold: bool) -> str | None:
    if not fonts:
        return None
    pool = [f for f in fonts if ("Bold" in f) == bold] or fonts
    return str(rng.choice(pool))


def _render_box(w: int, h: int, lines: list[str], font_path: str | None, size: int,
                spacing: float, align: str):
    """Draw ``lines`` (one text box) on a canvas-sized mask at the origin.
    Returns (mask drawer, box width, box height) or None when it cannot fit."""
    font = load_font(font_path, size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), ln, font=font) for ln in lines]
    widths = [b[2] - b[0] for b in boxes]
    ascent = min(b[1] for b in boxes)
    step = int(round(size * spacing))
    bw = max(widths)
    bh = step * (len(lines) - 1) + max(b[3] for b in boxes) - ascent
    if bw >= w - 8 or bh >= h - 8:
        return None

    def draw(x: int, y: int) -> np.ndarray:
        img = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(img)
        for i, (ln, b, lw) in enumerate(zip(lines, boxes, widths)):
            dx = {"left": 0, "center": (bw - lw) // 2, "right": bw - lw}[align]
            d.text((x + dx - b[0], y + i * step - ascent), ln, fill=255, font=font)
        return np.asarray(img, np.float32) / 255.0

    return draw, bw, bh


def _text_box(w: int, h: int, rng: np.random.Generator, fonts: list[str], role: str):
    """Lines, font, size and alignment of one text box; (draw, bw, bh) of the fitted box."""
    short = min(w, h)
    for _ in range(6):
        if role == "title":
            lines = [_phrase(rng, 2, 3, True)]
            if rng.random() < 0.3:
                lines.append(_phrase(rng, 1, 3, True))
            size = int(rng.uniform(0.08, 0.15) * short + 6)
            bold = rng.random() < 0.6
        elif role == "subtitle":
            lines = [_phrase(rng, 3, 5, False)]
            size = int(rng.uniform(0.05, 0.08) * short + 4)
            bold = rng.random() < 0.3
        else:  # a paragraph of body text
            lines = [_phrase(rng, 3, 6, False) for _ in range(int(rng.integers(2, 5)))]
            size = int(rng.uniform(0.035, 0.055) * short + 4)
            bold = rng.random() < 0.15
        size = max(12, size)
        align = str(rng.choice(["left", "center"], p=[0.6, 0.4]))
        fitted = _render_box(w, h, lines, _pick_font(rng, fonts, bold), size,
                             float(rng.uniform(1.15, 1.45)), align)
        if fitted is not None:
            return fitted
    return None


def _free_spot(w: int, h: int, bw: int, bh: int, taken: list, rng: np.random.Generator,
               inside=None):
    """Top-left corner of a bw x bh box that overlaps no box in ``taken`` (margin 6 px),
    inside ``inside`` (x0, y0, x1, y1) when given; None when none is found."""
    x0, y0, x1, y1 = inside if inside is not None else (6, 6, w - 6, h - 6)
    if x1 - x0 < bw or y1 - y0 < bh:
        return None
    for _ in range(40):
        x = int(rng.uniform(x0, x1 - bw + 1))
        y = int(rng.uniform(y0, y1 - bh + 1))
        if all(x + bw + 6 <= tx0 or tx1 + 6 <= x or y + bh + 6 <= ty0 or ty1 + 6 <= y
               for tx0, ty0, tx1, ty1 in taken):
            return x, y
    return None


def _contrast(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """A text colour that reads on ``under`` (its mean colour): dark on light, light on dark."""
    lum = float(np.asarray(under, np.float32).reshape(-1, 3).mean(0) @ [0.3, 0.59, 0.11])
    col = np.asarray(_colour(rng, light=lum <= 0.5), np.float32)
    for _ in range(8):  # a designer keeps text legible
        if abs(float(col @ [0.3, 0.59, 0.11]) - lum) >= 0.3:
            break
        col = np.asarray(_colour(rng, light=lum <= 0.5), np.float32)
    return col


def generate_text_design(seed: int, size: tuple[int, int] = (512, 384), *,
                         fonts: list[str] | None = None) -> SyntheticDesign:
    """One text-heavy design; the same seed always gives the same design."""
    rng = np.random.default_rng(seed)
    w, h = size
    fonts = find_fonts() if fonts is None else fonts
    layers, kinds = [], []
    r = rng.random()
    if r < 0.2:  # a photograph filling the canvas
        bg, _ = _photo(h, w, rng)
    elif r < 0.5:
        bg = np.broadcast_to(_colour(rng), (h, w, 3))
    else:
        bg = _gradient(h, w, _colour(rng), _colour(rng), rng, str(rng.choice(["linear", "radial"])))
    layers.append(_to_layer(bg, np.ones((h, w), np.float32), "Background"))
    kinds.append("background")
    counts: dict[str, int] = {}

    def add(colour, alpha, name, kind):
        counts[name] = counts.get(name, 0) + 1
        layers.append(_to_layer(colour, alpha, f"{name} {counts[name]}"))
        kinds.append(kind)

    taken: list = []     # boxes of text already placed (text boxes never overlap)
    spots: list = []     # (box, mean colour) of photos and panels text may lie over
    # decoration first: photos and shapes, below the text
    for _ in range(int(rng.integers(0, 3))):
        bw, bh = rng.uniform(0.25, 0.55) * w, rng.uniform(0.25, 0.6) * h
        x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        box = (x0, y0, x0 + bw, y0 + bh)
        if rng.random() < 0.45:
            colour, _ = _photo(h, w, rng)
            form = "rect" if rng.random() < 0.8 else "ellipse"
            add(colour, _form_mask(h, w, box, form, rng), "Photo", "photo")
        else:
            form = str(rng.choice(["rect", "round", "ellipse", "poly"], p=[0.3, 0.35, 0.2, 0.15]))
            base = _colour(rng)
            colour = _gradient(h, w, base, _colour(rng), rng, "linear") if rng.random() < 0.25 \
                else np.broadcast_to(base, (h, w, 3))
            add(colour, _form_mask(h, w, box, form, rng), "Shape", f"shape:{form}")
        if form in ("rect", "round"):
            ix0, iy0, ix1, iy1 = (int(v) for v in box)
            spots.append(((ix0 + 8, iy0 + 8, ix1 - 8, iy1 - 8), colour[iy0:iy1, ix0:ix1]))
    roles = ["title", "subtitle", "body"]
    n_text = int(rng.integers(1, 4))
    chosen = [roles[0]] + [str(x) for x in rng.choice(roles, n_text - 1)] if n_text > 1 else [roles[0]]
    for role in chosen:
        if len(layers) >= 8:
            break
        fitted = _text_box(w, h, rng, fonts, role)
        if fitted is None:
            continue
        draw, bw, bh = fitted
        where = None
        under = bg
        if spots and rng.random() < 0.5:  # over a photo or a panel
            box, under_col = spots[int(rng.integers(len(spots)))]
            where = _free_spot(w, h, bw, bh, taken, rng, inside=box)
            under = under_col if where is not None else bg
        if where is None:
            where = _free_spot(w, h, bw, bh, taken, rng)
            under = bg
        if where is None:
            continue
        x, y = where
        taken.append((x, y, x + bw, y + bh))
        colour = _contrast(rng, np.asarray(under)[y:y + bh, x:x + bw] if under is bg else under)
        add(colour, draw(x, y), "Text", "text")
    # a button: a rounded (or plain) rectangle with its label, both on top
    if len(layers) <= 6 and rng.random() < 0.5:
        label_size = max(12, int(rng.uniform(0.04, 0.06) * min(w, h) + 4))
        fitted = _render_box(w, h, [str(rng.choice(BUTTONS))], _pick_font(rng, fonts, rng.random() < 0.6),
                             label_size, 1.2, "left")
        if fitted is not None:
            draw, bw, bh = fitted
            pad_x, pad_y = int(0.8 * label_size), int(0.5 * label_size)
            where = _free_spot(w, h, bw + 2 * pad_x, bh + 2 * pad_y, taken, rng)
            if where is not None:
                x, y = where
                bx = (x, y, x + bw + 2 * pad_x, y + bh + 2 * pad_y)
                taken.append(bx)
                form = "round" if rng.random() < 0.75 else "rect"
                fill = _colour(rng)
                add(np.broadcast_to(fill, (h, w, 3)), _form_mask(h, w, bx, form, rng), "Shape", f"shape:{form}")
                add(_contrast(rng, fill), draw(x + pad_x, y + pad_y), "Text", "text")
    if len(layers) < 3:  # at least one object besides the text: a plain panel under nothing
        fitted = _text_box(w, h, rng, fonts, "subtitle")
        where = _free_spot(w, h, fitted[1], fitted[2], taken, rng) if fitted is not None else None
        if where is not None:
            add(_contrast(rng, bg[where[1], where[0]]), fitted[0](*where), "Text", "text")
    return flatten(w, h, layers, seed, kinds)


def text_set(count: int, size: tuple[int, int] = (512, 384), first_seed: int = 7000,
             fonts: list[str] | None = None) -> list[SyntheticDesign]:
    return seeded_set(generate_text_design, count, size, first_seed, fonts)

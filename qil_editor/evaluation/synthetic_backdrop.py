"""Designs on a photo-like backdrop, with exact ground truth.

Real graphic designs (Crello and the like) very often lie on a full-canvas photo or
texture, or on a big photo panel, with shapes, words and a small framed photo on top;
the other generated sets mostly have flat or gradient backgrounds. Everything here is
synthetic (nothing downloaded): the backdrops are smooth noise landscapes, blurred
colour blobs, stripes/dots/checks and strong vignettes, or a flat colour with a photo
panel covering 40-70 % of the canvas. On top: 2-5 objects (flat or rounded shapes, some
semi-transparent; single- and multi-word text, on the backdrop or on a shape; a small
photo in a frame), some with drop shadows. Every layer keeps its full alpha and
``kinds`` names each layer as in ``synthetic.generate_hard_design``.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ..document import Document, composite
from .synthetic import (WORDS, KindedLayers, SyntheticDesign, _colour, _form_mask, _fractal, _gradient,
                        _photo, _text_in_box, find_fonts, flatten, load_font, seeded_set)

PHRASES = WORDS + ("Summer sale", "Join us today", "New collection", "Big news", "Save the date",
                   "Fresh & local", "Shop now")
BACKDROPS = ("landscape", "blobs", "pattern", "vignette", "noise", "panel")


def _ramp(t: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """Colour ramp through ``colours`` for t in [0, 1]."""
    n = len(colours) - 1
    s = np.clip(t, 0, 1)[..., None] * n
    i = np.minimum(s.astype(np.int32), n - 1)
    f = s - i
    c = np.stack(colours).astype(np.float32)
    return c[i[..., 0]] * (1 - f) + c[i[..., 0] + 1] * f


def _smooth_noise(h: int, w: int, rng: np.random.Generator, octaves: int = 3) -> np.ndarray:
    """Low-frequency noise in [0, 1] (rolling hills, clouds): few, coarse octaves."""
    acc = np.zeros((h, w), np.float32)
    amp = 1.0
    for o in range(octaves):
        cells = 2 ** (o + 1) + 1
        acc += amp * cv2.resize(rng.random((cells, cells)).astype(np.float32), (w, h),
                                interpolation=cv2.INTER_CUBIC)
        amp *= 0.5
    return (acc - acc.min()) / max(1e-6, float(acc.max() - acc.min()))


def _grain(h: int, w: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return rng.normal(0, sigma, (h, w, 3)).astype(np.float32)


def _backdrop(h: int, w: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """A full-canvas photo-like background (h, w, 3) in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "landscape":
        sky = _gradient(h, w, _colour(rng, True), _colour(rng, True), rng, "linear")
        sky = sky + 0.08 * (_smooth_noise(h, w, rng, 4)[..., None] - 0.5)
        horizon = h * rng.uniform(0.35, 0.7) + 0.15 * h * (_smooth_noise(1, w, rng, 3)[0] - 0.5)
        ground = _ramp(_fractal(h, w, rng), [_colour(rng, False), _colour(rng), _colour(rng, True)])
        t = np.clip((yy - horizon[None, :]) / 2.0 + 0.5, 0, 1)[..., None]
        out = sky * (1 - t) + ground * t + _grain(h, w, rng, 0.015)
    elif kind == "blobs":
        out = np.broadcast_to(_colour(rng), (h, w, 3)).astype(np.float32).copy()
        for _ in range(int(rng.integers(3, 7))):
            m = np.zeros((h, w), np.float32)
            cv2.ellipse(m, (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
                        (int(rng.uniform(0.1, 0.35) * w), int(rng.uniform(0.1, 0.35) * h)),
                        float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
            m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.05, 0.12) * max(h, w))[..., None]
            out = out * (1 - m) + _colour(rng) * m
        out += _grain(h, w, rng, 0.01)
    elif kind == "pattern":
        c0, c1 = _colour(rng, True), _colour(rng)
        c1 = c0 + (c1 - c0) * rng.uniform(0.3, 0.7)  # a backdrop pattern, not a graphic
        period = rng.uniform(10, 28)
        form = rng.choice(["stripes", "dots", "checks"])
        if form == "stripes":
            ang = rng.uniform(0, np.pi)
            t = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period)
        elif form == "dots":
            d = np.hypot((xx % period) - period / 2, (yy % period) - period / 2)
            t = np.clip(period * 0.25 - d + 0.5, 0, 1)
        else:
            t = (((xx // period) + (yy // period)) % 2).astype(np.float32)
            t = cv2.GaussianBlur(t, (0, 0), 0.7)
        out = c0 + (c1 - c0) * t[..., None]
        if rng.random() < 0.5:  # light falling across it
            out = out * (0.75 + 0.25 * _gradient(h, w, np.ones(3), np.zeros(3), rng, "linear"))
        out += _grain(h, w, rng, 0.008)
    elif kind == "vignette":
        base = _gradient(h, w, _colour(rng, True), _colour(rng), rng, "linear")
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        r = np.hypot((xx - cx) / w, (yy - cy) / h) / 0.7
        dark = rng.uniform(0.5, 0.85) * np.clip(r, 0, 1) ** rng.uniform(1.5, 2.5)
        out = base * (1 - dark[..., None]) + _grain(h, w, rng, 0.006)
    else:  # "noise": a full-canvas photo texture
        out, _ = _photo(h, w, rng)
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.0, 1.5)) if rng.random() < 0.5 else out
    return np.clip(out, 0, 1).astype(np.float32)


def _text_free(h: int, w: int, rng: np.random.Generator, fonts: list[str],
               taken: list) -> np.ndarray | None:
    """A word or a phrase anywhere on the canvas (away from the other objects if it can)."""
    phrase = str(rng.choice(PHRASES))
    size = int(rng.uniform(0.07, 0.16) * min(h, w) + 8)
    font = load_font(str(rng.choice(fonts)) if fonts else None, size)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    tb = draw.textbbox((0, 0), phrase, font=font)
    tw, th = tb[2] - tb[0], tb[3] - tb[1]
    if tw >= w - 4:
        return None
    for _ in range(10):
        x, y = int(rng.uniform(2, w - tw - 2)), int(rng.uniform(2, max(3, h - th - 2)))
        if not any(x < b[2] and x + tw > b[0] and y < b[3] and y + th > b[1] for b in taken):
            break
    draw.text((x - tb[0], y - tb[1]), phrase, fill=255, font=font)
    taken.append((x, y, x + tw, y + th))
    return np.asarray(img, np.float32) / 255.0


def _contrasting(under: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A text colour that reads on what lies under it: light on dark, dark on light."""
    m = alpha > 0.5
    lum = float((under[m] @ np.array([0.3, 0.59, 0.11], np.float32)).mean()) if m.any() else 0.5
    if rng.random() < 0.4:
        return np.full(3, 1.0 if lum < 0.5 else 0.08, np.float32)
    return _colour(rng, light=lum < 0.5)


def generate_backdrop_design(seed: int, size: tuple[int, int] = (512, 384), *,
                             fonts: list[str] | None = None) -> SyntheticDesign:
    """One design on a photo-like backdrop (see the module); same seed, same design."""
    rng = np.random.default_rng(seed)
    w, h = size
    fonts = find_fonts() if fonts is None else fonts
    backdrop = str(rng.choice(BACKDROPS, p=[0.2, 0.15, 0.15, 0.15, 0.2, 0.15]))
    stack = KindedLayers()
    layers, add = stack.layers, stack.add

    def shown() -> np.ndarray:  # the composite so far, for contrast decisions
        return composite(Document(w, h, layers))[..., :3].astype(np.float32) / 255.0

    if backdrop == "panel":
        add(np.broadcast_to(_colour(rng), (h, w, 3)), np.ones((h, w), np.float32), "Background",
            "background")
        share = rng.uniform(0.4, 0.7)
        if rng.random() < 0.5:  # full height, one side
            pw, ph = int(share * w), h
            x0 = 0 if rng.random() < 0.5 else w - pw
            y0 = 0
        else:  # full width, top or bottom
            pw, ph = w, int(share * h)
            x0, y0 = 0, (0 if rng.random() < 0.5 else h - ph)
        panel = np.zeros((h, w), np.float32)
        panel[y0:y0 + ph, x0:x0 + pw] = 1.0
        add(_backdrop(h, w, rng, str(rng.choice(["landscape", "noise", "blobs"]))), panel,
            "Photo", "photo")
    else:
        add(_backdrop(h, w, rng, backdrop), np.ones((h, w), np.float32), "Background", "background")

    mains: list[tuple[float, np.ndarray]] = []   # (full alpha sum, what still shows) per object
    taken: list = []

    def cover(alpha):
        mains[:] = [(total, vis * (1.0 - alpha)) for total, vis in mains]
        mains.append((float(alpha.sum()), alpha.copy()))

    def fits(alpha) -> bool:  # every object stays at least half visible
        return all(float((vis * (1.0 - alpha)).sum()) >= 0.5 * total for total, vis in mains)

    def shadow(alpha):
        off = rng.uniform(0.01, 0.03) * min(w, h)
        ang = rng.uniform(0.2, 1.4)
        mat = np.float32([[1, 0, off * np.cos(ang)], [0, 1, off * np.sin(ang)]])
        sh = cv2.GaussianBlur(cv2.warpAffine(alpha, mat, (w, h)), (0, 0), rng.uniform(2.0, 6.0))
        add(np.zeros(3, np.float32), np.clip(sh * rng.uniform(0.35, 0.6), 0, 1), "Shadow", "shadow")

    n = int(rng.integers(2, 6))
    for _ in range(n):
        etype = str(rng.choice(["shape", "text", "framed_photo", "text_on_shape"],
                               p=[0.35, 0.3, 0.15, 0.2]))
        if etype == "text":
            alpha = _text_free(h, w, rng, fonts, taken)
            if alpha is None or not fits(alpha):
                continue
            add(_contrasting(shown(), alpha, rng), alpha, "Text", "text")
            cover(alpha)
        elif etype == "framed_photo":
            pw, ph = rng.uniform(0.18, 0.32) * w, rng.uniform(0.2, 0.38) * h
            x0, y0 = rng.uniform(4, w - pw - 4), rng.uniform(4, h - ph - 4)
            fr = rng.uniform(3, 8)
            frame = _form_mask(h, w, (x0 - fr, y0 - fr, x0 + pw + fr, y0 + ph + fr), "rect", rng)
            if not fits(frame):
                continue
            if rng.random() < 0.5:
                shadow(frame)
            add(np.full(3, 1.0, np.float32) if rng.random() < 0.6 else _colour(rng), frame,
                "Shape", "shape:rect")
            cover(frame)
            picture = _form_mask(h, w, (x0, y0, x0 + pw, y0 + ph), "rect", rng)
            colour, _ = _photo(h, w, rng)
            add(colour, picture, "Photo", "photo")
            cover(picture)
            taken.append((x0 - fr, y0 - fr, x0 + pw + fr, y0 + ph + fr))
        else:
            form = str(rng.choice(["rect", "round", "ellipse", "poly"], p=[0.25, 0.35, 0.25, 0.15]))
            bw, bh = rng.uniform(0.18, 0.45) * w, rng.uniform(0.15, 0.4) * h
            if etype == "text_on_shape":
                form = "round" if form == "poly" else form
                bh = min(bh, rng.uniform(0.15, 0.25) * h)
            if form == "ellipse" and rng.random() < 0.5:
                bw = bh = min(bw, bh)
            cx, cy = rng.uniform(bw / 2 + 2, w - bw / 2 - 2), rng.uniform(bh / 2 + 2, h - bh / 2 - 2)
            box = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
            alpha = _form_mask(h, w, box, form, rng)
            if not fits(alpha):
                continue
            colour = _colour(rng)
            if rng.random() < 0.2:
                colour = _gradient(h, w, colour, _colour(rng), rng, "linear")
            else:
                colour = np.broadcast_to(colour, (h, w, 3))
            if etype == "shape" and rng.random() < 0.35:  # a translucent panel
                alpha = alpha * rng.uniform(0.45, 0.85)
            elif rng.random() < 0.35:
                shadow(alpha)
            add(colour, alpha, "Shape", f"shape:{form}")
            cover(alpha)
            taken.append(box)
            if etype == "text_on_shape":
                text = _text_in_box(h, w, box, rng, fonts)
                if text is not None:
                    add(_contrasting(shown(), text, rng), text, "Text", "text")
                    cover(text)
        if len(layers) >= 9:
            break
    return flatten(w, h, layers, seed, stack.kinds)


def backdrop_set(count: int, size: tuple[int, int] = (512, 384), first_seed: int = 8000,
                 fonts: list[str] | None = None) -> list[SyntheticDesign]:
    return seeded_set(generate_backdrop_design, count, size, first_seed, fonts)

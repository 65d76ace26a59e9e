"""Composite a 4096x4096 document of 10 full-size layers.

Reported as a ratio against a chain of ``PIL.Image.alpha_composite`` calls on
the same layers in the same process (the baseline a designer's tool would
get from Pillow alone). Ratio < 1 means our compositor is faster.

    python bench/bench_composite.py [--size 4096] [--layers 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from qil_editor.document import Document, Layer, composite


def make_layers(size: int, count: int, seed: int = 0) -> list[Layer]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    layers = []
    for i in range(count):
        px = np.empty((size, size, 4), np.uint8)
        px[..., 0] = (xx * (i + 1)) % 256
        px[..., 1] = (yy * (i + 2)) % 256
        px[..., 2] = rng.integers(0, 256, dtype=np.uint8)
        cx, cy, r = rng.integers(0, size, 2).tolist() + [size // 3]
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        px[..., 3] = np.clip((r - dist) * 2 + 128, 0, 255).astype(np.uint8) if i else 255
        layers.append(Layer(px, name=f"L{i}"))
    return layers


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    layers = make_layers(args.size, args.layers)
    doc = Document(args.size, args.size, layers)
    pil_layers = [Image.fromarray(ly.pixels, "RGBA") for ly in layers]

    def pil_chain():
        out = pil_layers[0]
        for im in pil_layers[1:]:
            out = Image.alpha_composite(out, im)
        return out

    t_pil = best_of(pil_chain, args.repeat)
    t_ours = best_of(lambda: composite(doc), args.repeat)
    region = (args.size // 4, args.size // 4, args.size // 4 + 512, args.size // 4 + 512)
    t_region = best_of(lambda: composite(doc, region), args.repeat)
    ref = np.asarray(pil_chain()).astype(int)
    err = np.abs(composite(doc).astype(int) - ref).max()
    print(f"document: {args.size}x{args.size}, {args.layers} layers (normal mode)")
    print(f"PIL alpha_composite chain : {t_pil:8.3f} s")
    print(f"qil composite (full)      : {t_ours:8.3f} s   ratio {t_ours / t_pil:5.2f}x of PIL")
    print(f"qil composite (512x512)   : {t_region:8.3f} s")
    print(f"max difference vs PIL     : {err} levels")


if __name__ == "__main__":
    main()

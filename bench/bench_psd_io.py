"""Save and load a 4096x4096 PSD of 10 full-size layers; report seconds and MB/s.

Content is what a decomposition produces: smooth gradients, mild noise,
shapes with soft edges and transparent surroundings (so RLE has something to
do, but not everything). MB/s counts the raw RGBA layer bytes (10 x 64 MiB).
The RLE codec is also compared, on the same rows in the same process, with
psd-tools' pure-Python PackBits encoder (the baseline one would get without
its compiled codec).

    python bench/bench_psd_io.py [--size 4096] [--layers 10] [--keep]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from qil_editor.document import Document, Layer, composite
from qil_editor.io import read_psd, save_psd


def make_layers(size: int, count: int, seed: int = 0) -> list[Layer]:
    rng = np.random.default_rng(seed)
    y = np.arange(size, dtype=np.float32)[:, None]
    x = np.arange(size, dtype=np.float32)[None, :]
    layers = []
    for i in range(count):
        px = np.empty((size, size, 4), np.uint8)
        noise = rng.integers(0, 6, (size, size), dtype=np.uint8)
        px[..., 0] = ((x * (i + 1) / size * 255) % 256).astype(np.uint8) + noise
        px[..., 1] = ((y / size * 200 + 30 * i) % 256).astype(np.uint8)
        px[..., 2] = 40 * i % 256
        if i == 0:
            px[..., 3] = 255
        else:
            cx, cy = rng.integers(size // 5, size * 4 // 5, 2)
            r = size // 4
            dist = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
            alpha = np.clip((r - dist) * 3, 0, 255)
            box = (abs(x - size / 2) < size / 8 + 40 * i) & (abs(y - cy) < size / 10)
            alpha = np.where(box, 200, alpha)
            px[..., 3] = alpha.astype(np.uint8)
            px[px[..., 3] == 0, :3] = 0  # transparent areas are empty, as editors leave them
        layers.append(Layer(px, name=f"Layer {i}", opacity=1.0 if i % 3 else 0.8))
    return layers


def codec_ratio(plane: np.ndarray, rows: int = 64) -> tuple[float, float]:
    from psd_tools.compression import rle as pure
    from psd_tools.compression import rle_impl

    data = [plane[r].tobytes() for r in range(rows)]
    t0 = time.perf_counter()
    for row in data:
        rle_impl.encode(row)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    for row in data:
        pure.encode(row)
    slow = time.perf_counter() - t0
    return fast / rows, slow / rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the PSD written")
    args = ap.parse_args()

    t0 = time.perf_counter()
    doc = Document(args.size, args.size, make_layers(args.size, args.layers))
    print(f"made {args.layers} layers of {args.size}x{args.size} in {time.perf_counter() - t0:.1f} s")
    raw_mb = sum(layer.pixels.nbytes for layer in doc.layers) / 2**20

    t0 = time.perf_counter()
    composite(doc)
    t_comp = time.perf_counter() - t0

    folder = tempfile.mkdtemp(prefix="bench_psd_")
    path = os.path.join(folder, "bench.psd")
    t0 = time.perf_counter()
    save_psd(doc, path)
    t_save = time.perf_counter() - t0
    size_mb = os.path.getsize(path) / 2**20

    t0 = time.perf_counter()
    back = read_psd(path)
    t_load = time.perf_counter() - t0
    assert len(back.layers) == len(doc.layers)
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(doc.layers, back.layers))

    fast, slow = codec_ratio(doc.layers[1].pixels[..., 0])
    print(f"layers: {raw_mb:.0f} MiB raw RGBA; file {size_mb:.0f} MiB (RLE, {size_mb / raw_mb:.0%} of raw)")
    print(f"save_psd: {t_save:.2f} s = {raw_mb / t_save:.0f} MB/s (of which composite for the merged image {t_comp:.2f} s)")
    print(f"read_psd: {t_load:.2f} s = {raw_mb / t_load:.0f} MB/s")
    print(f"RLE codec per {args.size}-px row: compiled {fast * 1e6:.0f} us, pure Python {slow * 1e6:.0f} us "
          f"(ratio {fast / slow:.3f}; pure Python would add ~{slow * args.size * 4 * (args.layers + 1):.0f} s to a save)")
    if args.keep:
        print(f"kept {path}")
    else:
        os.remove(path)
        os.rmdir(folder)


if __name__ == "__main__":
    main()

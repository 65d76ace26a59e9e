"""Alpha recovery after an RGB-only edit: quality on synthetic layers, and speed.

Quality: the synthetic cases of tests/test_alpha_recovery.py (shapes with
anti-aliased or feathered edges, recoloured or re-shaped, composited over
the matte, blurred and noised like a VAE round trip). Each is scored with
qil_editor.engines.edit.quality against the truth, next to the baseline of
using the edited RGB as colour without un-matting (what leaves halos).

Speed: keep-shape and new-shape recovery of a 1024x1024 crop (the edit
model's working size), as a ratio to one 1024x1024 Gaussian blur in the
same process (so the figure travels between machines).

    python bench/alpha_recovery.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_alpha_recovery import (NEW_SHAPE_PAIRS, keep_shape_case, naive,  # noqa: E402
                                 new_shape_case)

from qil_editor.engines.edit import alpha as A  # noqa: E402
from qil_editor.engines.edit.quality import score  # noqa: E402


def quality() -> None:
    print("keep shape (original alpha reused; colours un-matted)")
    for kind in ["ellipse", "star", "text", "ring", "feather"]:
        original, truth, matte, edited = keep_shape_case(kind, seed=len(kind))
        ours = score(A.keep_shape(edited, original, matte), truth, matte)
        raw = score(naive(edited, original[..., 3]), truth, matte)
        print(f"  {kind:8s} ours: {ours.row()}")
        print(f"  {'':8s} raw : {raw.row()}")
    print("new shape (alpha estimated against the matte)")
    for old, new in NEW_SHAPE_PAIRS:
        original, truth, matte, edited, ring = new_shape_case(old, new, seed=len(old + new))
        out = A.new_shape(edited, matte, ring)
        ours = score(out, truth, matte)
        raw = score(naive(edited, out[..., 3]), truth, matte)
        print(f"  {old + '>' + new:16s} ours: {ours.row()}")
        print(f"  {'':16s} raw : {raw.row()}")


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def speed(repeat: int) -> None:
    size = 1024
    yy, xx = np.mgrid[0:size, 0:size]
    alpha = np.clip((300 - np.hypot(xx - 512, yy - 512)) * 64, 0, 255).astype(np.uint8)
    layer = np.dstack([(xx % 256).astype(np.uint8), (yy % 256).astype(np.uint8),
                       np.full((size, size), 90, np.uint8), alpha])
    matte = A.choose_matte(layer, A.NEW_SHAPE_MATTES)
    edited = A.over_matte(layer, matte)
    ring = np.zeros((size, size), bool)
    ring[:16], ring[-16:], ring[:, :16], ring[:, -16:] = True, True, True, True
    base = best_of(lambda: cv2.GaussianBlur(edited, (0, 0), 3.0), repeat)
    keep = best_of(lambda: A.keep_shape(edited, layer, matte), repeat)
    new = best_of(lambda: A.new_shape(edited, matte, ring), repeat)
    print(f"1024x1024: Gaussian blur {base * 1000:.1f} ms (baseline); keep shape {keep:.3f} s "
          f"({keep / base:.0f}x); new shape {new:.3f} s ({new / base:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    quality()
    speed(args.repeat)


if __name__ == "__main__":
    main()

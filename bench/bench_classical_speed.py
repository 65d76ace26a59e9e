"""Speed and peak memory of the classical decomposer against the k-means baseline.

Each measurement runs in a fresh Python process (so peak memory is that of
one decomposition): it loads a synthetic design saved as PNG, notes the
resident set size, decomposes, and reports wall time and the peak RSS. Both
methods run on the same pictures in the same invocation; the ratio column is
classical time / k-means time.

Targets (a 2-core laptop CPU): 1024x1024 in <= 3 s, 4096x4096 in <= 30 s,
peak memory <= 2 GB at 4096x4096.

    python bench/bench_classical_speed.py [--sizes 1024 4096] [--repeat 3] [--layers auto]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(path: str, method: str, layers: str) -> None:
    import resource
    import time

    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.engines.classical import ClassicalDecomposer
    from qil_editor.evaluation.baseline import KMeansDecomposer

    image = np.array(Image.open(path).convert("RGBA"))
    engine = ClassicalDecomposer() if method == "classical" else KMeansDecomposer()
    n = None if layers == "auto" else int(layers)
    if method == "kmeans" and n is None:
        n = 5
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    doc = engine.decompose(image, DecomposeOptions(layers=n))
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "start_mb": before,
                      "layers": len(doc.layers)}))


def make(path: str, size: str, seed: str) -> None:
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from qil_editor.evaluation.synthetic import generate_design
    design = generate_design(int(seed), (int(size), int(size)), elements=6)
    Image.fromarray(design.image).save(path)


def measure(path: str, method: str, layers: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", path, method, layers],
                         check=True, capture_output=True, text=True, cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--repeat", type=int, default=3, help="runs per size and method (best time kept)")
    ap.add_argument("--layers", default="auto", help="'auto' or a count for the classical engine")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--make", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.make:
        make(*args.make)
        return
    # The parent stays small: a forked child's peak RSS starts from the parent's.
    print(f"CPU cores: {os.cpu_count()}; each run in a fresh process; best of {args.repeat}")
    head = (f"{'size':>10} {'method':<11}{'time s':>9}{'ratio':>8}{'peak MB':>9}"
            f"{'start MB':>10}{'layers':>8}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = os.path.join(tmp, f"design{size}.png")
            subprocess.run([sys.executable, __file__, "--make", path, str(size), str(args.seed)],
                           check=True, cwd=str(ROOT))
            rows = {}
            for method in ("classical", "kmeans"):
                runs = [measure(path, method, args.layers) for _ in range(max(1, args.repeat))]
                best = min(runs, key=lambda r: r["seconds"])
                best["peak_mb"] = max(r["peak_mb"] for r in runs)
                rows[method] = best
            base = rows["kmeans"]["seconds"]
            for method, r in rows.items():
                print(f"{size:>5}x{size:<4} {method:<11}{r['seconds']:>9.2f}{r['seconds'] / base:>8.2f}"
                      f"{r['peak_mb']:>9.0f}{r['start_mb']:>10.0f}{r['layers']:>8}")


if __name__ == "__main__":
    main()

"""Decomposition quality: the classical engine against the k-means baseline.

Runs both over synthetic layered designs (exact ground truth), the harder
generated set (2-4 overlapping objects, shadows and glows under them,
photos, text on shapes, gradients and textures; each layer's full alpha),
the text-heavy set (titles, subtitles, 2-4-line paragraphs, button labels,
text over photos; each text box one layer) and the PSD test cases, in the
same process, and prints the LayerD metrics (RGB L1 where the ground truth
is visible, lower is better; alpha soft IoU, higher is better) with 0 and up
to N merges, plus reconstruction PSNR and time. Each method is given the
ground truth's layer count (2..10). On the hard and text sets it also prints
the per-failure figures (completion IoU of covered objects, background
residue p99, stacking-order accuracy, text kept whole).

    python bench/decompose_quality.py [--count 30] [--hard-count 24] [--size 512x384]
                                      [--text-count 24] [--merges 3] [--psd-cases PATH] [--auto]
                                      [--only old|hard|text|psd]
    python bench/decompose_quality.py --poster-picture docs/poster-classical-layers.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qil_editor.engines.classical import ClassicalDecomposer  # noqa: E402
from qil_editor.evaluation.baseline import KMeansDecomposer  # noqa: E402
from qil_editor.evaluation.benchmark import layer_count_for, run_case, summarise  # noqa: E402
from qil_editor.evaluation.datasets import stack_from_document, psd_cases  # noqa: E402
from qil_editor.evaluation.failures import summarise_failures  # noqa: E402
from qil_editor.evaluation.synthetic import find_fonts, hard_set, synthetic_set  # noqa: E402
from qil_editor.evaluation.synthetic_text import text_set  # noqa: E402
from qil_editor.evaluation.synthetic_backdrop import backdrop_set  # noqa: E402


def table(title: str, rows: list[tuple[str, dict]], merges: int) -> None:
    print(f"\n{title}")
    head = (f"{'method':<22}{'n':>4}{'L1 m=0':>9}{'IoU m=0':>9}{f'L1 m<={merges}':>10}"
            f"{f'IoU m<={merges}':>10}{'PSNR min':>10}{'PSNR avg':>10}{'layers':>8}{'time s':>8}")
    print(head)
    print("-" * len(head))
    for name, s in rows:
        print(f"{name:<22}{s['n']:>4}{s['l1_0']:>9.4f}{s['iou_0']:>9.4f}{s['l1_m']:>10.4f}"
              f"{s['iou_m']:>10.4f}{s['psnr_min']:>10.1f}{s['psnr_mean']:>10.1f}{s['layers']:>8.1f}"
              f"{s['seconds']:>8.3f}")


def failures(label: str, s: dict) -> None:
    comp = ", ".join(f"{k} {m:.3f} ({ok}/{n} >= 0.9)" for k, (m, ok, n) in sorted(s["completion"].items()))
    print(f"{label}: completion IoU of covered objects: {comp or 'none'}")
    print(f"{label}: background residue p99 median {s['residue_median']:.1f}, worst "
          f"{s['residue_max']:.1f} levels; <= 4 on {s['residue_ok']}/{s['residue_n']} cases")
    print(f"{label}: stacking order right on {s['order_acc']:.1%} of {s['order_pairs']} overlapping pairs "
          f"({s['order_merged']} pairs merged into one layer, not counted)")
    if s["text_whole"][2]:
        m, ok, n = s["text_whole"]
        print(f"{label}: text kept whole: {m:.3f} of each text layer in its layer ({ok}/{n} >= 0.9)")


def poster_picture(out: Path) -> None:
    """The README picture: the classical layers of the sample poster (automatic count), each
    on a checkerboard, three per row."""
    import numpy as np
    from PIL import Image

    from qil_editor.engines.base import DecomposeOptions
    img = np.asarray(Image.open(ROOT / "resources" / "samples" / "poster.png").convert("RGBA"))
    doc = ClassicalDecomposer().decompose(img, DecomposeOptions(layers=None))
    layers = stack_from_document(doc).layers
    tw, th, gap = 400, 280, 4
    yy, xx = np.mgrid[0:th, 0:tw]
    chk = np.where(((yy // 8) + (xx // 8)) % 2 == 0, 150, 120).astype(np.float32)[..., None]
    cols, rows = 3, (len(layers) + 2) // 3
    pic = np.full((rows * th + (rows + 1) * gap, cols * tw + (cols + 1) * gap, 3), 255, np.uint8)
    for i, layer in enumerate(layers):
        t = np.asarray(Image.fromarray(layer, "RGBA").resize((tw, th), Image.LANCZOS)).astype(np.float32)
        a = t[..., 3:] / 255.0
        r, c = divmod(i, cols)
        y0, x0 = gap + r * (th + gap), gap + c * (tw + gap)
        pic[y0:y0 + th, x0:x0 + tw] = (t[..., :3] * a + chk * (1 - a)).astype(np.uint8)
    Image.fromarray(pic).save(out)
    print(f"{out}: {', '.join(layer.name for layer in doc.layers)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=30, help="designs in the original synthetic set")
    ap.add_argument("--hard-count", type=int, default=24, help="designs in the hard set")
    ap.add_argument("--text-count", type=int, default=24, help="designs in the text-heavy set")
    ap.add_argument("--backdrop-count", type=int, default=24,
                    help="designs on photo-like backdrops (seeds 8000..; held out 8024..)")
    ap.add_argument("--only", choices=["old", "hard", "text", "backdrop", "psd"], help="run one set only")
    ap.add_argument("--size", default="512x384")
    ap.add_argument("--merges", type=int, default=3)
    ap.add_argument("--psd-cases", default=str(ROOT / "tests" / "data" / "psd-cases"))
    ap.add_argument("--held-out", action="store_true",
                    help="the held-out seeds nobody tunes on (old 1030.., hard 5024.., text 7024.., backdrop 8024..) "
                         "instead of the tuned ones")
    ap.add_argument("--per-case", action="store_true", help="print each case's IoU / L1 at 0 merges")
    ap.add_argument("--classical-only", action="store_true", help="skip the k-means baseline")
    ap.add_argument("--auto", action="store_true", help="also run the classical engine with an automatic layer count")
    ap.add_argument("--order", default="canonical", choices=["canonical", "group", "as-is"],
                    help="layer order normalisation before alignment (group = LayerD's occlusion groups)")
    ap.add_argument("--poster-picture", metavar="PNG",
                    help="only write the README picture of the sample poster's classical layers")
    args = ap.parse_args()
    if args.poster_picture:
        poster_picture(Path(args.poster_picture))
        return
    w, h = (int(v) for v in args.size.lower().split("x"))
    methods = [ClassicalDecomposer()] + ([] if args.classical_only else [KMeansDecomposer()])
    fonts = find_fonts()
    print(f"fonts: {len(fonts)} DejaVu files" if fonts else "fonts: none found, using Pillow's built-in font")
    print(f"alignment: DTW, order normalisation '{args.order}', merges of predicted layers up to {args.merges}")

    datasets = []
    generated = [  # (--only name, case prefix, title, generator set, count, first tuned seed)
        ("old", "seed", "Synthetic designs", synthetic_set, args.count, 1000),
        ("hard", "hard", "Hard designs", hard_set, args.hard_count, 5000),
        ("text", "text", "Text-heavy designs", text_set, args.text_count, 7000),
        ("backdrop", "backdrop", "Backdrop designs", backdrop_set, args.backdrop_count, 8000),
    ]
    for name, prefix, title, make, count, first in generated:
        if args.only not in (None, name):
            continue
        # the held-out seeds follow the tuned ones
        designs = make(count, (w, h), first_seed=first + (count if args.held_out else 0), fonts=fonts)
        datasets.append((f"{title} ({count}, {w}x{h})",
                         [(f"{prefix}{d.seed}", d.image, stack_from_document(d.truth).layers, d.kinds)
                          for d in designs]))
    root = Path(args.psd_cases)
    if args.only not in (None, "psd"):
        pass
    elif root.is_dir():
        cases, skipped = psd_cases(root)
        datasets.append((f"PSD cases ({len(cases)})", [(c.name, c.image, c.truth.layers, None)
                                                       for c in cases]))
        for s in skipped:
            print(f"skipped PSD case {s}")
    else:
        print(f"PSD cases not found at {root}")

    for title, items in datasets:
        rows = []
        per_method = {}
        for method in methods:
            results = [run_case(name, img, truth, method, layers=layer_count_for(len(truth)),
                                max_merges=args.merges, order=args.order, kinds=kinds)
                       for name, img, truth, kinds in items]
            per_method[method.name] = results
            rows.append((f"{method.label}", summarise(results, args.merges)))
        if args.auto:
            results = [run_case(name, img, truth, methods[0], layers=None, max_merges=args.merges,
                                order=args.order) for name, img, truth, _ in items]
            rows.append((f"{methods[0].label}, auto", summarise(results, args.merges)))
        table(title, rows, args.merges)
        if args.per_case:
            for r in per_method["classical"]:
                print(f"  {r.case:<28} IoU {r.iou[0]:.4f}  L1 {r.l1[0]:.4f}")
        if "kmeans" not in per_method:
            figs = [r.failures for r in per_method["classical"] if r.failures is not None]
            if figs:
                failures(methods[0].label, summarise_failures(figs))
            continue
        a, b = per_method["classical"], per_method["kmeans"]
        wins_l1 = sum(x.l1[0] < y.l1[0] for x, y in zip(a, b))
        wins_iou = sum(x.iou[0] > y.iou[0] for x, y in zip(a, b))
        print(f"classical better per case (0 merges): RGB L1 {wins_l1}/{len(a)}, alpha IoU {wins_iou}/{len(a)}")
        ratio = summarise(a, args.merges)["seconds"] / max(1e-9, summarise(b, args.merges)["seconds"])
        print(f"time ratio classical / k-means: {ratio:.2f}")
        for method in methods:
            figs = [r.failures for r in per_method[method.name] if r.failures is not None]
            if figs:
                failures(method.label, summarise_failures(figs))


if __name__ == "__main__":
    main()

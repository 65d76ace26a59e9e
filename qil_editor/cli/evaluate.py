"""``qil evaluate PRED GT``: how close a decomposition is to ground-truth layers.

Both arguments are a PSD (or any image: one layer) or a folder of canvas-sized
layer PNGs numbered bottom-up. Prints the metrics of the Qwen-Image-Layered
paper and LayerD: RGB L1 where the ground truth is visible (lower is better)
and alpha soft IoU (higher is better), over layers aligned by dynamic time
warping, with 0 and with up to N merges of adjacent predicted layers.
"""

from __future__ import annotations

import json
import sys

from ..errors import InputFileError, UsageError
from ..evaluation.alignment import ORDERS, evaluate_layers, score_at
from ..evaluation.datasets import load_stack


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="compare predicted layers with ground-truth layers",
                              description=__doc__.split("\n\n", 1)[1])
    p.add_argument("pred", help="predicted layers: PSD, image, or folder of layer PNGs")
    p.add_argument("gt", help="ground-truth layers: PSD, image, or folder of layer PNGs")
    p.add_argument("--merges", type=int, default=3, metavar="N",
                   help="also report the scores after up to N merges of adjacent layers (default 3)")
    p.add_argument("--order", choices=ORDERS, default="canonical",
                   help="order normalisation before alignment: canonical (default), group "
                        "(LayerD's occlusion groups) or as-is")
    p.add_argument("--merge-gt", action="store_true",
                   help="let merges apply to ground-truth layers too (as LayerD's code does)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.merges < 0:
        raise UsageError(f"--merges must be 0 or more, got {args.merges}.")
    pred = load_stack(args.pred)
    gt = load_stack(args.gt)
    if (pred.width, pred.height) != (gt.width, gt.height):
        raise InputFileError(
            f"The canvases differ: {args.pred} is {pred.width}x{pred.height}, "
            f"{args.gt} is {gt.width}x{gt.height}.",
            "Compare layers of the same picture at the same size.")
    results = evaluate_layers(pred.layers, gt.layers, args.merges, order=args.order,
                              gt_editable=args.merge_gt)
    rows = [score_at(results, k) for k in range(args.merges + 1)]
    if args.json:
        json.dump({
            "pred": {"path": pred.source, "layers": pred.names},
            "gt": {"path": gt.source, "layers": gt.names},
            "order": args.order,
            "scores": [{"max_merges": k, "merges_used": r.merges, "rgb_l1": r.rgb_l1,
                        "alpha_iou": r.alpha_iou, "cost": r.cost,
                        "pairs": [list(p) for p in r.path]} for k, r in enumerate(rows)],
        }, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print(f"predicted:    {pred.source} ({len(pred.layers)} layers)")
    print(f"ground truth: {gt.source} ({len(gt.layers)} layers)")
    print(f"{'merges':<10}{'RGB L1':>10}{'alpha IoU':>11}  aligned pairs (pred, gt)")
    for k, r in enumerate(rows):
        label = "0" if k == 0 else f"<= {k}"
        pairs = " ".join(f"{i}-{j}" for i, j in r.path)
        print(f"{label:<10}{r.rgb_l1:>10.4f}{r.alpha_iou:>11.4f}  {pairs}")
    return 0


__all__ = ["register", "run"]

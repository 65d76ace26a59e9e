"""Per covered ground-truth shadow: the predicted layer that best matches its visible part,
that layer's IoU with the shadow's full alpha, and the first reason it falls short.

    python bench/shadow_report.py [--only hard|backdrop] [--held-out] [--count 24]

Columns: seed, ground-truth index -> predicted index and name, IoU of the full alpha, IoU of
the visible parts ("vis"), IoU on the hidden pixels ("hid"), predicted/true alpha mass, and
the caster (the ground-truth layer above hiding most of it) with its own completion IoU.
Reasons, first that applies: "merged with ..." (another ground-truth layer matched the same
predicted layer: a photo swallowing its shadow, two shadows or shadow and caster in one
layer), "not found" (visible part IoU < 0.6: the shadow's pixels went to other regions),
"hidden part wrong" (hidden IoU < 0.6: the completion under the caster), "fit off"
(IoU < 0.9: strength, blur or offset), else "ok". Same matching and covered-share rule
as the harness's "completion IoU of covered objects" (evaluation.failures).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qil_editor.engines.base import DecomposeOptions  # noqa: E402
from qil_editor.engines.classical import ClassicalDecomposer  # noqa: E402
from qil_editor.evaluation.benchmark import layer_count_for  # noqa: E402
from qil_editor.evaluation.datasets import stack_from_document  # noqa: E402
from qil_editor.evaluation.failures import COVERED_SHARE, _alphas, _match_visible, soft_iou, visible_weights  # noqa: E402
from qil_editor.evaluation.synthetic import find_fonts, hard_set  # noqa: E402
from qil_editor.evaluation.synthetic_backdrop import backdrop_set  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="hard", choices=["hard", "backdrop"])
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--count", type=int, default=24)
    args = ap.parse_args()
    make, first = {"hard": (hard_set, 5000), "backdrop": (backdrop_set, 8000)}[args.only]
    designs = make(args.count, (512, 384), first_seed=first + (args.count if args.held_out else 0),
                   fonts=find_fonts())
    reasons: dict[str, int] = {}
    for d in designs:
        if "shadow" not in d.kinds:
            continue
        truth = stack_from_document(d.truth).layers
        doc = ClassicalDecomposer().decompose(d.image, DecomposeOptions(layers=layer_count_for(len(truth))))
        pred = stack_from_document(doc).layers
        ag, ap_ = _alphas(truth), _alphas(pred)
        vg, vp = visible_weights(ag), visible_weights(ap_)
        match = _match_visible(vp, vg)
        for i, kind in enumerate(d.kinds):
            total = float(ag[i].sum())
            if kind != "shadow" or total <= 0 or total - float(vg[i].sum()) < COVERED_SHARE * total:
                continue
            m = match[i]
            iou = soft_iou(ap_[m], ag[i])
            hidden = (ag[i] - vg[i]) > 0.5 * ag[i]
            vis = soft_iou(vp[m], vg[i])
            hid = soft_iou(ap_[m] * hidden, ag[i] * hidden)
            cover = [(float((ag[j] * hidden).sum()), j) for j in range(i + 1, len(truth))]
            c = max(cover)[1] if cover else None
            merged = [j for j in range(len(truth)) if j != i and match[j] == m]
            if merged:
                why = "merged with " + ", ".join(f"gt{j} {d.kinds[j]}" for j in merged)
            elif vis < 0.6:
                why = "not found"
            elif hid < 0.6:
                why = "hidden part wrong"
            elif iou < 0.9:
                why = "fit off"
            else:
                why = "ok"
            key = why.split(" gt")[0]
            reasons[key] = reasons.get(key, 0) + 1
            caster = f"caster gt{c} {d.kinds[c]} {soft_iou(ap_[match[c]], ag[c]):.3f}" if c is not None else "no caster"
            print(f"{d.seed} gt{i}->{m} {doc.layers[m].name!r:12} IoU {iou:.3f} vis {vis:.3f} hid {hid:.3f} "
                  f"mass {ap_[m].sum() / total:.2f} {caster} | {why}", flush=True)
    print("reasons:", ", ".join(f"{k} {n}" for k, n in sorted(reasons.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()

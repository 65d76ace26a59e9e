"""Run decomposers over ground-truth cases and summarise the LayerD metrics.

Shared by ``bench/decompose_quality.py`` and the tests, so the numbers the
bench prints come from the same code the tests check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..document import composite
from ..engines.base import MAX_LAYERS, MIN_LAYERS, DecomposeOptions
from .alignment import evaluate_layers, score_at
from .datasets import stack_from_document
from .failures import FailureFigures, failure_figures
from .metrics import psnr


@dataclass
class CaseResult:
    case: str
    method: str
    seconds: float
    psnr: float
    layers: int
    l1: list[float] = field(default_factory=list)     # index = merges
    iou: list[float] = field(default_factory=list)
    failures: FailureFigures | None = None            # when the truth's layer kinds are known


def layer_count_for(truth_layers: int) -> int:
    return int(min(MAX_LAYERS, max(MIN_LAYERS, truth_layers)))


def run_case(name: str, image: np.ndarray, truth: list[np.ndarray], method, *,
             layers: int | None, max_merges: int = 3, order: str = "canonical",
             kinds: list[str] | None = None) -> CaseResult:
    """Decompose ``image`` with ``method`` and score it against ``truth`` (canvas layers);
    with ``kinds`` (one per truth layer) also the per-failure figures."""
    t0 = time.perf_counter()
    doc = method.decompose(image, DecomposeOptions(layers=layers))
    seconds = time.perf_counter() - t0
    flat = composite(doc)
    if image[..., 3].min() == 255:
        quality = psnr(flat[..., :3], image[..., :3])
    else:  # compare premultiplied colour, which is what is seen
        fa = flat[..., 3:4].astype(np.float64) / 255.0
        ia = image[..., 3:4].astype(np.float64) / 255.0
        a = np.clip(np.round(flat[..., :3] * fa), 0, 255).astype(np.uint8)
        b = np.clip(np.round(image[..., :3] * ia), 0, 255).astype(np.uint8)
        quality = psnr(np.dstack([a, flat[..., 3:]]), np.dstack([b, image[..., 3:]]))
    pred = stack_from_document(doc).layers
    scores = evaluate_layers(pred, truth, max_merges, order=order)
    res = CaseResult(name, method.name, seconds, quality, len(doc.layers))
    for k in range(max_merges + 1):
        s = score_at(scores, k)
        res.l1.append(s.rgb_l1)
        res.iou.append(s.alpha_iou)
    if kinds is not None:
        res.failures = failure_figures(pred, truth, kinds)
    return res


def summarise(results: list[CaseResult], merges: int) -> dict:
    finite = [r.psnr for r in results if np.isfinite(r.psnr)]
    return {
        "n": len(results),
        "l1_0": float(np.mean([r.l1[0] for r in results])),
        "iou_0": float(np.mean([r.iou[0] for r in results])),
        "l1_m": float(np.mean([r.l1[merges] for r in results])),
        "iou_m": float(np.mean([r.iou[merges] for r in results])),
        "psnr_min": float(min(finite)) if finite else float("inf"),
        "psnr_mean": float(np.mean(finite)) if finite else float("inf"),
        "seconds": float(np.mean([r.seconds for r in results])),
        "layers": float(np.mean([r.layers for r in results])),
    }

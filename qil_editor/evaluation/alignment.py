"""Align predicted and ground-truth layer stacks and score them (LayerD protocol).

1. Dynamic time warping over the two bottom-to-top lists with cost
   (RGB L1 + 1 - alpha IoU) / 2: order is kept, a layer may match several.
2. Scores are means over the aligned pairs; then up to N greedy merges of
   adjacent predicted layers (optionally ground-truth ones too, as LayerD's
   code allows) that most reduce the cost, re-scoring after each, so
   "0 merges" and "up to N merges" are reported.
3. Before aligning, the order of layers that do not overlap is arbitrary
   (a title and a logo in opposite corners can be stacked either way), so
   by default both stacks are put in a canonical order: overlapping layers
   keep their order, free ones go largest first. ``order="group"`` instead
   does what LayerD's code does: layers that nothing above overlaps form one
   group, peeled from the top (it folds any non-overlapping partition, such
   as k-means' hard layers, into one layer). ``order="as-is"`` keeps both
   orders untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import alpha_soft_iou, layer_cost, rgb_l1


@dataclass(frozen=True)
class AlignmentScore:
    merges: int
    rgb_l1: float
    alpha_iou: float
    cost: float
    path: tuple[tuple[int, int], ...]
    pred_layers: int
    gt_layers: int


def over(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA ``upper`` over ``lower`` (uint8 in, uint8 out)."""
    a_u = upper[..., 3:4].astype(np.float32) / 255.0
    a_l = lower[..., 3:4].astype(np.float32) / 255.0
    a_o = a_u + a_l * (1.0 - a_u)
    c = (upper[..., :3] * a_u + lower[..., :3] * a_l * (1.0 - a_u)) / np.maximum(a_o, 1e-6)
    out = np.empty(lower.shape, np.uint8)
    out[..., :3] = np.clip(c + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = np.clip(a_o[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def merge_stack(layers: list[np.ndarray]) -> np.ndarray:
    out = layers[0]
    for layer in layers[1:]:
        out = over(out, layer)
    return out


def occlusion_groups(layers: list[np.ndarray]) -> list[list[int]]:
    """LayerD's grouping: repeatedly take the layers no remaining layer above overlaps."""
    masks = [layer[..., 3] > 0 for layer in layers]
    remaining = list(range(len(layers)))
    groups = []
    while remaining:
        top = [i for k, i in enumerate(remaining)
               if not any((masks[i] & masks[j]).any() for j in remaining[k + 1:])]
        groups.append(top)
        remaining = [i for i in remaining if i not in top]
    return groups[::-1]


def group_by_occlusion(layers: list[np.ndarray]) -> list[np.ndarray]:
    return [merge_stack([layers[i] for i in g]) for g in occlusion_groups(layers)]


def canonical_order(layers: list[np.ndarray]) -> list[int]:
    """A stacking order that keeps overlapping layers' order and puts free ones largest first."""
    masks = [layer[..., 3] > 0 for layer in layers]
    area = [int(m.sum()) for m in masks]
    n = len(layers)
    below = {j: {i for i in range(j) if (masks[i] & masks[j]).any()} for j in range(n)}
    done, out = set(), []
    while len(out) < n:
        ready = [j for j in range(n) if j not in done and below[j] <= done]
        nxt = max(ready, key=lambda j: (area[j], -j))
        out.append(nxt)
        done.add(nxt)
    return out


def dtw(cost: np.ndarray) -> list[tuple[int, int]]:
    """Monotonic alignment path from (0, 0) to (n-1, m-1) minimising the summed cost."""
    n, m = cost.shape
    acc = np.full((n, m), np.inf)
    acc[0, 0] = cost[0, 0]
    for i in range(n):
        for j in range(m):
            if i == 0 and j == 0:
                continue
            best = min(acc[i - 1, j] if i else np.inf, acc[i, j - 1] if j else np.inf,
                       acc[i - 1, j - 1] if i and j else np.inf)
            acc[i, j] = cost[i, j] + best
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        steps = []
        if i and j:
            steps.append((acc[i - 1, j - 1], i - 1, j - 1))
        if i:
            steps.append((acc[i - 1, j], i - 1, j))
        if j:
            steps.append((acc[i, j - 1], i, j - 1))
        _, i, j = min(steps, key=lambda s: s[0])
        path.append((i, j))
    return path[::-1]


def _cost_matrix(pred, gt) -> np.ndarray:
    return np.array([[layer_cost(p, g) for g in gt] for p in pred])


def _score(pred, gt, merges: int, cost: np.ndarray | None = None) -> AlignmentScore:
    cost = _cost_matrix(pred, gt) if cost is None else cost
    path = dtw(cost)
    l1 = float(np.mean([rgb_l1(pred[i], gt[j]) for i, j in path]))
    iou = float(np.mean([alpha_soft_iou(pred[i], gt[j]) for i, j in path]))
    c = float(np.mean([cost[i, j] for i, j in path]))
    return AlignmentScore(merges, l1, iou, c, tuple(path), len(pred), len(gt))


def _path_cost(cost: np.ndarray) -> float:
    path = dtw(cost)
    return float(np.mean([cost[i, j] for i, j in path]))


def _best_merge(stack, other, cost: np.ndarray, side: int):
    """The adjacent merge in ``stack`` that most lowers the mean aligned cost.

    ``cost`` is stack x other (side 0) or other x stack (side 1). Returns
    (new mean cost, index, merged layer, new cost matrix) or None.
    """
    if len(stack) < 2:
        return None
    mat = cost if side == 0 else cost.T
    best = None
    for i in range(len(stack) - 1):
        merged = over(stack[i], stack[i + 1])
        row = np.array([layer_cost(merged, o) for o in other])
        new = np.vstack([mat[:i], row[None], mat[i + 2:]])
        full = new if side == 0 else new.T
        c = _path_cost(full)
        if best is None or c < best[0]:
            best = (c, i, merged, full)
    return best


ORDERS = ("canonical", "group", "as-is")


def evaluate_layers(pred: list[np.ndarray], gt: list[np.ndarray], max_merges: int = 3, *,
                    order: str = "canonical", gt_editable: bool = False) -> list[AlignmentScore]:
    """Scores with 0..max_merges merges (fewer entries when no merge helps any more).

    ``pred`` and ``gt`` are canvas-sized RGBA uint8 layers, bottom first. Each
    merge joins the two adjacent layers whose merge lowers the mean aligned
    cost the most; merging stops early when none lowers it.
    """
    if not pred or not gt:
        raise ValueError("both layer stacks must have at least one layer")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if order == "group":
        pred, gt = group_by_occlusion(pred), group_by_occlusion(gt)
    elif order == "canonical":
        pred = [pred[i] for i in canonical_order(pred)]
        gt = [gt[i] for i in canonical_order(gt)]
    pred, gt = list(pred), list(gt)
    cost = _cost_matrix(pred, gt)
    results = [_score(pred, gt, 0, cost)]
    for k in range(1, max_merges + 1):
        current = results[-1].cost
        cand = [c for c in (_best_merge(pred, gt, cost, 0),
                            _best_merge(gt, pred, cost, 1) if gt_editable else None) if c is not None]
        if not cand:
            break
        side = min(range(len(cand)), key=lambda s: cand[s][0])
        new_cost, i, merged, full = cand[side]
        if new_cost >= current - 1e-9:
            break
        stack = pred if side == 0 else gt
        stack[i:i + 2] = [merged]
        cost = full
        results.append(_score(pred, gt, k, cost))
    return results


def score_at(results: list[AlignmentScore], merges: int) -> AlignmentScore:
    """The score with at most ``merges`` merges (the last one when fewer were useful)."""
    return results[min(merges, len(results) - 1)]

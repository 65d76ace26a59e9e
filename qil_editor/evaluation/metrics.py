"""Per-layer quality metrics of the Qwen-Image-Layered paper and LayerD.

All functions take canvas-sized RGBA uint8 arrays (straight alpha).
- RGB L1: mean absolute RGB difference in [0, 1], only where the ground-truth
  alpha is > 0 (hidden parts of a layer count: a good decomposition fills them).
- Alpha soft IoU: sum(min(a, b)) / sum(max(a, b)) on alphas in [0, 1].
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-8


def _check(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[2] != 4:
        raise ValueError(f"layers must be RGBA of one size, got {pred.shape} and {gt.shape}")


def rgb_l1(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean |RGB difference| / 255 over pixels where the ground truth is not transparent."""
    _check(pred, gt)
    mask = gt[..., 3] > 0
    n = int(mask.sum())
    if n == 0:
        return 0.0
    diff = np.abs(pred[mask, :3].astype(np.int16) - gt[mask, :3].astype(np.int16))
    return float(diff.sum(dtype=np.int64)) / (3.0 * 255.0 * (n + _EPS))


def alpha_soft_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """sum(min(alpha)) / sum(max(alpha)); 0 when both are empty."""
    _check(pred, gt)
    a, b = pred[..., 3], gt[..., 3]
    union = float(np.maximum(a, b).sum(dtype=np.int64))
    if union == 0.0:
        return 0.0
    return float(np.minimum(a, b).sum(dtype=np.int64)) / union


def layer_cost(pred: np.ndarray, gt: np.ndarray) -> float:
    """LayerD's alignment cost: the mean of RGB L1 and (1 - alpha IoU), in [0, 1]."""
    return 0.5 * (rgb_l1(pred, gt) + (1.0 - alpha_soft_iou(pred, gt)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of one shape (inf when identical)."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(255.0 ** 2 / mse)

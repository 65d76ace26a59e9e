"""Label maps: grown by distance (each pixel asked about takes the nearest labelled pixel's
label), and the mean or median of an image per label."""

from __future__ import annotations

import cv2
import numpy as np

CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)  # 4-neighbour kernel: a region's one-pixel ring


def nearest_label(labels: np.ndarray, targets: np.ndarray, max_dist: float):
    """For ``targets`` pixels, the label of the nearest labelled pixel within ``max_dist``."""
    src = np.where(labels > 0, 0, 1).astype(np.uint8)
    if src.min() == 1:
        return np.zeros_like(labels), np.full(labels.shape, np.inf, np.float32)
    dist, idx = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    zero_labels = labels[src == 0]  # raster order, matches idx - 1
    near = zero_labels[np.clip(idx - 1, 0, zero_labels.size - 1)]
    near = np.where(targets & (dist <= max_dist), near, 0)
    return near.astype(np.int32), dist


def grow(labels: np.ndarray, radius: float) -> np.ndarray:
    """``labels`` grown by up to ``radius`` px into unlabelled pixels (each takes the nearest label)."""
    return nearest_label(labels, np.ones(labels.shape, bool), radius)[0]


def label_means(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` (N, C) per label of ``labels`` (N,), for labels 0..n-1 at least
    (float64; 0 for a label with no pixel)."""
    cnt = np.maximum(np.bincount(labels, minlength=n), 1)
    return np.stack([np.bincount(labels, weights=values[:, c], minlength=n)
                     for c in range(values.shape[1])], 1) / cnt[:, None]


def label_medians(values: np.ndarray, labels: np.ndarray, keys: list[int]) -> dict[int, float]:
    """``np.median`` of ``values`` (N,) over each label of ``keys`` (each present in ``labels``)."""
    sel = np.isin(labels, keys)
    lab, val = labels[sel], values[sel]
    order = np.lexsort((val, lab))
    lab, val = lab[order], val[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    counts = np.diff(np.r_[starts, lab.size])
    mid = (val[starts + (counts - 1) // 2].astype(np.float64) + val[starts + counts // 2]) / 2.0
    return {int(k): float(m) for k, m in zip(lab[starts], mid)}

"""Measures of how well a recovered layer matches the truth (tests, bench, real-model checks).

* alpha error: mean absolute difference in 0..255 levels, over all pixels
  and over the edge band (where soft edges are, the hard part);
* soft IoU: sum(min(a, b)) / sum(max(a, b)), the paper's alpha metric;
* halo: the layer composited over black and over white, compared with the
  truth composited the same way, in the edge band. Matte colour left in
  edge pixels shows up as a difference that has the matte's sign; a clean
  un-matte shows none. Reported in levels (mean and 99th percentile) and as
  the mean error projected on the direction from the true colour to the
  matte (signed halo, > 0 means matte colour left in the edges).
  Halo figures use the soft-edge pixels only (0 < alpha < 255 in either).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def edge_band(*alphas: np.ndarray, grow: int = 1) -> np.ndarray:
    """Pixels that are partly transparent in any of the alphas, grown by ``grow`` pixels."""
    band = np.zeros(alphas[0].shape, dtype=np.uint8)
    for a in alphas:
        band |= ((a > 0) & (a < 255)).astype(np.uint8)
    if grow > 0:
        band = cv2.dilate(band, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return band.astype(bool)


def soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64) / 255.0
    b = b.astype(np.float64) / 255.0
    union = np.maximum(a, b).sum()
    return 1.0 if union == 0 else float(np.minimum(a, b).sum() / union)


def over(rgba: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    return rgba[..., :3].astype(np.float64) * a + np.float64(background) * (1.0 - a)


@dataclass(frozen=True)
class RecoveryScore:
    alpha_mae: float          # levels, all pixels
    alpha_mae_band: float     # levels, edge band
    soft_iou: float
    halo_mean: float          # levels, soft-edge pixels, over black and white
    halo_p99: float
    halo_toward_matte: float  # levels, mean error towards the matte colour (0 = no matte left)

    def row(self) -> str:
        return (f"alpha MAE {self.alpha_mae:5.2f} (band {self.alpha_mae_band:5.2f})  soft IoU {self.soft_iou:.4f}  "
                f"halo {self.halo_mean:5.2f} (p99 {self.halo_p99:5.1f}, toward matte {self.halo_toward_matte:+5.2f})")


def score(pred: np.ndarray, truth: np.ndarray, matte: tuple[int, int, int]) -> RecoveryScore:
    """Compare a recovered RGBA layer with the true one (same size)."""
    pa, ta = pred[..., 3].astype(np.float64), truth[..., 3].astype(np.float64)
    band = edge_band(pred[..., 3], truth[..., 3])
    soft = edge_band(pred[..., 3], truth[..., 3], grow=0)
    diff_alpha = np.abs(pa - ta)
    # matte left in a pixel pulls its colour from the true colour towards the matte
    direction = np.float64(matte) - truth[..., :3].astype(np.float64)
    norm = np.linalg.norm(direction, axis=2, keepdims=True)
    direction = np.where(norm > 16, direction / np.maximum(norm, 1e-9), 0.0)
    errors, toward = [], []
    for background in ((0, 0, 0), (255, 255, 255)):
        d = over(pred, background) - over(truth, background)
        errors.append(np.abs(d)[soft].ravel())
        toward.append(np.sum(d * direction, axis=2)[soft])
    err = np.concatenate(errors) if soft.any() else np.zeros(1)
    tow = np.concatenate(toward) if soft.any() else np.zeros(1)
    return RecoveryScore(
        alpha_mae=float(diff_alpha.mean()),
        alpha_mae_band=float(diff_alpha[band].mean()) if band.any() else 0.0,
        soft_iou=soft_iou(pred[..., 3], truth[..., 3]),
        halo_mean=float(err.mean()),
        halo_p99=float(np.percentile(err, 99)),
        halo_toward_matte=float(tow.mean()),
    )

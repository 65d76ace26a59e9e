"""The baseline simple tools offer: k-means colour clustering into N hard layers.

Pixels are clustered by colour (CIELAB, k-means++ on a subsample); each
cluster becomes one layer holding exactly its pixels at full opacity, the
most common cluster at the bottom. No soft edges, no hidden parts, no
notion of objects: what "posterise and separate colours" gives a designer.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..document import Document, Layer
from ..engines.base import Availability, DecomposeOptions
from ..engines.jobs import CancelToken, ProgressCallback, ProgressTracker

DEFAULT_LAYERS = 4
_SAMPLES = 60000
_CHUNK = 1 << 20


class KMeansDecomposer:
    name = "kmeans"
    label = "k-means baseline"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        return Availability(True)

    def decompose(self, image: np.ndarray, options: DecomposeOptions | None = None,
                  progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Document:
        tracker = ProgressTracker(progress, 3, "Clustering colours")
        tracker.update(0)
        rgba = np.ascontiguousarray(image, np.uint8)
        if rgba.ndim == 2:
            rgba = np.dstack([rgba] * 3 + [np.full(rgba.shape, 255, np.uint8)])
        elif rgba.shape[2] == 3:
            rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
        h, w = rgba.shape[:2]
        k = (options.layers if options is not None and options.layers else DEFAULT_LAYERS)
        lab = cv2.cvtColor(rgba[..., :3], cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float32)
        k = max(1, min(int(k), int(np.unique(lab[:: max(1, lab.shape[0] // _SAMPLES)], axis=0).shape[0])))
        rng = np.random.default_rng(self.seed)
        sample = lab if lab.shape[0] <= _SAMPLES else lab[rng.choice(lab.shape[0], _SAMPLES, replace=False)]
        cv2.setRNGSeed(self.seed)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.5)
        _, _, centres = cv2.kmeans(sample, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
        if cancel is not None:
            cancel.raise_if_cancelled()
        tracker.update(1, "Assigning pixels")
        labels = np.empty(lab.shape[0], np.int32)
        cn = (centres ** 2).sum(1)
        for s in range(0, lab.shape[0], _CHUNK):
            block = lab[s:s + _CHUNK]
            labels[s:s + _CHUNK] = np.argmin(cn[None] - 2.0 * block @ centres.T, axis=1)
        labels = labels.reshape(h, w)
        counts = np.bincount(labels.ravel(), minlength=k)
        order = np.argsort(-counts)
        tracker.update(2, "Building layers")
        layers = []
        for rank, c in enumerate(order):
            if counts[c] == 0:
                continue
            mask = labels == c
            ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
            y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
            px = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
            sub = mask[y0:y1, x0:x1]
            px[sub] = rgba[y0:y1, x0:x1][sub]
            name = "Background" if rank == 0 else f"Colour {rank}"
            layers.append(Layer(px, name=name, x=int(x0), y=int(y0)))
        tracker.update(3, "Done")
        return Document(w, h, layers)

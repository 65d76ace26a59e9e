"""Per-failure figures for a decomposition whose ground truth keeps every layer whole.

The LayerD metrics average everything into two numbers; these name what a
designer sees when a layer is hidden or moved:

- completion IoU: for a ground-truth object that others partly cover (a
  simple shape, a photo, a shadow), the soft IoU of the predicted layer's
  alpha with the object's *full* alpha, covered part included;
- background residue: the 99th percentile of the predicted bottom layer's
  deviation (max over RGB, in levels) from the true background, over the
  pixels where objects were (rings, ghosts and specks left behind);
- stacking order: for pairs of ground-truth objects that overlap, whether
  the layers they ended up in are stacked the same way (pairs that ended up
  in one layer are counted apart, as merged);
- text kept whole: for a text layer (a word, a line, a paragraph), the share of
  its visible weight that lies in the predicted layer it is matched to, 0 when
  that layer is also another ground-truth layer's match (a word cut across
  layers scores low; one left inside a photo or a card, or merged with another
  text box, scores 0).

Each ground-truth layer is matched to the predicted layer whose visible part
(visible weight ``a_i * prod_{j above}(1 - a_j)``) overlaps its own best (soft IoU).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COVERED_SHARE = 0.05    # an object counts as covered when this share of its alpha is hidden
OVERLAP_PIXELS = 30     # pixels where both alphas exceed 0.5 for a pair to count as overlapping
VISIBLE_PIXELS = 30     # a layer must show at least this much for its order to be decidable


@dataclass
class FailureFigures:
    completion: list[tuple[str, float]] = field(default_factory=list)  # (kind, IoU) per covered object
    residue_p99: float | None = None                                  # levels; None: no objects
    order_right: int = 0
    order_pairs: int = 0
    order_merged: int = 0
    text_whole: list[float] = field(default_factory=list)              # per text layer


def _alphas(layers: list[np.ndarray]) -> np.ndarray:
    return np.stack([layer[..., 3].astype(np.float32) / 255.0 for layer in layers])


def visible_weights(alpha: np.ndarray) -> np.ndarray:
    """How much of each layer (bottom first) shows in the composite, per pixel."""
    out = np.empty_like(alpha)
    trans = np.ones(alpha.shape[1:], np.float32)
    for i in range(alpha.shape[0] - 1, -1, -1):
        out[i] = alpha[i] * trans
        trans = trans * (1.0 - alpha[i])
    return out


def match_layers(pred: list[np.ndarray], gt: list[np.ndarray]) -> list[int]:
    """For each ground-truth layer, the predicted layer whose visible part best matches its
    visible part (soft IoU of the visible weights). Not the layer that merely shows most of
    it: under a faint shadow the background shows about as much as the shadow does, and
    the background shows everywhere, so it took every translucent layer."""
    return _match_visible(visible_weights(_alphas(pred)), visible_weights(_alphas(gt)))


def _match_visible(vp: np.ndarray, vg: np.ndarray) -> list[int]:
    flat_p = vp.reshape(len(vp), -1)
    flat_g = vg.reshape(len(vg), -1)
    shared = np.stack([np.minimum(flat_p, g[None]).sum(1) for g in flat_g])  # (gt, pred)
    union = np.stack([np.maximum(flat_p, g[None]).sum(1) for g in flat_g])
    return [int(np.argmax(row)) for row in shared / np.maximum(union, 1e-9)]


def soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum()) / union if union > 0 else 0.0


def failure_figures(pred: list[np.ndarray], gt: list[np.ndarray], kinds: list[str]) -> FailureFigures:
    """The three figures for one case; ``kinds`` names each ground-truth layer (see synthetic)."""
    if len(kinds) != len(gt):
        raise ValueError(f"{len(kinds)} kinds for {len(gt)} ground-truth layers")
    out = FailureFigures()
    ag, ap = _alphas(gt), _alphas(pred)
    vg, vp = visible_weights(ag), visible_weights(ap)
    match = _match_visible(vp, vg)
    for i in range(1, len(gt)):
        kind = kinds[i]
        if not (kind.startswith("shape:") or kind in ("photo", "shadow")):
            continue
        total = float(ag[i].sum())
        if total <= 0 or (total - float(vg[i].sum())) < COVERED_SHARE * total:
            continue
        out.completion.append((kind, soft_iou(ap[match[i]], ag[i])))
    for i in range(1, len(gt)):
        if kinds[i] == "text" and float(vg[i].sum()) > 0:
            # a text box left inside another object's layer is not a layer of its own
            alone = all(match[j] != match[i] for j in range(len(gt)) if j != i)
            out.text_whole.append(float(np.minimum(vg[i], vp[match[i]]).sum() / vg[i].sum()) if alone else 0.0)
    objects = ag[1:].max(axis=0) > 0.02 if len(gt) > 1 else np.zeros(ag.shape[1:], bool)
    if objects.any():
        dev = np.abs(pred[0][..., :3].astype(np.int16) - gt[0][..., :3].astype(np.int16)).max(-1)
        out.residue_p99 = float(np.percentile(dev[objects], 99))
    shown = (vg > 0.5).reshape(len(gt), -1).sum(1)
    strong = ag > 0.5
    for i in range(1, len(gt)):
        for j in range(i + 1, len(gt)):
            if int((strong[i] & strong[j]).sum()) < OVERLAP_PIXELS:
                continue
            if shown[i] < VISIBLE_PIXELS or shown[j] < VISIBLE_PIXELS:
                continue
            mi, mj = match[i], match[j]
            if mi == mj or mi == 0 or mj == 0:
                out.order_merged += 1
                continue
            out.order_pairs += 1
            out.order_right += int(mi < mj)
    return out


def summarise_failures(figs: list[FailureFigures], residue_goal: float = 4.0) -> dict:
    """Means and counts over cases, per completion kind too."""
    comp = [c for f in figs for c in f.completion]
    by_kind: dict[str, list[float]] = {}
    for kind, iou in comp:
        key = "shape" if kind.startswith("shape:") else kind
        by_kind.setdefault(key, []).append(iou)
    res = [f.residue_p99 for f in figs if f.residue_p99 is not None]
    pairs = sum(f.order_pairs for f in figs)
    text = [t for f in figs for t in f.text_whole]
    return {
        "completion": {k: (float(np.mean(v)), sum(x >= 0.9 for x in v), len(v)) for k, v in by_kind.items()},
        "residue_median": float(np.median(res)) if res else float("nan"),
        "residue_max": float(max(res)) if res else float("nan"),
        "residue_ok": sum(r <= residue_goal for r in res),
        "residue_n": len(res),
        "order_acc": sum(f.order_right for f in figs) / pairs if pairs else float("nan"),
        "order_pairs": pairs,
        "order_merged": sum(f.order_merged for f in figs),
        "text_whole": (float(np.mean(text)) if text else float("nan"), sum(t >= 0.9 for t in text), len(text)),
    }

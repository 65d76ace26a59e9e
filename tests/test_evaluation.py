"""Metrics, alignment, the k-means baseline, the synthetic designs and `qil evaluate`."""

import json

import numpy as np
import pytest
from PIL import Image

from qil_editor.cli import main as qil_main
from qil_editor.document import composite
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer
from qil_editor.errors import InputFileError
from qil_editor.evaluation.alignment import (canonical_order, dtw, evaluate_layers,
                                             group_by_occlusion, over, score_at)
from qil_editor.evaluation.baseline import KMeansDecomposer
from qil_editor.evaluation.benchmark import run_case
from qil_editor.evaluation.datasets import load_stack, stack_from_document
from qil_editor.evaluation.datasets import psd_cases as load_psd_cases
from qil_editor.evaluation.metrics import alpha_soft_iou, layer_cost, psnr, rgb_l1
from qil_editor.evaluation.synthetic import generate_design, save_design


def rgba(pixels):
    return np.array(pixels, np.uint8)


def test_rgb_l1_counts_only_where_ground_truth_is_visible():
    gt = rgba([[[100, 100, 100, 255], [0, 0, 0, 0]],
               [[10, 20, 30, 128], [255, 255, 255, 255]]])
    pred = rgba([[[110, 100, 70, 255], [200, 200, 200, 255]],
                 [[10, 20, 30, 0], [255, 255, 0, 0]]])
    # visible gt pixels: (0,0) diff 10+0+30, (1,0) 0, (1,1) 255 -> mean over 3 px x 3 channels
    assert rgb_l1(pred, gt) == pytest.approx((40 + 0 + 255) / (9 * 255), abs=1e-9)
    assert rgb_l1(pred, np.zeros_like(gt)) == 0.0


def test_alpha_soft_iou_is_sum_min_over_sum_max():
    a = rgba([[[0, 0, 0, 255], [0, 0, 0, 100]], [[0, 0, 0, 0], [0, 0, 0, 50]]])
    b = rgba([[[0, 0, 0, 200], [0, 0, 0, 100]], [[0, 0, 0, 30], [0, 0, 0, 0]]])
    assert alpha_soft_iou(a, b) == pytest.approx((200 + 100 + 0 + 0) / (255 + 100 + 30 + 50))
    assert alpha_soft_iou(a, a) == 1.0
    assert alpha_soft_iou(np.zeros_like(a), np.zeros_like(a)) == 0.0
    assert layer_cost(a, a) == 0.0
    assert layer_cost(a, b) == pytest.approx(0.5 * (rgb_l1(a, b) + 1 - alpha_soft_iou(a, b)))


def test_psnr():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[0, 0] = 16
    assert psnr(a, a) == float("inf")
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (256 / 16)))


def test_dtw_keeps_order_and_lets_one_layer_match_several():
    cost = np.array([[0.0, 0.9, 0.9],
                     [0.9, 0.1, 0.2],
                     [0.9, 0.9, 0.0]])
    assert dtw(cost) == [(0, 0), (1, 1), (2, 2)]
    cost = np.array([[0.0, 0.9, 0.9],
                     [0.9, 0.1, 0.1]])
    assert dtw(cost) == [(0, 0), (1, 1), (1, 2)]


def squares():
    """Background, a red square, a blue square overlapping it, a green dot apart."""
    h = w = 40
    bg = np.zeros((h, w, 4), np.uint8)
    bg[...] = (250, 250, 250, 255)
    red = np.zeros_like(bg)
    red[5:20, 5:20] = (255, 0, 0, 255)
    blue = np.zeros_like(bg)
    blue[12:30, 12:30] = (0, 0, 255, 255)
    green = np.zeros_like(bg)
    green[32:38, 2:6] = (0, 255, 0, 255)
    return [bg, red, blue, green]


def test_identical_stacks_score_perfectly_and_a_split_layer_is_fixed_by_a_merge():
    gt = squares()
    res = evaluate_layers(gt, gt, 3)
    assert res[0].rgb_l1 == 0.0 and res[0].alpha_iou == 1.0
    assert len(res) == 1  # nothing to gain by merging
    top, bottom = gt[2].copy(), gt[2].copy()
    top[:21] = 0
    bottom[21:] = 0
    split = [gt[0], gt[1], bottom, top, gt[3]]
    res = evaluate_layers(split, gt, 3)
    assert res[0].alpha_iou < 1.0
    assert res[1].merges == 1 and res[1].alpha_iou == 1.0 and res[1].rgb_l1 == 0.0
    assert score_at(res, 3) == res[-1]


def test_order_normalisation():
    layers = squares()
    # the green dot overlaps nothing but the background: it may sit anywhere above it
    assert canonical_order(layers) == [0, 1, 2, 3]
    assert canonical_order([layers[0], layers[3], layers[1], layers[2]]) == [0, 2, 3, 1]
    groups = group_by_occlusion(layers)
    assert len(groups) == 3  # background | red | blue + green
    np.testing.assert_array_equal(groups[2], over(layers[2], layers[3]))


def test_kmeans_baseline_makes_hard_colour_layers():
    image = np.zeros((30, 60, 4), np.uint8)
    image[..., 3] = 255
    image[:, :20, :3] = (250, 10, 10)
    image[:, 20:40, :3] = (10, 250, 10)
    image[:, 40:, :3] = (10, 10, 250)
    image[:, 45:, :3] = (10, 10, 250)
    doc = KMeansDecomposer().decompose(image, DecomposeOptions(layers=3))
    assert len(doc.layers) == 3
    for layer in doc.layers:
        assert set(np.unique(layer.pixels[..., 3])) <= {0, 255}
    np.testing.assert_array_equal(composite(doc), image)


def test_synthetic_designs_are_reproducible_and_consistent():
    a = generate_design(5, (200, 150))
    b = generate_design(5, (200, 150))
    np.testing.assert_array_equal(a.image, b.image)
    assert a.truth.layers[0].name == "Background" and len(a.truth.layers) >= 3
    flat = composite(a.truth)
    np.testing.assert_array_equal(flat[..., :3], a.image[..., :3])
    no_fonts = generate_design(9, (200, 150), fonts=[], elements=4)  # Pillow's own font
    assert no_fonts.image.shape == (150, 200, 4)


def test_psd_cases_load_as_ground_truth(psd_cases):
    cases, skipped = load_psd_cases(psd_cases)
    names = {c.name for c in cases}
    assert {"text-layer", "layers", "psb"} <= names
    text = next(c for c in cases if c.name == "text-layer")
    assert text.truth.names == ["Background", "Test text"]
    assert all(layer.shape == (50, 100, 4) for layer in text.truth.layers)
    assert all(isinstance(s, str) for s in skipped)


def test_classical_beats_kmeans_on_a_few_synthetic_designs():
    classical, kmeans = ClassicalDecomposer(), KMeansDecomposer()
    ours, base = [], []
    for seed in (1000, 1001, 1003):
        d = generate_design(seed, (320, 240))
        truth = stack_from_document(d.truth).layers
        n = min(10, max(2, len(truth)))
        ours.append(run_case(str(seed), d.image, truth, classical, layers=n))
        base.append(run_case(str(seed), d.image, truth, kmeans, layers=n))
    assert np.mean([r.l1[0] for r in ours]) < np.mean([r.l1[0] for r in base])
    assert np.mean([r.iou[0] for r in ours]) > np.mean([r.iou[0] for r in base])
    assert min(r.psnr for r in ours) >= 40.0


def write_stack(folder, layers):
    folder.mkdir(parents=True, exist_ok=True)
    for i, layer in enumerate(layers):
        Image.fromarray(layer, "RGBA").save(folder / f"{i:02d}.png")


def test_load_stack_reads_folders_and_rejects_mixed_sizes(tmp_path):
    layers = squares()
    write_stack(tmp_path / "ok", layers)
    stack = load_stack(tmp_path / "ok")
    assert len(stack.layers) == 4 and (stack.width, stack.height) == (40, 40)
    write_stack(tmp_path / "bad", [layers[0], np.zeros((10, 10, 4), np.uint8)])
    with pytest.raises(InputFileError):
        load_stack(tmp_path / "bad")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError):
        load_stack(tmp_path / "empty")


def test_qil_evaluate_prints_both_metrics(tmp_path, capsys):
    design = generate_design(1001, (256, 192))
    save_design(design, tmp_path / "gt")
    doc = ClassicalDecomposer().decompose(design.image, DecomposeOptions(layers=5))
    write_stack(tmp_path / "pred", stack_from_document(doc).layers)
    assert qil_main(["evaluate", str(tmp_path / "pred"), str(tmp_path / "gt" / "layers"),
                     "--merges", "2"]) == 0
    out = capsys.readouterr().out
    assert "RGB L1" in out and "alpha IoU" in out and "<= 2" in out
    assert qil_main(["evaluate", str(tmp_path / "gt" / "layers"), str(tmp_path / "gt" / "layers"),
                     "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scores"][0]["rgb_l1"] == 0.0 and data["scores"][0]["alpha_iou"] == 1.0
    assert qil_main(["evaluate", str(tmp_path / "missing"), str(tmp_path / "gt" / "layers")]) == 3
    assert "missing" in capsys.readouterr().err


def test_qil_evaluate_accepts_a_psd(tmp_path, psd_cases, capsys):
    src = psd_cases / "layers" / "src.psd"
    assert qil_main(["evaluate", str(src), str(src), "--merges", "0"]) == 0
    assert "1.0000" in capsys.readouterr().out


def _canvas(alpha, colour):
    px = np.zeros(alpha.shape + (4,), np.uint8)
    px[..., :3] = colour
    px[..., 3] = (alpha * 255).astype(np.uint8)
    return px


def test_failure_figures_score_completion_residue_and_order():
    from qil_editor.evaluation.failures import failure_figures, summarise_failures
    h, w = 40, 60
    bg = _canvas(np.ones((h, w)), (200, 200, 200))
    low = np.zeros((h, w))
    low[5:25, 5:35] = 1.0      # a card ...
    high = np.zeros((h, w))
    high[15:35, 25:55] = 1.0   # ... partly under another
    truth = [bg, _canvas(low, (255, 0, 0)), _canvas(high, (0, 0, 255))]
    kinds = ["background", "shape:rect", "shape:rect"]
    perfect = failure_figures(truth, truth, kinds)
    assert perfect.completion == [("shape:rect", 1.0)]
    assert perfect.residue_p99 == 0.0
    assert (perfect.order_right, perfect.order_pairs, perfect.order_merged) == (1, 1, 0)
    # the covered corner missing, a red ghost left in the background, the order swapped
    bitten = low * (1 - high)
    ghost = bg.copy()
    ghost[5:25, 5:35, :3] = (230, 180, 180)
    pred = [ghost, _canvas(high, (0, 0, 255)), _canvas(bitten, (255, 0, 0))]
    bad = failure_figures(pred, truth, kinds)
    (kind, iou), = bad.completion
    assert iou == pytest.approx(bitten.sum() / low.sum(), abs=1e-6)
    assert bad.residue_p99 == 30.0  # max over RGB of |230-200|, |180-200|
    assert (bad.order_right, bad.order_pairs) == (0, 1)
    # both objects in one layer: merged, not counted as right or wrong
    both = np.maximum(low, high)
    merged = failure_figures([bg, _canvas(both, (0, 0, 255))], truth, kinds)
    assert (merged.order_pairs, merged.order_merged) == (0, 1)
    s = summarise_failures([perfect, bad])
    assert s["completion"]["shape"][1:] == (1, 2)
    assert s["residue_ok"] == 1 and s["residue_n"] == 2
    assert s["order_acc"] == 0.5
    with pytest.raises(ValueError):
        failure_figures(truth, truth, kinds[:2])


def test_a_faint_shadow_is_matched_to_its_own_layer_not_the_background():
    """The background shows about as much as a faint shadow does where the shadow lies; the
    shadow's own layer is the match (it was scored against the background before)."""
    from qil_editor.evaluation.failures import failure_figures, match_layers
    h, w = 60, 80
    bg = _canvas(np.ones((h, w)), (200, 200, 200))
    card = np.zeros((h, w))
    card[10:40, 10:50] = 1.0
    shadow = np.zeros((h, w))
    shadow[14:44, 14:54] = 0.35        # the card's shape, offset, faint
    truth = [bg, _canvas(shadow, (0, 0, 0)), _canvas(card, (255, 0, 0))]
    faint = [bg, _canvas(shadow * 0.9, (0, 0, 0)), _canvas(card, (255, 0, 0))]  # a bit too faint
    assert match_layers(faint, truth) == [0, 1, 2]
    figs = failure_figures(faint, truth, ["background", "shadow", "shape:rect"])
    assert figs.completion == [("shadow", pytest.approx(0.9, abs=0.005))]


def test_hard_designs_keep_full_alphas_kinds_and_visible_objects():
    from qil_editor.evaluation.failures import visible_weights
    from qil_editor.evaluation.synthetic import generate_hard_design
    a = generate_hard_design(5003, (256, 192))
    b = generate_hard_design(5003, (256, 192))
    assert np.array_equal(a.image, b.image) and a.kinds == b.kinds
    stack = stack_from_document(a.truth).layers
    assert len(stack) == len(a.kinds) and a.kinds[0] == "background"
    assert np.abs(composite(a.truth)[..., :3].astype(int) - a.image[..., :3]).max() <= 1
    alpha = np.stack([p[..., 3] / 255.0 for p in stack])
    vis = visible_weights(alpha)
    objects = [i for i, k in enumerate(a.kinds) if k.startswith("shape:") or k in ("photo", "text")]
    assert len(objects) >= 2
    for i in objects:  # every object at least half visible, so it can be scored
        assert vis[i].sum() >= 0.45 * alpha[i].sum()
    hidden = [(alpha[i] - vis[i]).sum() / alpha[i].sum() for i in objects]
    assert max(hidden) > 0.05  # and some are really covered (full alpha kept under others)

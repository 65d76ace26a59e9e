"""Shadow bands in the classical decomposer, round 18 of issue 14: a disc's soft drop shadow
that falls on a striped card and runs off it over the background is no part of the card, and
lies over a shape it darkens; a shadow's own tapering end stays in it. Fails on the engine
before the behaviour it names."""

import cv2
import numpy as np
from PIL import Image

from classical_design import H, W, best_iou, box, decompose, design, ellipse, segmentation
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.classical import ClassicalDecomposer
from qil_editor.evaluation.datasets import stack_from_document
from qil_editor.engines.classical.ordering import order_regions


def _striped_card_under_a_disc():
    """A blue card with dark stripes (no flat core: its region grows from the rim pixels), a
    violet disc over its right edge casting a soft black shadow down and right, across the
    card and off it over a pink background."""
    yy = np.arange(H, dtype=np.float32)[:, None]
    stripes = 0.5 + 0.5 * np.sin(yy * 2 * np.pi / 7.0)
    card = np.stack([0.15 + 0.1 * stripes, 0.2 + 0.15 * stripes, 0.6 + 0.3 * stripes], -1)
    card = np.broadcast_to(card, (H, W, 3))
    disc = ellipse(190, 80, 50, 50)
    shadow = cv2.GaussianBlur(np.roll(np.roll(disc, 8, 0), 6, 1), (0, 0), 3.0) * 0.55
    return design((0.91, 0.66, 0.63), (card, box(30, 30, 160, 150), "Card"),
                  ((0, 0, 0), shadow, "Shadow"), ((0.38, 0.16, 0.8), disc, "Disc"))


def test_a_shadow_band_running_off_a_striped_card_is_not_the_card():
    """Under the dark shadow the card's edge barely steps, so the band of shadow beside the
    disc joined the card's region and ran off it round the disc: the card's layer carried a
    crescent, was stacked over the disc and left uncut under it. The band is cut off as the
    disc's shadow; the card comes out whole, under the disc."""
    image, truth = _striped_card_under_a_disc()
    _, layers = decompose(image, len(truth))
    card = truth[1][..., 3].astype(np.float32) / 255.0
    mine = max(layers[1:], key=lambda lay: float(np.minimum(lay[..., 3] / 255.0, card).sum()))
    beside = mine[:, 164:, 3].astype(np.float32) / 255.0  # right of the card's edge (x = 160)
    assert beside.sum() < 20, beside.sum()
    assert best_iou(layers, card) >= 0.97, best_iou(layers, card)


def test_a_shadow_that_darkens_a_shape_lies_on_it():
    """A shadow (label 2) meeting a shape (label 1) whose pixels along their shared outline
    are its colour darkened towards the shadow's, fading inwards: the shadow falls on the
    shape, not under it (a shape lying on a shadow keeps its colour to its edge)."""
    owner = np.zeros((H, W), np.int32)
    owner[60:180, 40:160] = 1
    owner[60:180, 160:172] = 2
    rgb = np.empty((H, W, 3), np.float32)
    rgb[:] = (0.9, 0.66, 0.63)
    rgb[60:180, 40:160] = (0.5, 0.06, 0.52)
    dist = np.clip(160 - np.arange(40, 160, dtype=np.float32), 0, None)
    dark = 0.5 * np.exp(-dist / 2.0)  # the shadow fading into the shape
    rgb[60:180, 40:160] *= (1.0 - dark)[None, :, None]
    rgb[60:180, 160:172] *= 0.5
    seg = segmentation(owner, ["shape", "shadow"], [(0.5, 0.06, 0.52), (0.0, 0.0, 0.0)], sharp=[0.9, 0.1])
    assert order_regions(seg, rgb).rank()[2] > order_regions(seg, rgb).rank()[1]
    # without the image to read, a shape touching a shadow lies over it
    assert order_regions(seg).rank()[1] > order_regions(seg).rank()[2]


def test_a_shadow_keeps_its_own_tapering_end(sample_poster):
    """The poster's drop shadow tapers to a thin crescent past the disc. Cut off its own
    shadow as a "tail", that end was fitted apart and showed as a dark line across the
    shadow's layer (alpha stepping 55 levels between neighbours, 27 at most elsewhere)."""
    image = np.asarray(Image.open(sample_poster).convert("RGBA"))
    doc = ClassicalDecomposer().decompose(image, DecomposeOptions())
    shadows = [lay for lay, meta in zip(stack_from_document(doc).layers, doc.layers)
               if meta.name.startswith("Shadow")]
    assert len(shadows) == 1
    alpha = shadows[0][..., 3].astype(np.float32)
    step = max(np.abs(np.diff(alpha, axis=0)).max(), np.abs(np.diff(alpha, axis=1)).max())
    assert step < 40, step

"""Drop shadows in the classical decomposer, round 18 of issue 14: a picture's drop shadow on
a flat page that segmentation left as slivers is the picture's own shadow. Fails on the
engine before the behaviour it names."""

import cv2
import numpy as np

from classical_design import H, W, box, photo, segmentation
from qil_editor.engines.classical.colour import neighbour_gradient, rgb_to_lab
from qil_editor.engines.classical.overlays import carve_overlays

PAGE = np.array((0.2, 0.75, 0.25), np.float32)


def _cast(alpha, dx, dy, sigma, strength):
    """A drop shadow's alpha: the caster's, offset and blurred."""
    return strength * cv2.GaussianBlur(np.roll(np.roll(alpha, dy, axis=0), dx, axis=1), (0, 0), sigma)


def _carve(rgb, owner, kinds, colours):
    lab = rgb_to_lab(rgb)
    return carve_overlays(segmentation(owner, kinds, colours), rgb, lab, neighbour_gradient(lab))


def test_a_pictures_shadow_left_as_slivers_below_it_is_its_shadow():
    """A picture on a green page casting its shadow nearly straight down: only a band a few
    pixels high shows below it, which segmentation left as a thin sliver (the dense rows)
    and a flat crumb (the faint tail). Left so, they went into another shadow's layer or
    took a layer of their own; found from the picture's shape, offset and blurred, they are
    one shadow region that the picture casts."""
    pic = box(60, 60, 200, 150)
    sh = _cast(pic, 2, 5, 2.5, 0.45) * (1 - pic)
    rgb = (PAGE * (1 - sh)[..., None]) * (1 - pic)[..., None] + photo(4) * pic[..., None]
    owner = np.zeros((H, W), np.int32)
    owner[pic > 0.5] = 1
    owner[(owner == 0) & (sh > 0.15)] = 2
    owner[(owner == 0) & (sh > 0.04) & (sh <= 0.15)] = 3
    band = owner >= 2
    seg = _carve(rgb.astype(np.float32), owner, ["photo", "thin", "shape"],
                 [(0.5, 0.5, 0.6), (0.1, 0.4, 0.1), (0.15, 0.6, 0.2)])
    shadows = [r for r in seg.regions if r.kind == "shadow"]
    assert len(shadows) == 1, [(r.label, r.kind, r.area) for r in seg.regions]
    assert seg.region(shadows[0].extras["caster"]).kind == "photo"
    assert (seg.owner[band] == shadows[0].label).mean() >= 0.8


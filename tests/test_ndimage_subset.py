"""The classical engine's scipy.ndimage stand-ins give SciPy's results exactly."""

import numpy as np
import pytest

from qil_editor.engines import ndimage_subset

scipy_ndimage = pytest.importorskip("scipy.ndimage")


@pytest.mark.parametrize("seed", range(6))
def test_binary_fill_holes_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 60, 2)
    for density in (0.2, 0.5, 0.8):
        mask = rng.random((h, w)) < density
        ours = ndimage_subset.binary_fill_holes(mask)
        assert ours.dtype == bool and np.array_equal(ours, scipy_ndimage.binary_fill_holes(mask))
    ring = np.zeros((9, 9), np.uint8)
    ring[2:7, 2:7] = 1
    ring[4, 4] = 0
    ring[3, 3] = 0  # a hole touching the diagonal only: still a hole with 4-connectivity
    assert np.array_equal(ndimage_subset.binary_fill_holes(ring), scipy_ndimage.binary_fill_holes(ring))
    for edge in (np.zeros((0, 5), bool), np.ones((3, 4), bool), np.zeros((3, 4), bool)):
        assert np.array_equal(ndimage_subset.binary_fill_holes(edge), scipy_ndimage.binary_fill_holes(edge))


def test_binary_fill_holes_refuses_other_ranks():
    with pytest.raises(ValueError, match="2-D"):
        ndimage_subset.binary_fill_holes(np.zeros((2, 2, 2), bool))


@pytest.mark.parametrize("seed", range(6))
def test_find_objects_matches_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    labels = rng.integers(0, 12, (rng.integers(1, 40), rng.integers(1, 40))).astype(np.int32)
    labels[labels == 5] = 0  # a label that does not occur
    for max_label in (0, 3, 11, 15):
        assert ndimage_subset.find_objects(labels, max_label=max_label) == \
            scipy_ndimage.find_objects(labels, max_label=max_label)
    assert ndimage_subset.find_objects(np.zeros((3, 3), np.int64)) == scipy_ndimage.find_objects(np.zeros((3, 3), np.int64))

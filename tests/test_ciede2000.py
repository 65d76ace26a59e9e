"""The engine's own CIEDE2000 gives scikit-image's numbers bit for bit (it replaces it so the
lite build can leave scikit-image and scipy.linalg out)."""

import numpy as np
import pytest

from qil_editor.engines.ciede2000 import deltaE_ciede2000

skimage_color = pytest.importorskip("skimage.color")


@pytest.mark.parametrize("shape", [(3,), (1, 3), (17, 3), (4, 5, 3)])
def test_identical_to_scikit_image(shape):
    rng = np.random.default_rng(11)
    lab1 = np.concatenate([rng.uniform(0, 100, shape[:-1] + (1,)), rng.uniform(-128, 127, shape[:-1] + (2,))], -1)
    lab2 = np.concatenate([rng.uniform(0, 100, shape[:-1] + (1,)), rng.uniform(-128, 127, shape[:-1] + (2,))], -1)
    lab2.reshape(-1, 3)[0] = lab1.reshape(-1, 3)[0]  # a zero difference
    lab2.reshape(-1, 3)[-1, 1:] = 0.0  # a grey: chroma 0, the hue special cases
    ours = deltaE_ciede2000(lab1, lab2)
    theirs = skimage_color.deltaE_ciede2000(lab1, lab2)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


def test_reference_pairs_from_sharma():
    """Two pairs from Sharma, Wu and Dalal's CIEDE2000 test data (pairs 1 and 17)."""
    pairs = np.array([[50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485]])
    assert deltaE_ciede2000(pairs[0], pairs[1]) == pytest.approx(2.0425, abs=1e-4)
    assert deltaE_ciede2000([50.0, 2.5, 0.0], [73.0, 25.0, -18.0]) == pytest.approx(27.1492, abs=1e-4)

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
PSD_CASES = ROOT / "tests" / "data" / "psd-cases"  # real PSDs from ag-psd's test suite (MIT, LICENSE-ag-psd)
SAMPLES = ROOT / "resources" / "samples"


def pytest_configure(config):
    """Fail early when the tests would exercise another checkout's code or lack their data."""
    import qil_editor

    pkg = Path(qil_editor.__file__).resolve().parent
    if pkg != ROOT / "qil_editor":
        raise pytest.UsageError(f"tests in {ROOT} would import qil_editor from {pkg}; "
                                f"run them from the repository root")
    if not PSD_CASES.is_dir():
        raise pytest.UsageError(f"test data missing: {PSD_CASES}")


@pytest.fixture
def psd_cases() -> Path:
    if not PSD_CASES.is_dir():
        pytest.fail(f"test data missing: {PSD_CASES}")
    return PSD_CASES


@pytest.fixture
def sample_poster() -> Path:
    return SAMPLES / "poster.png"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random tiny Qwen-Image-Layered in the diffusers layout, built once per test session."""
    from qil_editor.engines.tiny_models import make_tiny_layered_model

    return make_tiny_layered_model(tmp_path_factory.mktemp("models") / "Qwen-Image-Layered-tiny")

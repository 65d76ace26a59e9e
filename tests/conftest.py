import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
PSD_CASES = (ROOT / ".." / "shared" / "testdata" / "psd-cases").resolve()
SAMPLES = ROOT / "resources" / "samples"


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

"""The one job runner (engines.jobs.Job) the CLI and the GUI share: kinds, states, one error mapping.

Fast: stand-in engines, no torch.
"""

import numpy as np
import pytest

from qil_editor.document import Document, Layer
from qil_editor.engines.base import DecomposeOptions, EngineRegistry
from qil_editor.engines.edit.redecompose import LayerSplit
from qil_editor.engines.jobs import (DecomposeRequest, JobKind, JobState, decompose_job, edit_job, split_job,
                                     user_error)
from qil_editor.errors import CancelledError, ModelError, OutOfMemoryError, UsageError


class Halves:
    """Splits any image into a left and a right layer."""

    name, label = "halves", "Halves (test)"

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail

    def availability(self, options=None):
        from qil_editor.engines.base import Availability

        return Availability(True)

    def decompose(self, image, options, progress=None, cancel=None):
        if self.fail is not None:
            raise self.fail
        h, w = image.shape[:2]
        left, right = image.copy(), image.copy()
        left[:, w // 2:, 3] = 0
        right[:, :w // 2, 3] = 0
        return Document(w, h, [Layer(left, name="L"), Layer(right, name="R")])


def registry(engine) -> EngineRegistry:
    reg = EngineRegistry()
    reg.register(engine.name, lambda: engine)
    return reg


def rgba(h=8, w=10):
    image = np.full((h, w, 4), 200, np.uint8)
    return image


def test_each_kind_runs_and_learns_the_engine():
    request = DecomposeRequest("auto", DecomposeOptions(layers=2))
    job = decompose_job(registry(Halves()), request, rgba())
    doc = job.run()
    assert job.kind == JobKind.DECOMPOSE and job.state == JobState.DONE and len(doc) == 2
    assert job.engine_label == "Halves (test)" and job.request is request

    layer = Layer(rgba(6, 6), name="Logo", x=3, y=4, opacity=0.5)
    split = split_job(registry(Halves()), DecomposeRequest("halves", DecomposeOptions(layers=2)), layer)
    result = split.run()
    assert split.kind == JobKind.SPLIT and isinstance(result, LayerSplit)
    assert [ly.name for ly in result.new_layers] == ["Logo 1", "Logo 2"]
    assert all((ly.x, ly.y, ly.opacity) == (3, 4, 0.5) for ly in result.new_layers)

    class Editor:
        name, label = "qwen-edit", "Qwen-Image-Edit"

        def edit_layer(self, layer, options, progress, cancel):
            return ("edited", layer.name, options)

    edit = edit_job(Editor(), layer, "opts")
    assert edit.run() == ("edited", "Logo", "opts") and edit.kind == JobKind.EDIT
    assert edit.engine_label == "Qwen-Image-Edit"
    with pytest.raises(RuntimeError, match="runs once"):
        edit.run()


@pytest.mark.parametrize("raised, expected, words", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), OutOfMemoryError, "ran out of memory"),
    (MemoryError(), OutOfMemoryError, "ran out of memory"),
    (ValueError("shapes do not match"), ModelError, "while decomposing the image: ValueError: shapes"),
    (UsageError("Bad option."), UsageError, "Bad option."),
])
def test_failures_become_one_kind_of_message(raised, expected, words):
    job = decompose_job(registry(Halves(raised)), DecomposeRequest("halves", DecomposeOptions()), rgba())
    with pytest.raises(expected) as info:
        job.run()
    assert words in str(info.value) and job.state == JobState.FAILED and job.error is info.value
    assert job.result is None


def test_cancel_and_ctrl_c_are_cancelled_states():
    job = decompose_job(registry(Halves()), DecomposeRequest("halves", DecomposeOptions()), rgba())
    job.cancel()
    with pytest.raises(CancelledError):
        job.run()
    assert job.state == JobState.CANCELLED and job.engine_label == "halves"  # nothing was resolved
    interrupted = decompose_job(registry(Halves(KeyboardInterrupt())), DecomposeRequest("halves", DecomposeOptions()),
                                rgba())
    with pytest.raises(CancelledError):
        interrupted.run()
    assert interrupted.state == JobState.CANCELLED
    assert isinstance(user_error(KeyboardInterrupt(), JobKind.EDIT, "x"), CancelledError)
    assert "while editing the layer" in str(user_error(TypeError("boom"), JobKind.EDIT, "Qwen-Image-Edit"))

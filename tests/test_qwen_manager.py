"""One memory budget for the decompose and edit pipelines, on simulated GPUs (no torch run).

The simulated device reports what a real one would: its free memory is the
total minus the weights our own resident pipelines hold, and that memory is
reported as this process's own (``torch.cuda.memory_reserved``).
"""

from pathlib import Path

import pytest

from qil_editor.engines.diffusion.device import DEFAULT_PARAMS, GB, DeviceInfo
from qil_editor.engines.diffusion.loader import LoadedPipeline, LoadKey
from qil_editor.engines.diffusion.locate import ModelFolder
from qil_editor.engines.diffusion.manager import ModelManager, shared_manager
from qil_editor.engines.edit.locate import SPEC as EDIT_SPEC
from qil_editor.engines.qwen.locate import SPEC as LAYERED_SPEC
from qil_editor.errors import OutOfMemoryError

LAYERED = ModelFolder(Path("/models/Qwen-Image-Layered"), "test", dict(DEFAULT_PARAMS))
EDIT = ModelFolder(Path("/models/Qwen-Image-Edit-2509"), "test", dict(DEFAULT_PARAMS))


class SimulatedGpu:
    """A GPU of ``total_gb``; ``other_gb`` is used by other processes."""

    def __init__(self, manager_ref: list, total_gb: float, other_gb: float = 0.0) -> None:
        self.manager_ref, self.total, self.other = manager_ref, int(total_gb * GB), int(other_gb * GB)
        self.probes = 0

    def __call__(self, requested: str) -> DeviceInfo:
        self.probes += 1
        manager = self.manager_ref[0]
        ours = sum(manager.resident(o).plan.weights_bytes for o in manager.owners)
        free = max(0, self.total - self.other - ours)
        return DeviceInfo("cuda", 0, "Simulated GPU", self.total, free, True, 512 * GB, 400 * GB, (9, 0), ours)


def fake_loader(spec, pipeline_class, folder, info, plan):
    return LoadedPipeline(object(), LoadKey(folder.key, info.torch_device, plan.dtype, plan.mode), info, plan,
                          folder, 0.0, spec)


def make(total_gb: float, other_gb: float = 0.0) -> tuple[ModelManager, SimulatedGpu]:
    ref: list = []
    gpu = SimulatedGpu(ref, total_gb, other_gb)
    manager = ModelManager(probe=gpu, loader=fake_loader)
    ref.append(manager)
    return manager, gpu


def acquire(manager, owner, folder=LAYERED, **kw):
    spec = LAYERED_SPEC if folder is LAYERED else EDIT_SPEC
    return manager.acquire(owner, spec, spec.pipeline_class, folder, **kw)


def test_a_resident_pipeline_keeps_full_mode_on_80_gb():
    """Defect 1: run 2 saw its own 58 GB as used, unloaded and reloaded in a smaller mode."""
    manager, gpu = make(80)
    first = acquire(manager, "decompose")
    assert first.plan.mode == "full"
    for resolution, layers in ((640, 4), (1024, 8), (640, 4)):
        assert acquire(manager, "decompose", resolution=resolution, layers=layers) is first
    assert manager.events == [("load", "decompose")] and gpu.probes == 1  # planned once per load
    # a settings change re-plans, and our own resident weights count as ours
    info = gpu("cuda")
    assert info.free_bytes < 30 * GB and info.plannable_bytes == 80 * GB
    again = acquire(manager, "decompose", dtype="bf16")
    assert again is not first and again.plan.mode == "full"


def test_other_processes_memory_is_not_ours():
    manager, _ = make(80, other_gb=30)
    assert acquire(manager, "decompose").plan.mode == "model-offload"


def test_loading_the_edit_model_unloads_the_decomposer_first():
    """Defect 4: both 20 B pipelines stayed loaded; nothing made room for the other."""
    manager, _ = make(80)
    acquire(manager, "decompose")
    edit = acquire(manager, "edit", folder=EDIT)
    assert manager.events == [("load", "decompose"), ("unload", "decompose"), ("load", "edit")]
    assert edit.plan.mode == "full" and manager.owners == ["edit"]
    acquire(manager, "decompose")  # and the other way round
    assert manager.events[-2:] == [("unload", "edit"), ("load", "decompose")]


def test_both_pipelines_stay_when_they_fit_together():
    manager, _ = make(141)
    acquire(manager, "decompose")
    edit = acquire(manager, "edit", folder=EDIT)
    assert manager.owners == ["decompose", "edit"] and edit.plan.mode == "full"
    assert ("unload", "decompose") not in manager.events


def test_after_out_of_memory_the_next_plan_is_smaller():
    manager, _ = make(80)
    assert acquire(manager, "decompose").plan.mode == "full"
    manager.out_of_memory("decompose")
    assert manager.owners == []
    assert acquire(manager, "decompose").plan.mode == "model-offload"
    # a mode chosen by the user is not second-guessed
    manager.out_of_memory("decompose")
    assert acquire(manager, "decompose", memory="full").plan.mode == "full"


def test_engines_share_one_manager_and_give_memory_back_when_dropped(tiny_model_dir):
    import gc

    from qil_editor.engines.edit import QwenLayerEditor
    from qil_editor.engines.qwen import QwenDecomposer

    decomposer, editor = QwenDecomposer(), QwenLayerEditor()
    assert decomposer.manager is editor.manager is shared_manager()
    manager = ModelManager(loader=lambda *a: fake_loader(*a))
    engine = QwenDecomposer(manager=manager)
    engine.acquire(str(tiny_model_dir), device="cpu", memory="auto", dtype=None, resolution=640, layers=2)
    assert manager.owners == [engine.owner] and engine.load_count == 1
    del engine
    gc.collect()
    assert manager.owners == []


def test_an_engine_drops_its_pipeline_after_out_of_memory():
    from qil_editor.engines.qwen import QwenDecomposer

    manager, _ = make(80)
    engine = QwenDecomposer(manager=manager)
    acquire(manager, engine.owner)
    with pytest.raises(OutOfMemoryError):
        with engine.running():
            raise OutOfMemoryError("Simulated GPU ran out of memory.")
    assert engine.loaded is None

"""Task losses take typed Targets: on a fixed batch each task's loss is the number its dict-based loss gave
(recorded before the batch was typed), Targets.of builds the tensors the loaders built, and importing the
module does not import torch (the tasks package is resolved while configs load)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from mmdlm.model.fusion import ModelOutput
from mmdlm.tasks.registry import get_task
from mmdlm.tasks.targets import Targets

#: the losses of the batch below through `task.loss(out, {"time": ..., "event": ..., "label": ...}, ties)`
DICT_BASED = {"cox_efron": 2.0435702800750732, "cox_breslow": 2.072314977645874, "5yss": 1.4821386337280273,
              "discrete": 1.9859858751296997}


def _outputs() -> tuple[ModelOutput, ModelOutput, ModelOutput]:
    g = torch.Generator().manual_seed(7)
    att = torch.zeros(8, 4)
    return tuple(ModelOutput(torch.randn(*shape, generator=g), att) for shape in ((8,), (8, 2), (8, 4)))


def test_losses_on_targets_equal_the_dict_based_numbers() -> None:
    # two events tied at 12 months (Efron and Breslow differ), one patient without a 5-year label
    targets = Targets.of([5.0, 12.0, 12.0, 30.0, 48.0, 61.0, 75.0, 90.0], [1, 1, 1, 1, 1, 0, 1, 0],
                         [1, 1, None, 1, 1, 0, 0, 0])
    one, two, four = _outputs()
    got = {
        "cox_efron": get_task("cox").loss(one, targets, "efron"),
        "cox_breslow": get_task("cox").loss(one, targets, "breslow"),
        "5yss": get_task("5yss").loss(two, targets),
        "discrete": get_task("discrete", cuts=[12.0, 40.0, 70.0]).loss(four, targets),
    }
    for name, want in DICT_BASED.items():
        assert got[name].dtype == torch.float32
        assert float(got[name]) == pytest.approx(want, rel=1e-6, abs=0), name


def test_targets_of_builds_the_loaders_tensors() -> None:
    t = Targets.of([3.5, 70.0], [1, 0], [None, 0])
    assert t.time.dtype == torch.float32 and t.event.dtype == torch.float32 and t.label.dtype == torch.long
    assert t.time.tolist() == [3.5, 70.0] and t.event.tolist() == [1.0, 0.0] and t.label.tolist() == [-1, 0]
    assert len(t) == 2
    moved = t.to("meta")
    assert [x.device.type for x in (moved.time, moved.event, moved.label)] == ["meta"] * 3


def test_the_targets_module_imports_no_torch() -> None:
    code = "import sys, mmdlm.tasks.targets, mmdlm.tasks.registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

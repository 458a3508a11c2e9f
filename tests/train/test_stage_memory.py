"""A finished stage's optimizer state (held in Lightning's reference cycles) is freed before the next stage
of the fold starts, so the next stage reuses its memory."""

from __future__ import annotations

import sys
import weakref
from pathlib import Path

from mmdlm.data.toy import planted_records
from mmdlm.train import staged
from mmdlm.train.module import SurvivalModule

sys.path.insert(0, str(Path(__file__).parent))
from tiny import tiny_config  # noqa: E402


def test_each_stage_starts_after_the_previous_stages_optimizers_are_freed(tmp_path, monkeypatch) -> None:
    cfg = tiny_config(24, 1, epochs_unimodal=1, epochs_multimodal=1, accelerator="cpu")
    records = planted_records(n=12, size=32, images_per_patient=2, n_genomic=4, seed=3)
    optimizers: list[weakref.ref] = []
    alive_at_start: list[int] = []
    make_optimizer = SurvivalModule.configure_optimizers
    fit_stage = staged.fit_stage

    def recorded_optimizer(self):
        opt = make_optimizer(self)
        optimizers.append(weakref.ref(opt))
        return opt

    def counting_fit_stage(*args, **kwargs):
        alive_at_start.append(sum(ref() is not None for ref in optimizers))
        return fit_stage(*args, **kwargs)

    monkeypatch.setattr(SurvivalModule, "configure_optimizers", recorded_optimizer)
    monkeypatch.setattr(staged, "fit_stage", counting_fit_stage)
    staged.run_stages(cfg, "cox", records[:8], records[8:], tmp_path, ("histology",))
    assert len(optimizers) == 3  # histo_10x, histo_5x, then histology from them
    assert alive_at_start == [0, 0, 0]

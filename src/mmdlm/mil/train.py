"""Fitting a MilNet on bags (AdamW, its Task's loss) and its per-patient predictions (the Task's score)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from mmdlm.data.threads import torch_threads
from mmdlm.mil.bags import BagRecord, collate_bags
from mmdlm.mil.config import MilConfig
from mmdlm.mil.model import MilNet
from mmdlm.modalities import MODALITIES
from mmdlm.tasks.base import Task
from mmdlm.tasks.targets import Targets

ATT_COLUMNS = tuple(f"att_{m}" for m in MODALITIES)


def trainable(records: list[BagRecord], active: tuple[str, ...], task: Task) -> list[BagRecord]:
    """The patients a stage learns from: at least one active modality and the task's label."""
    return [r for r in records if r.has_any(active) and task.eligible_record(r)]


def targets(records: list[BagRecord]) -> Targets:
    """What a Task's loss reads of a batch of patients: time, event, and the 5-year label."""
    return Targets.of([r.time for r in records], [r.event for r in records], [r.label_5y for r in records])


def fit(
    model: MilNet,
    records: list[BagRecord],
    active: tuple[str, ...],
    cfg: MilConfig,
    epochs: int,
    n_genomic: int,
    dims: dict[str, int],
    seed: int,
) -> int:
    """Train `model` in place for `epochs` over shuffled batches of patients; returns the samples seen."""
    with torch_threads(cfg.cpu_threads):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        data = trainable(records, active, model.task)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        seen = 0
        model.train()
        for _ in range(epochs):
            order = rng.permutation(len(data))
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                if len(idx) < 2:  # a partial likelihood or batch of one patient says nothing
                    continue
                batch = [data[i] for i in idx]
                bags = collate_bags(batch, active, n_genomic, dims, rng, cfg.max_instances)
                loss = model.task.loss(model(bags).model, targets(batch))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                seen += len(batch)
        return seen


@torch.inference_mode()
def predict(
    model: MilNet, records: list[BagRecord], active: tuple[str, ...], n_genomic: int, dims: dict[str, int]
) -> pd.DataFrame:
    """patient_id, the task's score column, att_* per patient with at least one active modality (every
    instance)."""
    model.eval()
    column = model.task.score_column
    rows = []
    for r in records:
        if not r.has_any(active):
            continue
        out = model(collate_bags([r], active, n_genomic, dims)).model
        att = out.attention[0].float().numpy()
        rows.append(
            {
                "patient_id": r.patient_id,
                column: float(model.task.score(out)[0]),
                **{c: float(a) for c, a in zip(ATT_COLUMNS, att, strict=True)},
            }
        )
    return pd.DataFrame(rows, columns=["patient_id", column, *ATT_COLUMNS])

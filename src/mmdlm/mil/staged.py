"""The staged protocol for the MIL family: each modality alone, then every fused configuration initialised
from those stages' branches (the end-to-end family's plan), trained per fold on the feature stores."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from mmdlm.mil.bags import BagRecord, feature_dims
from mmdlm.mil.model import MilNet
from mmdlm.mil.saved import MODEL_FILE, save_model, training_origin
from mmdlm.mil.train import fit, predict
from mmdlm.modalities import CONFIGURATIONS
from mmdlm.tasks.base import Task
from mmdlm.tasks.registry import get_task

log = logging.getLogger("mmdlm.mil")

def n_genomic(records: Sequence[BagRecord]) -> int:
    """Length of the genomic vector (0 when no patient has one)."""
    from mmdlm.data.records import n_genomic as n_gen

    return n_gen(list(records))


def build_mil(cfg, task: str | Task, dims: dict[str, int], n_gen: int) -> MilNet:
    """A MilNet from the config (model.width, model.dropout, mil.attention_dim)."""
    return MilNet(dims, n_gen, task, cfg.model.width, cfg.mil.attention_dim, cfg.model.dropout)


def train_stages(
    cfg,
    task: Task,
    train: list[BagRecord],
    dims: dict[str, int],
    n_gen: int,
    configurations: Sequence[str],
    out_dir: Path | None = None,
) -> dict[str, MilNet]:
    """Every stage of the plan in order (`task` already fitted on `train`); returns configuration -> trained
    model (each saved under out_dir/<configuration>/mil_model.pt when out_dir is given)."""
    from mmdlm.train.staged import plan, unimodal_configuration

    models: dict[str, MilNet] = {}
    for kind, conf, init_mods in plan(configurations):
        torch.manual_seed(cfg.seed)  # the initial weights depend on the seed only, not on what ran before
        model = build_mil(cfg, task, dims, n_gen)
        for m in init_mods:  # the fused model starts from each modality's own stage
            model.branch(m).load_state_dict(models[unimodal_configuration(m)].branch(m).state_dict())
        epochs = cfg.mil.epochs_unimodal if kind == "unimodal" else cfg.mil.epochs_multimodal
        fit(model, train, tuple(CONFIGURATIONS[conf]), cfg.mil, epochs, n_gen, dims, cfg.seed)
        models[conf] = model
        if out_dir is not None:
            save_model(Path(out_dir) / conf / MODEL_FILE, model, conf, dims, n_gen, training_origin(train))
    return models


def train_fold(
    cfg, task: str, train: list[BagRecord], val: list[BagRecord], out_dir: Path, configurations: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """The cross-validation runner's per-fold trainer for model.family mil: per configuration the validation
    predictions per patient (patient_id, the task's score column, att_*) of the patients with its label."""
    dims = feature_dims(list(train) + list(val))
    n_gen = n_genomic(list(train) + list(val))
    fitted = get_task(task).fitted(list(train))  # e.g. the discrete task's time bins, from training only
    models = train_stages(cfg, fitted, list(train), dims, n_gen, configurations, out_dir)
    records = [r for r in val if fitted.eligible_record(r)]
    return {
        conf: predict(models[conf], records, tuple(CONFIGURATIONS[conf]), n_gen, dims)
        for conf in dict.fromkeys(configurations)
    }

"""One patient's model inputs for explanation (mmdlm.data's fixed evaluation sample), and which patients and
checkpoint a run's explanation uses."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmdlm.data.records import PatientRecord
from mmdlm.data.samples import EvalSamples, collate
from mmdlm.errors import MmdlmError
from mmdlm.modalities import IMAGE_MODALITIES, most_fused
from mmdlm.runlayout import RunLayout
from mmdlm.tasks.registry import get_task

log = logging.getLogger("mmdlm.explain")

def patient_inputs(
    record: PatientRecord,
    active: Sequence[str],
    image_size: int,
    n_genomic: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The patient's first fixed evaluation combination (one image per present active modality) as a batch
    of 1: normalised image tensors, genomics, and the mask [1, M]."""
    sample = EvalSamples([record], tuple(active), image_size, 1, seed)[0]
    batch = collate([sample], image_size, n_genomic).to(device)
    return batch.inputs(), batch.mask


def patient_scores(predictions: pd.DataFrame, task: str, configuration: str) -> pd.Series:
    """Mean score (risk or p_dead_5y) per patient of one task and configuration, highest first."""
    col = get_task(task).score_column
    part = predictions[(predictions["task"] == task) & (predictions["configuration"] == configuration)]
    scores = pd.to_numeric(part[col], errors="coerce").groupby(part["patient_id"].astype(str)).mean().dropna()
    return scores.sort_values(ascending=False, kind="stable")


def ranking_scores(predictions: pd.DataFrame, task: str, configuration: str) -> pd.Series:
    """Per patient the score the gallery ranks by, highest first: Cox risks z-scored within each fold (every
    fold model has its own risk scale), 5YSS probabilities as they are (one scale)."""
    col = get_task(task).score_column
    part = predictions[(predictions["task"] == task) & (predictions["configuration"] == configuration)]
    part = part.assign(patient_id=part["patient_id"].astype(str), s=pd.to_numeric(part[col], errors="coerce"))
    part = part.dropna(subset=["s"])
    if get_task(task).per_model_scale and "fold" in part.columns:
        g = part.groupby("fold")["s"]
        sd = g.transform("std").replace(0.0, np.nan)
        part = part.assign(s=((part["s"] - g.transform("mean")) / sd).fillna(0.0))
    return part.groupby("patient_id")["s"].mean().sort_values(ascending=False, kind="stable")


def patient_folds(predictions: pd.DataFrame | None, run_dir: Path, task: str, configuration: str
                  ) -> dict[str, int]:
    """patient -> the fold in which it was a validation patient (predictions.csv, else RUN/folds.json)."""
    from mmdlm.evaluate.folds import read_folds

    out = {str(p): int(f) for p, f in read_folds(RunLayout(run_dir).folds_json)["tasks"].get(task, {})
           .get("folds", {}).items()}
    if predictions is not None and "fold" in predictions.columns:
        part = predictions[(predictions["task"] == task) & (predictions["configuration"] == configuration)]
        part = part.dropna(subset=["fold"])
        out.update({str(p): int(f) for p, f in zip(part["patient_id"], part["fold"], strict=True)})
    return out


def fold_scores(predictions: pd.DataFrame | None, task: str, configuration: str, fold: int) -> np.ndarray:
    """The validation scores of one fold model (its own scale: the Cox markup's risk quantiles come from
    these, never from the run's patients pooled over fold models)."""
    if predictions is None or "fold" not in predictions.columns:
        return np.array([], dtype=np.float64)
    part = predictions[(predictions["task"] == task) & (predictions["configuration"] == configuration)
                       & (pd.to_numeric(predictions["fold"], errors="coerce") == fold)]
    return pd.to_numeric(part[get_task(task).score_column], errors="coerce").dropna().to_numpy(np.float64)


def fold_checkpoint(run_dir: Path, task: str, configuration: str, fold: int) -> Path:
    """RUN/cv/<task>/fold_<k>/<configuration>/model.ckpt (MmdlmError naming it when absent)."""
    path = RunLayout(run_dir).fold_dir(task, fold) / configuration / "model.ckpt"
    if not path.is_file():
        raise MmdlmError(f"no checkpoint of fold {fold} (the fold that validated this patient)", file=path)
    return path


def extremes(scores: pd.Series, k: int) -> tuple[list[str], list[str]]:
    """The k highest- and k lowest-scoring patients (disjoint; fewer when the run has fewer than 2k)."""
    ids = list(scores.index)
    top = ids[:k]
    bottom = [p for p in reversed(ids) if p not in top][:k]
    return top, bottom


def best_fold(run_dir: Path, task: str, configuration: str) -> int | None:
    """The fold with the best primary metric (metrics.json) for a task and configuration; None if unknown."""
    path = RunLayout(run_dir).metrics_json
    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text())["tasks"][task]
        primary = entry.get("primary_metric") or get_task(task).primary_metric
        folds = entry["configurations"][configuration]["per_fold"]
    except (KeyError, TypeError, ValueError):
        return None
    scored = [
        (f[primary], int(f["fold"])) for f in folds if f.get(primary) is not None and np.isfinite(f[primary])
    ]
    return max(scored)[1] if scored else None


def choose_checkpoint(
    run_dir: str | Path, task: str, configuration: str | None = None
) -> tuple[Path, str, int]:
    """(model.ckpt, configuration, fold): RUN/cv/<task>/fold_<k>/<configuration>/model.ckpt, the fused
    configuration unless named, the best fold by metrics.json (else the lowest fold with a checkpoint)."""
    run_dir = Path(run_dir)
    base = run_dir / "cv" / task
    if configuration is None:
        present = {p.parent.name for p in base.glob("fold_*/*/model.ckpt")}
        configuration = most_fused(sorted(present))
        if configuration is None:
            raise MmdlmError(
                f"no checkpoint of task {task} (expected cv/{task}/fold_<k>/<configuration>/model.ckpt)",
                file=run_dir,
            )
    fold = best_fold(run_dir, task, configuration)
    if fold is not None and (base / f"fold_{fold}" / configuration / "model.ckpt").is_file():
        return base / f"fold_{fold}" / configuration / "model.ckpt", configuration, fold
    found = sorted(
        base.glob(f"fold_*/{configuration}/model.ckpt"), key=lambda p: int(p.parent.parent.name[5:])
    )
    if not found:
        raise MmdlmError(f"no checkpoint of configuration {configuration}", file=base, field="configuration")
    if fold is not None:
        log.warning("best fold %d of %s/%s has no checkpoint; using %s", fold, task, configuration, found[0])
    return found[0], configuration, int(found[0].parent.parent.name[5:])


def image_modalities(active: Sequence[str]) -> tuple[str, ...]:
    """The image modalities among `active`, in MODALITIES order."""
    return tuple(m for m in IMAGE_MODALITIES if m in active)

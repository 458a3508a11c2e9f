"""Per-patient predictions of a checkpoint over the fixed Cartesian product of each patient's images."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmdlm.data.cache import ImageCache
from mmdlm.data.records import PatientRecord
from mmdlm.errors import MmdlmError
from mmdlm.model.fusion import MultimodalNet, mute
from mmdlm.tasks.registry import get_task
from mmdlm.train.checkpoints import load_model
from mmdlm.train.loaders import eval_loader
from mmdlm.train.module import ATT_COLUMNS, aggregate, scores_of


@torch.inference_mode()
def predict_model(
    model: MultimodalNet,
    active: tuple[str, ...],
    records: list[PatientRecord],
    cfg,
    n_genomic: int,
    device: str | torch.device = "cpu",
    cache: ImageCache | None = None,
) -> pd.DataFrame:
    """patient_id, risk | p_dead_5y, att_* (means over the patient's evaluation combinations)."""
    model = model.eval().to(device)
    loader = eval_loader(records, active, cfg, n_genomic, persistent=False, cache=cache)
    parts = []
    for batch in loader:
        batch = batch.to(device)
        out = model(batch.inputs(), mute(batch.mask, active))
        parts.append(
            (
                batch.index.cpu().numpy(),
                scores_of(out, model.task).cpu().numpy(),
                out.attention.float().cpu().numpy(),
            )
        )
    if not parts:
        return pd.DataFrame(columns=["patient_id", get_task(model.task).score_column, *ATT_COLUMNS])
    index, score, att = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return aggregate(index, score, att, [r.patient_id for r in records], model.task)


def align_genomics(
    records: list[PatientRecord], feature_names: Sequence[str], checkpoint: Path | str | None = None
) -> list[PatientRecord]:
    """Records whose genomic vectors are re-ordered by gene name to the model's `feature_names`.

    A cohort ingested with its own feature ranking (another top-10) hands each gene to the model's column of
    that gene; a gene the model uses but the cohort lacks is an error naming it. Records without names
    (in-memory arrays) must already have the model's length.
    """
    names = [str(n) for n in feature_names]
    out = []
    for r in records:
        if r.genomics is None:
            out.append(r)
            continue
        have = [str(n) for n in r.genomic_features]
        if not have or not names:  # unnamed vectors: the length check in predict() applies
            out.append(r)
            continue
        if len(have) != len(r.genomics):
            raise MmdlmError(f"{len(have)} feature names for a genomic vector of length {len(r.genomics)}",
                             patient=r.patient_id, field="genomics")
        missing = [n for n in names if n not in have]
        if missing:
            raise MmdlmError(f"the cohort has no genomic feature {missing[0]!r} that the model uses "
                             f"(model features: {', '.join(names)}); ingest this cohort with the training "
                             "cohort's feature list (ingest.alteration_features)",
                             file=checkpoint, patient=r.patient_id, field="genomics")
        if have == names:
            out.append(r)
            continue
        pos = [have.index(n) for n in names]
        out.append(dataclasses.replace(r, genomics=np.asarray(r.genomics, dtype=np.float32)[pos],
                                       genomic_features=tuple(names)))
    return out


def predict(checkpoint: Path, records: list[PatientRecord], cfg) -> pd.DataFrame:
    """Predictions of a saved model for `records`: patient_id, risk | p_dead_5y, att_tile_10x, att_tile_5x,
    att_radiology, att_genomics (one row per patient). Genomic vectors are matched to the model's genes by
    name (align_genomics)."""
    model, meta = load_model(checkpoint)
    names = list(meta.get("feature_names") or [])
    if names:
        records = align_genomics(records, names, checkpoint)
    sizes = {len(r.genomics) for r in records if r.genomics is not None}
    if sizes and sizes != {meta["n_genomic"]}:
        raise MmdlmError(
            f"genomic vectors of length {sorted(sizes)}, the model expects {meta['n_genomic']}",
            file=checkpoint,
            field="genomics",
        )
    if cfg.data.image_size != meta["image_size"]:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"image_size": meta["image_size"]})})
    return predict_model(model, tuple(meta["active"]), records, cfg, meta["n_genomic"])

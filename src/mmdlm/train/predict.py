"""Per-patient predictions of a checkpoint over the fixed Cartesian product of each patient's images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmdlm.data.cache import ImageCache
from mmdlm.data.records import PatientRecord
from mmdlm.errors import MmdlmError
from mmdlm.model.fusion import MultimodalNet, mute
from mmdlm.train.checkpoints import load_model
from mmdlm.train.loaders import eval_loader
from mmdlm.train.module import ATT_COLUMNS, SCORE, aggregate, batch_inputs, scores_of


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
        batch = {
            k: ({m: x.to(device) for m, x in v.items()} if isinstance(v, dict) else v.to(device))
            for k, v in batch.items()
        }
        out = model(batch_inputs(batch, False), mute(batch["mask"], active))
        parts.append(
            (
                batch["index"].cpu().numpy(),
                scores_of(out, model.task).cpu().numpy(),
                out.attention.float().cpu().numpy(),
            )
        )
    if not parts:
        return pd.DataFrame(columns=["patient_id", SCORE[model.task], *ATT_COLUMNS])
    index, score, att = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return aggregate(index, score, att, [r.patient_id for r in records], model.task)


def predict(checkpoint: Path, records: list[PatientRecord], cfg) -> pd.DataFrame:
    """Predictions of a saved model for `records`: patient_id, risk | p_dead_5y, att_tile_10x, att_tile_5x,
    att_radiology, att_genomics (one row per patient)."""
    model, meta = load_model(checkpoint)
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

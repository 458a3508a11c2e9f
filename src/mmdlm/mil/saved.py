"""A MIL fold model on disk: its weights with what rebuilds it and what an external cohort must match (the
genomic feature names, the feature stores' encoder), and its predictions for another cohort's bags."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from mmdlm.atomic import atomic_path
from mmdlm.errors import MmdlmError
from mmdlm.mil.bags import BagRecord
from mmdlm.mil.model import MilNet
from mmdlm.modalities import CONFIGURATIONS
from mmdlm.tasks.registry import get_task

MODEL_FILE = "mil_model.pt"


def training_origin(records: Sequence[BagRecord]) -> dict:
    """What an external cohort must match to be scored by models trained on `records`: the genomic feature
    names (matched by name) and the encoder identity of the feature stores."""
    return {
        "feature_names": list(next((r.genomic_features for r in records if r.genomic_features), ())),
        "encoder_key": next((r.encoder_key for r in records if r.encoder_key), ""),
    }


def save_model(
    path: Path, model: MilNet, conf: str, dims: dict[str, int], n_gen: int, origin: dict | None = None
) -> None:
    """The model's weights and what rebuilds it (with `origin`, from training_origin), written atomically."""
    meta = {
        **(origin or {}),
        "configuration": conf,
        "active": list(CONFIGURATIONS[conf]),
        "task": model.task.name,
        "task_params": model.task.params(),
        "dims": dims,
        "n_genomic": n_gen,
        "width": model.width,
        "attention_dim": model.attention_dim,
    }
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)


def load_mil_model(path: Path) -> tuple[MilNet, dict]:
    """A saved MIL fold model and its metadata (configuration, active modalities, dims, n_genomic)."""
    if not Path(path).is_file():
        raise MmdlmError("no MIL model (run `mmdlm cv` with model.family: mil)", file=path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        meta = saved["meta"]
        task = get_task(meta["task"], **meta.get("task_params", {}))
        model = MilNet(meta["dims"], meta["n_genomic"], task, meta["width"], meta["attention_dim"], 0.0)
        model.load_state_dict(saved["state_dict"])
    except MmdlmError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file, named in one line
        raise MmdlmError(f"not a readable MIL model ({exc.__class__.__name__}); rerun `mmdlm cv`",
                         file=path) from None
    return model.eval(), meta


def predict_saved(path: Path, records: list[BagRecord]) -> pd.DataFrame:
    """Predictions of a saved MIL model for another cohort's bags (patient_id, score column, att_*): the
    stores must come from the model's encoder, genomic vectors are matched to its genes by name."""
    from mmdlm.mil.train import predict
    from mmdlm.train.predict import align_genomics

    model, meta = load_mil_model(path)
    want = meta.get("encoder_key") or ""
    other = next((r for r in records if r.encoder_key and want and r.encoder_key != want), None)
    if other is not None:
        raise MmdlmError(
            "the cohort's feature stores come from another encoder than the model's training features "
            f"({other.encoder_key} vs {want}); run `mmdlm features` on it with the run's model.encoder",
            file=path, patient=other.patient_id, field="encoder_key")
    names = list(meta.get("feature_names") or [])
    if names:
        records = align_genomics(records, names, path)
    sizes = {len(r.genomics) for r in records if r.genomics is not None}
    if sizes and sizes != {meta["n_genomic"]}:
        raise MmdlmError(f"genomic vectors of length {sorted(sizes)}, the model expects {meta['n_genomic']}",
                         file=path, field="genomics")
    return predict(model, records, tuple(meta["active"]), meta["n_genomic"], meta["dims"])

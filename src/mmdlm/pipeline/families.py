"""The one place model families are registered (`model.family` -> what loads its records, trains a fold,
names and applies its saved fold models): the paper's end-to-end networks, and ABMIL over feature stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmdlm.errors import MmdlmError

#: (cfg, cohort, tiles, radiology, features) -> (records, skipped patient ids)
LoadRecords = Callable[..., tuple[list, tuple[str, ...]]]
#: per-fold trainer of the cross-validation runner (None: the end-to-end default)
TrainFold = Callable | None
#: (saved fold model, records, config) -> per-patient predictions
Predict = Callable[[Path, list, object], pd.DataFrame]


@dataclass(frozen=True)
class ModelFamily:
    """A model family: `model_file` is its fold model under RUN/cv/<task>/fold_<k>/<configuration>/;
    `load_records`, `trainer` (the runner's per-fold trainer) and `predictor` (one saved fold model on another
    cohort's records) import what they need only when called; `settings` are the config sections its fold
    predictions depend on (a change retrains the folds)."""

    name: str
    model_file: str
    load_records: LoadRecords
    trainer: Callable[[], TrainFold]
    predictor: Callable[[], Predict]
    settings: tuple[str, ...] = ("seed", "data", "model", "train")


def _stores_records(cfg, cohort, tiles, radiology, features):
    from mmdlm.data.records import load_records_with_summary

    records, loaded = load_records_with_summary(cohort, tiles, radiology, cfg)
    return records, loaded.skipped_ids


def _end_to_end_predict() -> Predict:
    from mmdlm.train.predict import predict

    return predict


def _bags_records(cfg, cohort, tiles, radiology, features):
    from mmdlm.mil.bags import load_bags

    if features is None:
        raise MmdlmError("model.family mil works on feature stores: give --features FEATS "
                         "(from `mmdlm features`)", field="model.family")
    return load_bags(cohort, features), ()


def _mil_trainer() -> TrainFold:
    from mmdlm.mil.staged import train_fold

    return train_fold


def _mil_predict() -> Predict:
    from mmdlm.mil.saved import predict_saved

    return lambda path, records, cfg: predict_saved(path, records)


#: the paper's protocol (ResNet18 per image modality, end to end on tile and radiology stores; the runner's
#: default trainer), and gated-attention MIL over every tile's foundation-model features (`mmdlm features`)
_FAMILIES: dict[str, ModelFamily] = {
    f.name: f
    for f in (
        ModelFamily("end_to_end", "model.ckpt", _stores_records, lambda: None, _end_to_end_predict),
        ModelFamily("mil", "mil_model.pt", _bags_records, _mil_trainer, _mil_predict,
                    settings=("seed", "data", "model", "train", "mil")),
    )
}


def get_family(name: str) -> ModelFamily:
    """The family registered as `name` (model.family), else a one-line error."""
    if name not in _FAMILIES:
        raise MmdlmError(f"unknown model family {name!r}; choose from {', '.join(_FAMILIES)}",
                         field="model.family")
    return _FAMILIES[name]

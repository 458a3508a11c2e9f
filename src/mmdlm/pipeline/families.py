"""The one place model families are registered (`model.family` -> what loads its records, trains a fold,
names and applies its saved fold models): the paper's end-to-end networks, and ABMIL over feature stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from mmdlm.errors import MmdlmError

#: per-fold trainer of the cross-validation runner (None: the end-to-end default)
TrainFold = Callable | None
#: (saved fold model, records, config) -> per-patient predictions
Predict = Callable[[Path, list, object], pd.DataFrame]


@dataclass(frozen=True)
class ModelFamily:
    """A model family: its records, fold trainer and saved fold models."""

    name: ClassVar[str]
    #: the file of a fold model under RUN/cv/<task>/fold_<k>/<configuration>/
    model_file: ClassVar[str]

    def load_records(self, cfg, cohort: Path, tiles: Path | None, radiology: Path | None,
                     features: Path | None) -> tuple[list, tuple[str, ...]]:
        """(records, skipped patient ids) of a cohort, from the stores this family trains on."""
        raise NotImplementedError

    def train_fold(self) -> TrainFold:
        """The cross-validation runner's per-fold trainer."""
        raise NotImplementedError

    def predict(self) -> Predict:
        """Predictions of one saved fold model for another cohort's records."""
        raise NotImplementedError


@dataclass(frozen=True)
class EndToEndFamily(ModelFamily):
    """The paper's protocol: ResNet18 per image modality trained end to end on tile and radiology stores."""

    name: ClassVar[str] = "end_to_end"
    model_file: ClassVar[str] = "model.ckpt"

    def load_records(self, cfg, cohort, tiles, radiology, features):
        from mmdlm.data.records import load_records_with_summary

        records, loaded = load_records_with_summary(cohort, tiles, radiology, cfg)
        return records, loaded.skipped_ids

    def train_fold(self) -> TrainFold:
        return None  # the runner's default (mmdlm.train.staged.train_fold)

    def predict(self) -> Predict:
        from mmdlm.train.predict import predict

        return predict


@dataclass(frozen=True)
class MilFamily(ModelFamily):
    """Gated-attention MIL over every tile's foundation-model features (`mmdlm features`)."""

    name: ClassVar[str] = "mil"
    model_file: ClassVar[str] = "mil_model.pt"

    def load_records(self, cfg, cohort, tiles, radiology, features):
        from mmdlm.mil.bags import load_bags

        if features is None:
            raise MmdlmError("model.family mil works on feature stores: give --features FEATS "
                             "(from `mmdlm features`)", field="model.family")
        return load_bags(cohort, features), ()

    def train_fold(self) -> TrainFold:
        from mmdlm.mil.staged import train_fold

        return train_fold

    def predict(self) -> Predict:
        from mmdlm.mil.saved import predict_saved

        return lambda path, records, cfg: predict_saved(path, records)


_FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (EndToEndFamily(), MilFamily())}


def get_family(name: str) -> ModelFamily:
    """The family registered as `name` (model.family), else a one-line error."""
    if name not in _FAMILIES:
        raise MmdlmError(f"unknown model family {name!r}; choose from {', '.join(_FAMILIES)}",
                         field="model.family")
    return _FAMILIES[name]

"""The one place model families are registered (`model.family` -> what loads its records, trains a fold,
names and applies its saved fold models): the paper's end-to-end networks, and ABMIL over feature stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmdlm.cohort.manifest import Manifest
from mmdlm.cohort.paths import CohortPaths
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.cv import FOLD_SETTINGS

#: (cfg, the cohort's paths, its loaded manifest) -> (records, skipped patient ids)
LoadRecords = Callable[[object, CohortPaths, Manifest], tuple[list, tuple[str, ...]]]
#: per-fold trainer of the cross-validation runner (None: the end-to-end default)
TrainFold = Callable | None
#: (saved fold model, records, config) -> per-patient predictions
Predict = Callable[[Path, list, object], pd.DataFrame]


@dataclass(frozen=True)
class ExplainRequest:
    """What `mmdlm explain` asks of a run: its folder, the cohort's paths (the manifest RUN/manifest unless
    --cohort names another; a store not given is None: each family picks its default), and the tasks,
    patients, slides and configuration to explain (None: the defaults)."""

    run: Path
    cohort: CohortPaths
    tasks: list[str] | None = None
    patients: list[str] | None = None
    slides: list[str] | None = None
    configuration: str | None = None


#: (cfg, request, output folder) -> one line per result, for the command's output
Explain = Callable[[object, ExplainRequest, Path], list[str]]


@dataclass(frozen=True)
class ModelFamily:
    """A model family: `model_file` is its fold model under RUN/cv/<task>/fold_<k>/<configuration>/;
    `load_records`, `trainer` (the runner's per-fold trainer) and `predictor` (one saved fold model on another
    cohort's records) and `explainer` (a run's explanations) import what they need only when called;
    `settings` are the config sections its fold predictions depend on (a change retrains the folds);
    `stack` the modules its trainer imports (imported up front, with the collector paused)."""

    name: str
    model_file: str
    load_records: LoadRecords
    trainer: Callable[[], TrainFold]
    predictor: Callable[[], Predict]
    explainer: Callable[[], Explain]
    settings: tuple[str, ...] = FOLD_SETTINGS
    stack: tuple[str, ...] = ()


def _stores_records(cfg, cohort: CohortPaths, manifest: Manifest) -> tuple[list, tuple[str, ...]]:
    from mmdlm.data.records import load_records_with_summary

    records, loaded = load_records_with_summary(cohort, cfg, manifest)
    return records, loaded.skipped_ids


def _end_to_end_predict() -> Predict:
    from mmdlm.train.predict import predict

    return predict


def _end_to_end_explainer() -> Explain:
    from mmdlm.explain.run import default_sources, explain_run

    def explain(cfg, req: ExplainRequest, out_dir: Path) -> list[str]:
        sources = default_sources(req.run, req.cohort)
        summary = explain_run(sources, cfg, out_dir, tasks=req.tasks, patients=req.patients,
                              slides=req.slides, configuration=req.configuration)
        lines = []
        for name, entry in summary["tasks"].items():
            gallery = entry["gallery"].get("file", entry["gallery"].get("skipped"))
            marked = ", ".join(f"{m['slide_id']} ({m['n_tiles']} tiles)" for m in entry["markup"]) or "none"
            lines.append(f"{name}: {entry['configuration']} fold {entry['fold']}; gallery: {gallery}; "
                         f"markup: {marked}")
        return lines

    return explain


def _bags_records(cfg, cohort: CohortPaths, manifest: Manifest) -> tuple[list, tuple[str, ...]]:
    from mmdlm.mil.bags import load_bags

    if cohort.features is None:
        raise MmdlmError("model.family mil works on feature stores: give --features FEATS "
                         "(from `mmdlm features`)", field="model.family")
    return load_bags(manifest, cohort.features), ()


def _mil_trainer() -> TrainFold:
    from mmdlm.mil.staged import train_fold

    return train_fold


def _mil_predict() -> Predict:
    from mmdlm.mil.saved import predict_saved

    return lambda path, records, cfg: predict_saved(path, records)


def _mil_explainer() -> Explain:
    from mmdlm.mil.explain import explain_mil_run

    def explain(cfg, req: ExplainRequest, out_dir: Path) -> list[str]:
        """Per-tile attention and risk maps (the features default to RUN/../features)."""
        features = req.cohort.features or req.run.parent / "features"
        done = explain_mil_run(cfg, req.run, req.cohort.manifest, features, out_dir, req.patients,
                               req.configuration)
        return [f"MIL maps of {len(done['patients'])} patients ({done['configuration']})"]

    return explain


#: the paper's protocol (ResNet18 per image modality, end to end on tile and radiology stores; the runner's
#: default trainer), and gated-attention MIL over every tile's foundation-model features (`mmdlm features`)
_FAMILIES: dict[str, ModelFamily] = {
    f.name: f
    for f in (
        ModelFamily("end_to_end", "model.ckpt", _stores_records, lambda: None, _end_to_end_predict,
                    _end_to_end_explainer, stack=("mmdlm.train.staged",)),
        ModelFamily("mil", "mil_model.pt", _bags_records, _mil_trainer, _mil_predict, _mil_explainer,
                    settings=(*FOLD_SETTINGS, "mil"), stack=("mmdlm.mil.staged",)),
    )
}


def get_family(name: str) -> ModelFamily:
    """The family registered as `name` (model.family), else a one-line error."""
    if name not in _FAMILIES:
        raise MmdlmError(f"unknown model family {name!r}; choose from {', '.join(_FAMILIES)}",
                         field="model.family")
    return _FAMILIES[name]

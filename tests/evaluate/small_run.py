"""A small run folder made by the real statistics: the cross-validation runner (cox, 5yss, discrete) with a
planted-signal stand-in for the staged training, the clinical baselines and Cox models from a manifest
snapshot, and an external cohort scored by stand-in fold models (for tests/evaluate and tests/report)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.config import Config
from mmdlm.data.records import PatientRecord
from mmdlm.data.sources import ArraySource
from mmdlm.evaluate.baselines import clinical_baselines
from mmdlm.evaluate.clinical import load_patients
from mmdlm.evaluate.cv import run_cv_tasks
from mmdlm.evaluate.external import evaluate_external
from mmdlm.modalities import CONFIGURATIONS
from mmdlm.results.files import read_metrics, write_metrics
from mmdlm.runlayout import RunLayout
from mmdlm.tasks.registry import get_task

CONFS = ("radiology", "histology", "histo_radiology")
TASKS = ("cox", "5yss", "discrete")


def records(n: int = 72, seed: int = 0, prefix: str = "P") -> list[PatientRecord]:
    """Patients with a planted hazard (`.hazard`), exponential survival, uniform censoring; every tenth has
    no radiology."""
    rng = np.random.default_rng(seed)
    img = ArraySource(np.zeros((1, 4, 4, 3), np.uint8))
    out = []
    for i in range(n):
        hazard = rng.normal()
        t, c = float(rng.exponential(40 * np.exp(-hazard))), float(rng.uniform(20, 120))
        event, time = int(t <= c), min(t, c)
        label = 1 if event and time < 60 else (0 if time >= 60 else None)
        images = {"tile_10x": img, "tile_5x": img}
        if i % 10:
            images["radiology"] = img
        rec = PatientRecord(f"{prefix}{i:03d}", time, event, label, images, np.zeros(3, np.float32))
        rec.hazard = hazard
        out.append(rec)
    return out


def train_fold(cfg, task, train, val, out_dir, configurations):
    """Scores = planted hazard + noise shrinking with more modalities, two rows per patient, in the task's
    score column (p(dead) = logistic(score) for 5yss); each task and fold draws its own noise."""
    rng = np.random.default_rng([len(train), *task.encode()])
    column = get_task(task).score_column
    out = {}
    for conf in configurations:
        noise = 1.5 / len(CONFIGURATIONS[conf])
        rows = []
        for r in val:
            for _ in range(2):
                s = r.hazard + rng.normal(0, noise)
                score = s if column == "risk" else 1 / (1 + np.exp(-s))
                rows.append({"patient_id": r.patient_id, column: score, "att_tile_10x": 0.5,
                             "att_tile_5x": 0.3, "att_radiology": 0.2, "att_genomics": 0.0})
        out[conf] = pd.DataFrame(rows)
    return out


def write_patients(folder: Path, recs: list[PatientRecord]) -> Path:
    """A manifest snapshot's patients.csv: outcome, 5-year label, T stage and grade that follow the hazard."""
    folder.mkdir(parents=True, exist_ok=True)
    h = np.array([r.hazard for r in recs])
    rng = np.random.default_rng(1)
    pd.DataFrame({
        "patient_id": [r.patient_id for r in recs],
        "time": [r.time for r in recs],
        "event": [r.event for r in recs],
        "endpoint": "DSS",
        "label_5y": [r.label_5y for r in recs],
        "t_stage": np.clip(np.round(2.5 + h + rng.normal(0, 0.7, len(h))), 1, 4).astype(int),
        "grade": np.clip(np.round(2.5 + h + rng.normal(0, 1.0, len(h))), 1, 4).astype(int),
    }).to_csv(folder / "patients.csv", index=False)
    return folder


def config(tasks: tuple[str, ...] = TASKS) -> Config:
    """Three folds per task, 50 bootstrap replicates, T stage and grade as the clinical factors."""
    base = Config()
    cv = base.cv.model_copy(update={"tasks": tasks, "folds_cox": 3, "folds_5yss": 3, "bootstrap": 50,
                                    "clinical_factors": ("t_stage", "grade"),
                                    "cox_covariates": ("t_stage", "grade")})
    return base.model_copy(update={"cv": cv})


def build(run: Path, tasks: tuple[str, ...] = TASKS, *, external: bool = True) -> Config:
    """RUN/manifest/patients.csv, RUN/folds.json, predictions.csv and metrics.json (every task, clinical
    Cox models, the baselines as `mmdlm cv` adds them) and, with `external`, RUN/external/ext/ scored by
    stand-in fold models of every task and configuration."""
    cfg = config(tasks)
    recs = records()
    clinical = load_patients(write_patients(run / "manifest", recs))
    run_cv_tasks(cfg, recs, run, tasks, CONFS, train_fold=train_fold, clinical=clinical)
    path = RunLayout(run).metrics_json
    metrics = read_metrics(path).dump()
    metrics["baselines"] = clinical_baselines(clinical, cfg.cv)
    write_metrics(path, metrics)
    if external:
        for task in tasks:
            for k in range(cfg.cv.n_folds(task)):
                for conf in CONFS:
                    ckpt = RunLayout(run).fold_dir(task, k) / conf / "model.ckpt"
                    ckpt.parent.mkdir(parents=True, exist_ok=True)
                    ckpt.write_bytes(b"stand-in")
        evaluate_external(cfg, run, records(30, seed=5, prefix="E"), "ext", CONFS, predict=_predict)
    return cfg


def _predict(ckpt: Path, recs: list[PatientRecord], cfg) -> pd.DataFrame:
    """A stand-in fold model: the planted hazard plus the fold's noise, in the task's score column."""
    task, k = ckpt.parents[2].name, int(ckpt.parents[1].name[5:])
    rng = np.random.default_rng(k)
    s = np.array([r.hazard for r in recs]) + rng.normal(0, 1.0, len(recs))
    column = get_task(task).score_column
    return pd.DataFrame({"patient_id": [r.patient_id for r in recs],
                         column: s if column == "risk" else 1 / (1 + np.exp(-s))})

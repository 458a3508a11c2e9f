"""The cross-validation runner: folds -> staged training per fold -> out-of-fold predictions -> metrics."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmdlm.atomic import atomic_path, write_text_atomic
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.folds import check_folds, ensure_folds
from mmdlm.evaluate.summary import ATT_COLUMNS, merge_metrics, task_metrics, truth_table
from mmdlm.modalities import CONFIGURATIONS
from mmdlm.results.files import read_metrics, write_metrics
from mmdlm.runlayout import RunLayout
from mmdlm.tasks.registry import check_task_name, get_task

log = logging.getLogger("mmdlm.evaluate")

PREDICTION_COLUMNS = ("patient_id", "task", "configuration", "fold", "risk", "p_dead_5y", *ATT_COLUMNS)
#: train_fold(cfg, task, train_records, val_records, out_dir, configurations) -> {configuration: DataFrame}
TrainFold = Callable[[Any, str, list, list, Path, tuple[str, ...]], Mapping[str, pd.DataFrame]]


def check_configurations(names: Sequence[str] | None, default: Sequence[str]) -> tuple[str, ...]:
    """The configurations to run (default when None); unknown names are a clear error."""
    chosen = tuple(default if not names else names)
    unknown = [n for n in chosen if n not in CONFIGURATIONS]
    if unknown:
        raise MmdlmError(f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGURATIONS)}",
                         field="configuration")
    if not chosen:
        raise MmdlmError("no configuration chosen", field="configuration")
    return tuple(dict.fromkeys(chosen))


def check_task(task: str) -> str:
    """A registered task name (mmdlm.tasks: cox, 5yss, discrete), else a clear error."""
    return check_task_name(task)


def _default_train_fold(cfg) -> TrainFold:
    """The staged trainer, its folds sharing one RunShare (resized images, seeded initial nets): paid once per
    run where folds train in this process; a pool or Dask worker receives it empty and fills its own."""
    from functools import partial

    from mmdlm.train.reuse import RunShare
    from mmdlm.train.staged import train_fold

    return partial(train_fold, shared=RunShare.for_config(cfg))


#: the config sections a fold's predictions depend on, by default (a model family may add its own section)
FOLD_SETTINGS = ("seed", "data", "model", "train")


def _fold_key(cfg, settings: Sequence[str], task: str, val_ids: list[str], train_ids: list[str],
              configurations: tuple[str, ...]) -> str:
    """Hash of everything a fold's predictions depend on (`settings` sections, patients, configurations)."""
    dump = cfg.model_dump(mode="json")
    relevant = {k: dump.get(k) for k in settings}
    blob = json.dumps([relevant, task, sorted(val_ids), sorted(train_ids), sorted(configurations)],
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _eligible(records: Mapping[str, Any], ids: Sequence[str], conf: str) -> set[str]:
    """Patients with at least one of the configuration's modalities (all, for records without `has_any`)."""
    active = tuple(CONFIGURATIONS[conf])
    return {p for p in ids if not hasattr(records[p], "has_any") or records[p].has_any(active)}


def _per_patient(task: str, conf: str, fold: int, df: pd.DataFrame, eligible: set[str]) -> pd.DataFrame:
    """One configuration's validation predictions averaged per patient (over the Cartesian product), kept for
    the patients who have at least one of its modalities."""
    score = get_task(task).score_column
    if not isinstance(df, pd.DataFrame) or "patient_id" not in df.columns or score not in df.columns:
        raise MmdlmError(f"training returned no {score} column for configuration {conf} in fold {fold}")
    df = df.assign(patient_id=df["patient_id"].astype(str))
    cols = [score, *[c for c in ATT_COLUMNS if c in df.columns]]
    agg = df.groupby("patient_id", sort=True)[cols].mean().reset_index()
    lost = sorted(eligible - set(agg["patient_id"]))
    if lost:
        raise MmdlmError(f"fold {fold} configuration {conf}: no prediction for {len(lost)} validation "
                         "patient(s)", patient=lost[0])
    agg = agg[agg["patient_id"].isin(eligible)]
    agg.insert(1, "task", task)
    agg.insert(2, "configuration", conf)
    agg.insert(3, "fold", fold)
    return agg


def _population(records: Sequence, task: str) -> tuple[pd.DataFrame, list[int]]:
    """The task's patients (truth table; 5YSS: those with a 5-year label) and the strata of their folds."""
    t = get_task(task)
    truth = t.eligible_truth(truth_table(records))
    return truth, t.strata(truth)


def preflight(cfg, records: Sequence, run_dir: Path, task: str, configurations: Sequence[str] | None) -> None:
    """Every check `run_cv` makes before training (task, configurations, folds against RUN/folds.json, an
    existing RUN/metrics.json against its schema), writing nothing: a rerun that would be refused is refused
    before RUN changes."""
    task = check_task(task)
    check_configurations(configurations, cfg.cv.configurations_for(task))
    truth, strata = _population(records, task)
    check_folds(RunLayout(run_dir).folds_json, task, truth["patient_id"].tolist(), strata,
                cfg.cv.n_folds(task), cfg.seed)
    read_metrics(RunLayout(run_dir).metrics_json)  # the other tasks' entries are kept: they must validate


@dataclass(frozen=True)
class FoldJob:
    """One (task, fold) staged training to run: its patients, folder and cache key."""

    task: str
    fold: int
    train: list
    val: list
    out_dir: Path
    key: str
    configurations: tuple[str, ...]
    eligible: dict[str, set[str]]


@dataclass
class _TaskPlan:
    task: str
    configurations: tuple[str, ...]
    truth: pd.DataFrame
    parts: dict[int, pd.DataFrame] = field(default_factory=dict)
    jobs: list[FoldJob] = field(default_factory=list)


def run_fold(args: tuple[Any, FoldJob, TrainFold]) -> pd.DataFrame:
    """One executor task: a fold's staged training, its per-patient validation predictions written to the
    fold's cache (atomically, key last) and returned."""
    cfg, job, train_fold = args
    job.out_dir.mkdir(parents=True, exist_ok=True)
    result = train_fold(cfg, job.task, job.train, job.val, job.out_dir, job.configurations)
    missing = [c for c in job.configurations if c not in result]
    if missing:
        raise MmdlmError(f"training of fold {job.fold} returned no predictions for configuration "
                         f"{missing[0]}")
    fold_pred = pd.concat([_per_patient(job.task, c, job.fold, result[c], job.eligible[c])
                           for c in job.configurations], ignore_index=True)
    fold_pred = fold_pred.reindex(columns=list(PREDICTION_COLUMNS))
    _write_fold_cache(job.out_dir, job.key, fold_pred)
    return fold_pred


def _plan_task(cfg, records: Sequence, run_dir: Path, task: str,
               configurations: Sequence[str] | None, settings: Sequence[str]) -> _TaskPlan:
    """Folds of `task` (RUN/folds.json), the folds' cached predictions, and the folds still to train."""
    task = check_task(task)
    configurations = check_configurations(configurations, cfg.cv.configurations_for(task))
    truth, strata = _population(records, task)
    by_id = {str(r.patient_id): r for r in records}
    n_folds = cfg.cv.n_folds(task)
    folds = ensure_folds(RunLayout(run_dir).folds_json, task, truth["patient_id"].tolist(), strata, n_folds,
                         cfg.seed)
    plan = _TaskPlan(task, configurations, truth)
    for k in range(n_folds):
        val_ids = sorted(p for p, f in folds.items() if f == k)
        train_ids = sorted(p for p, f in folds.items() if f != k)
        out_dir = RunLayout(run_dir).fold_dir(task, k)
        key = _fold_key(cfg, settings, task, val_ids, train_ids, configurations)
        cached = _read_fold_cache(out_dir, key)
        if cached is not None:
            log.info("cv %s fold %d: predictions reused from %s", task, k, out_dir)
            plan.parts[k] = cached
            continue
        log.info("cv %s fold %d/%d: %d training, %d validation patients", task, k + 1, n_folds,
                 len(train_ids), len(val_ids))
        plan.jobs.append(FoldJob(task, k, [by_id[p] for p in train_ids], [by_id[p] for p in val_ids],
                                 out_dir, key, configurations,
                                 {c: _eligible(by_id, val_ids, c) for c in configurations}))
    return plan


def fold_resources(cfg) -> dict[str, float]:
    """Dask worker resources one fold's training needs: executor.resources.cv, else one GPU per training
    device when train.accelerator is gpu/cuda, else none."""
    chosen = cfg.executor.resources.cv
    if chosen is not None:
        return dict(chosen)
    if str(cfg.train.accelerator).lower() in ("gpu", "cuda"):
        return {"GPU": float(cfg.train.devices) if isinstance(cfg.train.devices, int) else 1.0}
    return {}


def _train_folds(cfg, plans: list[_TaskPlan], train_fold: TrainFold) -> None:
    """Run every plan's pending folds on the configured executor (one task per (task, fold)); each finished
    fold lands in its plan. A fold's error stops the run; a fold whose worker died is reported once the
    other folds have finished, so a rerun keeps every fold that did."""
    from mmdlm.executor import WorkerLost, open_executor

    jobs = [(cfg, job, train_fold) for plan in plans for job in plan.jobs]
    if not jobs:
        return
    by_task = {plan.task: plan for plan in plans}
    errors: list[tuple[int, BaseException]] = []
    with open_executor(cfg.executor) as ex:
        log.info("cv: %d fold trainings on the %s executor (%d workers)", len(jobs), ex.kind, ex.workers)
        for n, outcome in enumerate(ex.map(run_fold, jobs, label="cv", resources=fold_resources(cfg)), 1):
            job = outcome.item[1]
            if outcome.ok:
                by_task[job.task].parts[job.fold] = outcome.value
                log.info("cv %s fold %d: trained (%d/%d)", job.task, job.fold, n, len(jobs))
                continue
            log.error("cv %s fold %d failed: %s", job.task, job.fold, outcome.error)
            if not isinstance(outcome.error, WorkerLost):
                outcome.unwrap()
            errors.append((outcome.index, MmdlmError(f"cv {job.task} fold {job.fold}: {outcome.error}; run "
                                                     "the same command again to resume")))
    if errors:
        raise min(errors, key=lambda e: e[0])[1]


def _finish_task(cfg, plan: _TaskPlan, run_dir: Path,
                 clinical: pd.DataFrame | None) -> tuple[pd.DataFrame, dict]:
    """A task's out-of-fold predictions and metrics into RUN/predictions.csv and RUN/metrics.json."""
    task, configurations = plan.task, plan.configurations
    parts = [plan.parts[k] for k in sorted(plan.parts)]
    predictions = pd.concat(parts, ignore_index=True).reindex(columns=list(PREDICTION_COLUMNS))
    empty = [c for c in configurations if not (predictions["configuration"] == c).any()]
    if empty:
        raise MmdlmError(f"no patient has any modality of configuration {empty[0]} "
                         f"({', '.join(CONFIGURATIONS[empty[0]])})", field="configuration")
    metrics = task_metrics(task, predictions, plan.truth, cfg.cv, cfg.seed, clinical)
    write_predictions(RunLayout(run_dir).predictions_csv, task, predictions)
    path = RunLayout(run_dir).metrics_json
    write_metrics(path, merge_metrics(read_metrics(path), task, metrics))
    return predictions, metrics


def run_cv_tasks(cfg, records: Sequence, run_dir: Path, tasks: Sequence[str],
                 configurations: Sequence[str] | None = None, *, train_fold: TrainFold | None = None,
                 clinical: pd.DataFrame | None = None,
                 settings: Sequence[str] = FOLD_SETTINGS) -> dict[str, tuple[pd.DataFrame, dict]]:
    """run_cv for several tasks, their folds trained together on cfg.executor (one task per (task, fold));
    results and files as running run_cv task by task. A fold's cached predictions are reused while the
    config's `settings` sections are unchanged."""
    train_fold = train_fold or _default_train_fold(cfg)
    run_dir = Path(run_dir)
    plans = [_plan_task(cfg, records, run_dir, t, configurations, settings) for t in tasks]
    read_metrics(RunLayout(run_dir).metrics_json)  # entries it keeps must validate: refused before training
    _train_folds(cfg, plans, train_fold)
    return {plan.task: _finish_task(cfg, plan, run_dir, clinical) for plan in plans}


def run_cv(cfg, records: Sequence, run_dir: Path, task: str, configurations: Sequence[str] | None = None, *,
           train_fold: TrainFold | None = None,
           clinical: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Cross-validate `task` over `configurations` on `records` (PatientRecord: patient_id, time, event,
    label_5y).

    Folds come from RUN/folds.json (made there if absent); each fold's training runs in
    RUN/cv/<task>/fold_<k>/ (on cfg.executor: one task per fold) and its predictions are kept there (reused
    when the same fold is asked again with the same settings).
    Writes RUN/predictions.csv and RUN/metrics.json (other tasks' rows and entries kept); returns this task's
    predictions and metrics entry. `clinical` (patients.csv) adds the Cox model with the model's group.
    """
    task = check_task(task)
    return run_cv_tasks(cfg, records, run_dir, [task], configurations, train_fold=train_fold,
                        clinical=clinical)[task]


def _read_fold_cache(out_dir: Path, key: str) -> pd.DataFrame | None:
    csv, key_file = out_dir / "predictions.csv", out_dir / "predictions.key"
    if not (csv.is_file() and key_file.is_file()) or key_file.read_text().strip() != key:
        return None
    return pd.read_csv(csv, dtype={"patient_id": str, "task": str, "configuration": str})


def _write_fold_cache(out_dir: Path, key: str, df: pd.DataFrame) -> None:
    (out_dir / "predictions.key").unlink(missing_ok=True)  # no key may vouch for another run's predictions
    with atomic_path(out_dir / "predictions.csv") as tmp:
        df.to_csv(tmp, index=False)
    write_text_atomic(out_dir / "predictions.key", key + "\n")


def write_predictions(path: Path, task: str, predictions: pd.DataFrame) -> None:
    """RUN/predictions.csv with `task`'s rows replaced (rows of the other task kept)."""
    frames = [predictions]
    if path.is_file():
        old = pd.read_csv(path, dtype={"patient_id": str, "task": str, "configuration": str})
        frames.insert(0, old[old["task"] != task])
    out = pd.concat(frames, ignore_index=True).reindex(columns=list(PREDICTION_COLUMNS))
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)

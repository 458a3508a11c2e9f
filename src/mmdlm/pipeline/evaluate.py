"""What the `mmdlm cv` and `mmdlm evaluate` commands do: load the cohort, lock the run, call the library."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from mmdlm.atomic import atomic_path
from mmdlm.cohort.manifest import load_manifest
from mmdlm.cohort.paths import CohortPaths
from mmdlm.collector import import_uncollected
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.baselines import clinical_baselines
from mmdlm.evaluate.clinical import load_patients
from mmdlm.evaluate.cv import check_configurations, check_task, preflight, run_cv_tasks
from mmdlm.evaluate.external import evaluate_external
from mmdlm.pipeline.families import get_family
from mmdlm.results.files import read_metrics, write_metrics
from mmdlm.runlayout import RunLayout

log = logging.getLogger("mmdlm.evaluate")

#: what every cross-validation imports besides its family's trainer: the folds (scikit-learn) and the
#: statistics (scikit-survival, lifelines)
CV_STACK = ("sklearn.model_selection", "sksurv.metrics", "lifelines")

MANIFEST_FILES = ("patients.csv", "slides.csv", "radiology.csv", "alterations.csv", "features.json",
                  "summary.json")


def snapshot_manifest(cohort: Path, run_dir: Path) -> None:
    """Copy the manifest's files into RUN/manifest/ (atomically); nothing to do when it is that folder."""
    if Path(cohort).resolve() == (Path(run_dir) / "manifest").resolve():
        return
    with atomic_path(run_dir / "manifest") as tmp:
        tmp.mkdir()
        for name in MANIFEST_FILES:
            if (Path(cohort) / name).is_file():
                shutil.copy2(Path(cohort) / name, tmp / name)


def cross_validate(cfg, cohort: CohortPaths, run_dir: Path, *, tasks: Sequence[str] | None = None,
                   configurations: Sequence[str] | None = None, train_fold=None, lock: bool = True) -> dict:
    """`mmdlm cv`: every task's CV (run_cv_tasks: all (task, fold) trainings on cfg.executor) plus the
    cohort's clinical baselines in RUN/metrics.json. The end-to-end family reads `cohort`'s tile and
    radiology stores, `model.family: mil` its feature stores (same folds, statistics and metrics.json).

    `lock=False` when the caller already holds RUN's lock (mmdlm.pipeline).
    """
    from mmdlm.rundir import attach_log_file, save_config

    tasks = [check_task(t) for t in (tasks or cfg.cv.tasks)]
    for task in tasks:  # before any slow loading
        check_configurations(configurations, cfg.cv.configurations_for(task))
    family = get_family(cfg.model.family)
    import_uncollected((*CV_STACK, *family.stack))  # the run imports them anyway: here without collections
    manifest = load_manifest(cohort.manifest)  # loaded and validated once, passed to every reader below
    patients = load_patients(manifest)
    records, skipped_ids = family.load_records(cfg, cohort, manifest)
    train_fold = train_fold or family.trainer()
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    with _locked(run_dir, lock):
        try:  # every check before the first write: a refused rerun leaves RUN as it was
            for task in tasks:
                preflight(cfg, records, run_dir, task, configurations)
        except MmdlmError:
            if created and lock:
                shutil.rmtree(run_dir, ignore_errors=True)  # only the lock file was there
            raise
        handler = attach_log_file(run_dir) if lock else None  # a caller holding the lock has its own log
        try:
            if skipped_ids:
                log.info("cv: %d patient(s) skipped (no outcome or no modality): %s", len(skipped_ids),
                         ", ".join(skipped_ids))
            save_config(run_dir, cfg)
            snapshot_manifest(cohort.manifest, run_dir)
            run_cv_tasks(cfg, records, run_dir, tasks, configurations, train_fold=train_fold,
                         clinical=patients, settings=family.settings)
            path = RunLayout(run_dir).metrics_json
            metrics = read_metrics(path).dump()
            try:
                metrics["baselines"] = clinical_baselines(patients, cfg.cv)
            except MmdlmError as exc:
                metrics["baselines"] = {"error": exc.one_line()}
            write_metrics(path, metrics)
        finally:
            if handler is not None:
                logging.getLogger("mmdlm").removeHandler(handler)
                handler.close()
    return metrics


def _locked(run_dir: Path, lock: bool):
    """RUN's lock, or nothing when the caller holds it."""
    from mmdlm.rundir import run_lock

    return run_lock(run_dir) if lock else contextlib.nullcontext(run_dir)


def evaluate_cohort(cfg, run_dir: Path, cohort: CohortPaths, name: str, *,
                    configurations: Sequence[str] | None = None, predict=None, lock: bool = True) -> dict:
    """`mmdlm evaluate`: the run's fold models (of its model.family) on an external cohort
    (RUN/external/<name>/metrics.json); the MIL family reads the cohort's feature stores."""
    manifest = load_manifest(cohort.manifest)
    patients = load_patients(manifest)
    family = get_family(cfg.model.family)
    records, _ = family.load_records(cfg, cohort, manifest)
    with _locked(Path(run_dir), lock):
        return evaluate_external(cfg, run_dir, records, name, configurations,
                                 predict=predict or family.predictor(), clinical=patients,
                                 model_file=family.model_file)

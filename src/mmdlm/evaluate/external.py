"""External cohort: every fold model of a run applied to another cohort; the headline is the fold-model
ensemble (risks standardised per fold model, then averaged) with a patient-level bootstrap interval; the fold
models' mean and max (optimistic: the best of K on the test set) are kept beside the CV figures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from mmdlm.atomic import atomic_path
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.cv import _eligible, check_configurations
from mmdlm.evaluate.folds import read_folds
from mmdlm.evaluate.summary import (
    _aggregate,
    configuration_metrics,
    fold_metric_names,
    truth_table,
)
from mmdlm.names import id_path
from mmdlm.results.files import read_metrics, write_result
from mmdlm.results.metrics import ExternalMetrics
from mmdlm.runlayout import RunLayout
from mmdlm.tasks.registry import get_task

log = logging.getLogger("mmdlm.evaluate")

#: what the external table says about the difference from CV (never "generalises" from a test)
CV_DIFFERENCE_NOTE = ("a non-significant difference between the external and the cross-validated figures is "
                      "not evidence that the model generalises (with few folds and patients the test has "
                      "little power); read the ensemble's interval")

Predict = Callable[[Path, list, object], pd.DataFrame]


def _default_predict() -> Predict:
    from mmdlm.train.predict import predict

    return predict


def ensemble_scores(per_model: Sequence[pd.DataFrame], task: str) -> pd.DataFrame:
    """One score per patient from the fold models: Cox risks z-scored per fold model (each has its own scale)
    then averaged; 5YSS probabilities averaged (they share the probability scale). Attention averaged."""
    t = get_task(task)
    score = t.score_column
    parts = []
    for p in per_model:
        p = p.copy()
        if t.per_model_scale:
            sd = float(p[score].std())
            p[score] = (p[score] - p[score].mean()) / sd if sd > 0 else 0.0
        parts.append(p)
    allp = pd.concat(parts, ignore_index=True).drop(columns=["fold"], errors="ignore")
    return allp.groupby("patient_id").mean(numeric_only=True).reset_index()


def shared_patients(run_dir: Path, folds: dict, ids: Sequence[str]) -> list[str]:
    """External patients that were in the run's cross-validation cohort (folds.json), sorted."""
    trained = {str(p) for spec in folds.values() for p in spec.get("folds", {})}
    return sorted(trained & {str(p) for p in ids})


def evaluate_external(cfg, run_dir: Path, records: Sequence, name: str,
                      configurations: Sequence[str] | None = None, *, predict: Predict | None = None,
                      clinical: pd.DataFrame | None = None, model_file: str = "model.ckpt") -> dict:
    """Apply RUN/cv/<task>/fold_<k>/<configuration>/<model_file> of every fold to `records`; per configuration
    the fold models' metrics (mean, max) and the fold-averaged model's metrics, with the CV figures beside
    them. The headline is the ensemble (ensemble_scores) with its patient-level bootstrap interval; external
    patients that were in the training cohort are warned about and listed (shared_with_training).
    Writes RUN/external/<name>/{predictions.csv, metrics.json}."""
    from scipy.stats import mannwhitneyu

    predict = predict or _default_predict()
    run_dir = Path(run_dir)
    folds = read_folds(RunLayout(run_dir).folds_json)["tasks"]
    if not folds:
        raise MmdlmError("no cross-validation in this run (folds.json missing): run `mmdlm cv` first",
                         file=run_dir)
    cv_run = read_metrics(RunLayout(run_dir).metrics_json)
    cv_metrics = cv_run.tasks if cv_run is not None else {}
    truth_all = truth_table(records)
    by_id = {str(r.patient_id): r for r in records}
    shared = shared_patients(run_dir, folds, list(by_id))
    if shared:
        log.warning("external cohort %s shares %d patient(s) with the training cohort (e.g. %s): they are "
                    "not external, and the fold models trained on them", name, len(shared), shared[0])
    out: dict = {"name": name, "patients": len(records), "shared_with_training": shared,
                 "cv_difference_note": CV_DIFFERENCE_NOTE, "tasks": {}}
    rows = []
    for task, spec in folds.items():
        n_folds = int(spec["n_folds"])
        truth = get_task(task).eligible_truth(truth_all)
        confs = check_configurations(configurations, cfg.cv.configurations_for(task))
        confs = [c for c in confs if (RunLayout(run_dir).fold_dir(task, 0) / c / model_file).is_file()]
        task_out: dict = {"configurations": {}}
        for conf in confs:
            ids = sorted(_eligible(by_id, list(truth["patient_id"]), conf))
            recs = [by_id[p] for p in ids]
            per_model = []
            for k in range(n_folds):
                ckpt = RunLayout(run_dir).fold_dir(task, k) / conf / model_file
                if not ckpt.is_file():
                    raise MmdlmError("fold model missing (was the cross-validation finished?)", file=ckpt)
                p = predict(ckpt, recs, cfg)
                p = p.assign(patient_id=p["patient_id"].astype(str), fold=k)
                per_model.append(p)
            score = get_task(task).score_column
            ens = ensemble_scores(per_model, task)
            ens["fold"] = 0
            d = ens.merge(truth, on="patient_id", how="inner")
            d.attrs["configuration"] = conf
            ensemble = configuration_metrics(task, d, truth, cfg.cv, cfg.seed, clinical)
            fold_values = {m: [] for m in fold_metric_names(task, cfg.cv)}
            for p in per_model:
                dk = p.merge(truth, on="patient_id", how="inner")
                vals = get_task(task).fold_metrics(dk, truth, cfg.cv)
                for m in fold_values:
                    fold_values[m].append(vals.get(m))
                rows.append(p.assign(task=task, configuration=conf))
            models = {m: _aggregate(v, None) for m, v in fold_values.items()}
            cv_task = cv_metrics.get(task)
            cv_conf = cv_task.configurations.get(conf) if cv_task is not None else None
            vs_cv = {}
            for m, agg in models.items():
                cv_s = cv_conf.metric(m) if cv_conf is not None else None
                cv_vals = [v for v in cv_s.folds if v is not None] if cv_s is not None else []
                ext_vals = [v for v in agg["folds"] if v is not None]
                ens_m = ensemble.get(m) or {}
                vs_cv[m] = {"cv_mean": cv_s.mean if cv_s else None, "cv_max": cv_s.max if cv_s else None,
                            "ensemble": (ens_m.get("folds") or [None])[0],
                            "ensemble_ci": ens_m.get("ci"),
                            "external_mean": agg["mean"],
                            "external_max": agg["max"],
                            "external_max_label": "optimistic: the best of the fold models on the test set",
                            "mannwhitney_p": float(mannwhitneyu(ext_vals, cv_vals).pvalue)
                            if len(cv_vals) > 1 and len(ext_vals) > 1 else None}
            task_out["configurations"][conf] = {"n_patients": len(d), "fold_models": models,
                                                "ensemble": ensemble, "vs_cv": vs_cv, "score": score}
        out["tasks"][task] = task_out
    dest = id_path(Path(run_dir) / "external", name, field="--name")
    dest.mkdir(parents=True, exist_ok=True)
    if rows:
        with atomic_path(RunLayout(dest).predictions_csv) as tmp:
            pd.concat(rows, ignore_index=True).to_csv(tmp, index=False)
    write_result(ExternalMetrics, RunLayout(dest).metrics_json, out)
    return out

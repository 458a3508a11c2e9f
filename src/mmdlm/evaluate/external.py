"""External cohort: every fold model of a run applied to another cohort, risks averaged, metrics beside CV."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from mmdlm.atomic import atomic_path, write_json_atomic
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.cv import _eligible, _json_safe, check_configurations
from mmdlm.evaluate.folds import read_folds
from mmdlm.evaluate.summary import (
    FOLD_METRICS,
    SCORE,
    _aggregate,
    _fold_metrics,
    configuration_metrics,
    truth_table,
)
from mmdlm.names import id_path

Predict = Callable[[Path, list, object], pd.DataFrame]


def _default_predict() -> Predict:
    from mmdlm.train.predict import predict

    return predict


def evaluate_external(cfg, run_dir: Path, records: Sequence, name: str,
                      configurations: Sequence[str] | None = None, *, predict: Predict | None = None,
                      clinical: pd.DataFrame | None = None) -> dict:
    """Apply RUN/cv/<task>/fold_<k>/<configuration>/model.ckpt of every fold to `records`; per configuration
    the fold models' metrics (mean, max) and the fold-averaged model's metrics, with the CV figures beside
    them.
    Writes RUN/external/<name>/{predictions.csv, metrics.json}."""
    from scipy.stats import mannwhitneyu

    predict = predict or _default_predict()
    run_dir = Path(run_dir)
    folds = read_folds(run_dir / "folds.json")["tasks"]
    if not folds:
        raise MmdlmError("no cross-validation in this run (folds.json missing): run `mmdlm cv` first",
                         file=run_dir)
    cv_metrics_path = run_dir / "metrics.json"
    cv_metrics = json.loads(cv_metrics_path.read_text()).get("tasks", {}) if cv_metrics_path.is_file() else {}
    truth_all = truth_table(records)
    by_id = {str(r.patient_id): r for r in records}
    out: dict = {"name": name, "patients": len(records), "tasks": {}}
    rows = []
    for task, spec in folds.items():
        n_folds = int(spec["n_folds"])
        truth = truth_all[truth_all["label_5y"].notna()] if task == "5yss" else truth_all
        confs = check_configurations(configurations, cfg.cv.configurations_for(task))
        confs = [c for c in confs if (run_dir / "cv" / task / "fold_0" / c / "model.ckpt").is_file()]
        task_out: dict = {"configurations": {}}
        for conf in confs:
            ids = sorted(_eligible(by_id, list(truth["patient_id"]), conf))
            recs = [by_id[p] for p in ids]
            per_model = []
            for k in range(n_folds):
                ckpt = run_dir / "cv" / task / f"fold_{k}" / conf / "model.ckpt"
                if not ckpt.is_file():
                    raise MmdlmError("fold model missing (was the cross-validation finished?)", file=ckpt)
                p = predict(ckpt, recs, cfg)
                p = p.assign(patient_id=p["patient_id"].astype(str), fold=k)
                per_model.append(p)
            allp = pd.concat(per_model, ignore_index=True)
            score = SCORE[task]
            ens = allp.drop(columns=["fold"]).groupby("patient_id").mean(numeric_only=True).reset_index()
            ens["fold"] = 0
            d = ens.merge(truth, on="patient_id", how="inner")
            d.attrs["configuration"] = conf
            ensemble = configuration_metrics(task, d, truth, cfg.cv, cfg.seed, clinical)
            fold_values = {m: [] for m in FOLD_METRICS[task]}
            for p in per_model:
                dk = p.merge(truth, on="patient_id", how="inner")
                vals = _fold_metrics(task, dk, truth, cfg.cv)
                for m in fold_values:
                    fold_values[m].append(vals[m])
                rows.append(p.assign(task=task, configuration=conf))
            models = {m: _aggregate(v, None) for m, v in fold_values.items()}
            cv_conf = cv_metrics.get(task, {}).get("configurations", {}).get(conf, {})
            vs_cv = {}
            for m, agg in models.items():
                cv_vals = [v for v in (cv_conf.get(m) or {}).get("folds", []) if v is not None]
                ext_vals = [v for v in agg["folds"] if v is not None]
                cv_s = cv_conf.get(m) or {}
                vs_cv[m] = {"cv_mean": cv_s.get("mean"), "cv_max": cv_s.get("max"),
                            "external_mean": agg["mean"],
                            "external_max": agg["max"],
                            "mannwhitney_p": float(mannwhitneyu(ext_vals, cv_vals).pvalue)
                            if len(cv_vals) > 1 and len(ext_vals) > 1 else None}
            task_out["configurations"][conf] = {"n_patients": len(d), "fold_models": models,
                                                "ensemble": ensemble, "vs_cv": vs_cv, "score": score}
        out["tasks"][task] = task_out
    dest = id_path(Path(run_dir) / "external", name, field="--name")
    dest.mkdir(parents=True, exist_ok=True)
    if rows:
        with atomic_path(dest / "predictions.csv") as tmp:
            pd.concat(rows, ignore_index=True).to_csv(tmp, index=False)
    write_json_atomic(dest / "metrics.json", _json_safe(out))
    return out

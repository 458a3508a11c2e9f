"""Every statistic of one task from its out-of-fold predictions: per-fold metrics, mean / max / bootstrap CI,
pooled curves, Kaplan-Meier of predicted groups, Cox with the model's group, attention, and the pre-specified
comparisons with the reference configuration and with each clinical factor on the same patients."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mmdlm.errors import MmdlmError
from mmdlm.evaluate.clinical import factor_table
from mmdlm.evaluate.compare import clinical_rows, compare_configurations, comparison_rows
from mmdlm.evaluate.config import CVConfig
from mmdlm.evaluate.cox import multivariable_cox
from mmdlm.evaluate.km import km_groups
from mmdlm.evaluate.paired import compare_paired
from mmdlm.modalities import MODALITIES, most_fused
from mmdlm.results.metrics import MetricsFile
from mmdlm.stats.bootstrap import bootstrap_fold_mean
from mmdlm.stats.metrics import breslow_survival, brier_grid, integrated_brier
from mmdlm.tasks.base import Task
from mmdlm.tasks.registry import get_task

ATT_COLUMNS = tuple(f"att_{m}" for m in MODALITIES)


def fold_metric_names(task: str | Task, cv: CVConfig) -> tuple[str, ...]:
    """Every per-fold metric of a task (the Task's fold_metric_names)."""
    return get_task(task).fold_metric_names(cv)


def _none_if_nan(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _aggregate(values: list[float | None], ci: dict | None) -> dict:
    """folds (None = undefined on that fold, shown as such), mean / max / min / sd over the defined folds
    only, n_defined of n_folds, and the CI."""
    defined = [v for v in values if v is not None]
    return {"folds": values, "n_folds": len(values), "mean": float(np.mean(defined)) if defined else None,
            "max": float(np.max(defined)) if defined else None,
            "min": float(np.min(defined)) if defined else None,
            "sd": float(np.std(defined, ddof=1)) if len(defined) > 1 else None,
            "n_defined": len(defined), "ci": ci or {"low": None, "high": None}}


def standardised_risk(d: pd.DataFrame) -> pd.Series:
    """Risk z-scored within each fold (each fold model has its own scale; sd 0 -> 0)."""
    g = d.groupby("fold")["risk"]
    sd = g.transform("std").replace(0.0, np.nan)
    return ((d["risk"] - g.transform("mean")) / sd).fillna(0.0)


def fold_ibs(d: pd.DataFrame, k: int, train: pd.DataFrame) -> float | None:
    """Integrated Brier score of fold k: survival from a Cox model of the standardised risk fitted on the
    other folds' out-of-fold predictions (Breslow), scored on fold k (IPCW from its training patients)."""
    z = standardised_risk(d)
    # as for Uno's C: the censoring distribution is only estimable inside the training follow-up
    other, this = d["fold"] != k, (d["fold"] == k) & (d["time"] < train["time"].max())
    if other.sum() < 2 or d.loc[other, "event"].sum() == 0 or this.sum() < 2:
        return None
    # the grid stays inside both the IPCW training follow-up and the follow-up the Cox model was fitted on
    times = brier_grid(d.loc[this, "time"], np.minimum(train["time"], d.loc[other, "time"].max()))
    if len(times) < 2:
        return None
    try:
        surv = breslow_survival(z[other], d.loc[other, "time"], d.loc[other, "event"], z[this], times)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):  # e.g. a constant risk: no Cox fit
        return None
    return integrated_brier(d.loc[this, "time"], d.loc[this, "event"], surv, train["time"], train["event"],
                            times)


def predicted_groups(task: str | Task, d: pd.DataFrame, threshold: float) -> pd.Series:
    """'high'/'low' risk by each fold's median risk (risk tasks) or 'dead'/'alive' by P(dead) >= threshold
    (5yss)."""
    return get_task(task).predicted_groups(d, threshold)


def configuration_metrics(task: str | Task, d: pd.DataFrame, truth: pd.DataFrame, cv: CVConfig, seed: int,
                          clinical: pd.DataFrame | None = None) -> dict:
    """All statistics of one configuration; `d`: patient_id, fold, score (and attention) merged with truth."""
    t = get_task(task)
    folds = sorted(int(k) for k in d["fold"].unique())
    per_fold = []
    for k in folds:
        dk = d[d["fold"] == k]
        train = truth[~truth["patient_id"].isin(dk["patient_id"])]
        if train.empty:  # external cohort: its own censoring distribution
            train = truth
        row = {"fold": k, "n": int(len(dk)), "events": int(dk["event"].sum())}
        row.update(t.fold_counts(dk))
        row.update(t.fold_metrics(dk, train, cv))
        if "ibs" in row and cv.brier and len(folds) > 1:
            row["ibs"] = fold_ibs(d, k, train)
        per_fold.append(row)
    result: dict = {"n_patients": int(len(d)), "per_fold": per_fold}
    boots = t.bootstrap_stats(cv)
    for metric in t.fold_metric_names(cv):
        ci = None
        if metric in boots and cv.bootstrap > 0:
            cols, stat = boots[metric]
            arrays = [[d.loc[d["fold"] == k, c].to_numpy(dtype=float) for c in cols] for k in folds]
            ci = bootstrap_fold_mean(arrays, stat, cv.bootstrap, seed, cv.ci_level)
        result[metric] = _aggregate([r[metric] for r in per_fold], ci)
    # pooled over all out-of-fold predictions (fold models' scales may differ: per-fold figures are primary)
    result.update(t.pooled(d, cv))
    groups = t.predicted_groups(d, cv.threshold_5yss)
    result["km"] = km_groups(d["time"], d["event"], groups, labels=t.group_labels, times=cv.km_times,
                             name=f"{t.name} {d.attrs.get('configuration', '')}".strip())
    if clinical is not None:
        result["cox"] = model_cox(t, d, groups, clinical, cv)
    att = [c for c in ATT_COLUMNS if c in d.columns and d[c].notna().any()]
    if att:
        result["attention"] = {"mean": {c[4:]: _none_if_nan(d[c].mean()) for c in att},
                               "sd": {c[4:]: _none_if_nan(d[c].std()) for c in att}}
    return result


def model_cox(task: str | Task, d: pd.DataFrame, groups: pd.Series, clinical: pd.DataFrame,
              cv: CVConfig) -> dict:
    """Multivariable Cox of the clinical covariates and the model's predicted group (1 = high risk / dead)."""
    t = get_task(task)
    name = t.group_covariate
    factors = factor_table(clinical, cv.cox_covariates).drop(columns=["time", "event"])
    table = d[["patient_id", "time", "event"]].assign(**{name: (groups == t.group_labels[1]).astype(float)})
    table = table.merge(factors, on="patient_id", how="left")
    try:
        return multivariable_cox(table, [*cv.cox_covariates, name], name=f"clinical+{name}")
    except MmdlmError as exc:
        return {"error": exc.one_line(), "covariates": []}


def choose_reference(configs, cv: CVConfig) -> tuple[str | None, str]:
    """The pre-specified reference (cv.reference, else the most fused configuration run) and where it came
    from; never the configuration with the best result."""
    names = list(configs)
    if cv.reference is not None:
        if cv.reference not in names:
            raise MmdlmError(f"reference configuration {cv.reference} was not cross-validated in this task",
                             field="cv.reference")
        return cv.reference, "cv.reference (config)"
    return most_fused(names), "pre-specified: the most fused configuration run"


def _factor_frame(task: str | Task, ref: pd.DataFrame, clinical: pd.DataFrame, factor: str) -> pd.DataFrame:
    """The reference's validation patients with a known value of `factor` as their score (same folds)."""
    score = get_task(task).score_column
    table = factor_table(clinical, (factor,))[["patient_id", factor]]
    out = ref.drop(columns=[score]).merge(table, on="patient_id", how="inner").dropna(subset=[factor])
    return out.rename(columns={factor: score})


def reference_comparisons(task: str | Task, frames: Mapping[str, pd.DataFrame], reference: str, cv: CVConfig,
                          seed: int, n_cohort: int, clinical: pd.DataFrame | None = None) -> dict:
    """Every configuration (and every clinical factor) against the reference on the patients both score."""
    score = get_task(task).score_column
    ref = frames[reference]
    kw = {"n_cohort": n_cohort, "n_boot": cv.bootstrap, "seed": seed, "level": cv.ci_level}
    out: dict = {"reference": reference, "configurations": {}, "clinical_factors": {}}
    for conf, d in frames.items():
        if conf != reference:
            out["configurations"][conf] = compare_paired(task, d, ref, score, **kw)
    if clinical is not None:
        for factor in cv.clinical_factors:
            fd = _factor_frame(task, ref, clinical, factor)
            if fd.empty:
                out["clinical_factors"][factor] = {"n_patients": 0,
                                                   "error": "factor unknown for every patient"}
                continue
            out["clinical_factors"][factor] = compare_paired(task, ref, fd, score, **kw)
    return out


def task_metrics(task: str | Task, predictions: pd.DataFrame, truth: pd.DataFrame, cv: CVConfig, seed: int,
                 clinical: pd.DataFrame | None = None) -> dict:
    """metrics.json's entry for one task: per configuration statistics, the pre-specified comparisons with
    the reference on the same patients, and the plain fold-by-fold tests of every pair (as in the paper)."""
    t = get_task(task)
    task, score = t.name, t.score_column
    cols = ["patient_id", "time", "event", "label_5y"]
    configs: dict[str, dict] = {}
    frames: dict[str, pd.DataFrame] = {}
    for conf, d in predictions.groupby("configuration", sort=False):
        d = d.merge(truth[cols], on="patient_id", how="left", validate="one_to_one")
        missing = d[d["time"].isna() | d["event"].isna()]
        if not missing.empty:
            raise MmdlmError("prediction for a patient without survival data",
                             patient=str(missing["patient_id"].iloc[0]))
        if d[score].isna().any():
            raise MmdlmError(f"missing {score} in predictions",
                             patient=str(d.loc[d[score].isna(), "patient_id"].iloc[0]), field=score)
        d.attrs["configuration"] = conf
        configs[str(conf)] = configuration_metrics(t, d, truth, cv, seed, clinical)
        frames[str(conf)] = d
    primary = t.primary_metric
    comparisons = {}
    for metric in t.fold_metric_names(cv):
        per_fold = {c: m[metric]["folds"] for c, m in configs.items()}
        if any(v is not None for vals in per_fold.values() for v in vals):
            comparisons[metric] = compare_configurations(per_fold)
    reference, source = choose_reference(configs, cv)
    vs = reference_comparisons(t, frames, reference, cv, seed, len(truth), clinical) if reference else {}
    vs["reference_source"] = source
    table = comparison_rows(configs, primary, vs, reference)
    return {"task": task, "score": score, "primary_metric": primary,
            "n_folds": int(predictions["fold"].nunique()),
            "configurations": configs, "comparisons": comparisons, "reference": reference,
            "vs_reference": vs, "table": table, "clinical_table": clinical_rows(vs)}


def truth_table(records) -> pd.DataFrame:
    """patient_id, time, event, label_5y of PatientRecord-like objects (attributes of those names)."""
    rows = []
    for r in records:
        lab = getattr(r, "label_5y", None)
        rows.append({"patient_id": str(r.patient_id), "time": float(r.time), "event": float(r.event),
                     "label_5y": np.nan if lab is None or (isinstance(lab, float) and np.isnan(lab))
                     else float(lab)})
    df = pd.DataFrame(rows, columns=["patient_id", "time", "event", "label_5y"])
    if df["patient_id"].duplicated().any():
        dup = df.loc[df["patient_id"].duplicated(), "patient_id"].iloc[0]
        raise MmdlmError("duplicate patient record", patient=str(dup))
    return df


def merge_metrics(existing: MetricsFile | Mapping | None, task: str, entry: dict) -> dict:
    """metrics.json with `task`'s entry replaced, other tasks and sections kept."""
    out = existing.dump() if isinstance(existing, MetricsFile) else dict(existing or {})
    out.setdefault("tasks", {})
    out["tasks"] = {**out["tasks"], task: entry}
    return out

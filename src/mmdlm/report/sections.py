"""The report's part of each task of the run, read from its typed metrics.json entry and chosen by the task's
type: the paper's Cox and 5YSS layouts (LAYOUTS), and for every other task (e.g. discrete) a section of its
own (`task_section`): its primary metric per configuration against the reference and what it was computed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmdlm.modalities import CONFIGURATIONS, most_fused
from mmdlm.results.metrics import (
    ConfigurationEntry,
    CoxError,
    CoxFit,
    KaplanMeier,
    MetricsFile,
    TaskMetrics,
)
from mmdlm.tasks.base import Task
from mmdlm.tasks.cox import CoxTask
from mmdlm.tasks.fiveyear import FiveYearTask
from mmdlm.tasks.registry import get_task, task_names

#: the same-patient comparison fields copied from metrics.json's table rows
_VS_KEYS = ("n_patients_compared", "n_folds_compared", "difference", "corrected_t_p", "bootstrap_difference",
            "bootstrap_low", "bootstrap_high", "bootstrap_p", "note")


def table_rows(task: TaskMetrics) -> list[dict[str, Any]]:
    """The paper-shaped table of one task (every configuration vs the pre-specified reference, same
    patients); per-fold values None = undefined on that fold (left out of the mean, n_defined counts)."""
    return [
        {
            "configuration": r.configuration,
            "metric": r.metric,
            "folds": r.folds,
            "n_defined": r.n_defined,
            "n_folds": r.n_folds,
            "mean": r.mean,
            "max": r.max,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "p_ttest": r.ttest_p,
            "p_wilcoxon": r.wilcoxon_p,
            "vs": r.vs,
            **{k: getattr(r, k) for k in _VS_KEYS},
        }
        for r in task.table
    ]


def clinical_rows(task: TaskMetrics) -> list[dict[str, Any]]:
    """Each clinical factor beside the reference model on the same folds and patients, with the tests."""
    keep = ("factor", "model", "model_mean", "factor_mean", "model_folds", "factor_folds", "ttest_p",
            "wilcoxon_p", "error", *_VS_KEYS)
    return [{k: getattr(r, k) for k in keep} for r in task.clinical_table]


def metrics_rows(task: TaskMetrics) -> list[dict[str, Any]]:
    """Per configuration every metric of the task (for a risk task: Harrell's and Uno's C, time-dependent
    AUCs, the integrated Brier score): means over the folds where each is defined, with that count."""
    return [
        {"configuration": conf,
         "metrics": {name: {"mean": m.mean, "n_defined": m.n_defined, "n_folds": m.n_folds}
                     for name, m in c.metrics.items()}}
        for conf, c in task.configurations.items()
    ]


def _metric_block(conf: ConfigurationEntry, name: str) -> dict[str, Any]:
    m = conf.metric(name)
    return {
        "mean": m.mean if m else None,
        "max": m.max if m else None,
        "ci_low": m.ci.low if m else None,
        "ci_high": m.ci.high if m else None,
        "pooled": conf.pooled.get(name),
    }


def cox_block(cox: CoxFit | CoxError | None) -> dict[str, Any] | None:
    """A fitted Cox model as the report shows it (None when there is none or it could not be fitted)."""
    if not isinstance(cox, CoxFit):
        return None
    ph = [c.ph_p for c in cox.covariates if c.ph_p is not None]
    return {
        "n": cox.n,
        "events": cox.events,
        "dropped_incomplete": cox.dropped_incomplete,
        "unknown": cox.unknown,
        "unknown_handling": cox.unknown_handling,
        "ph_test_min_p": min(ph) if ph else None,
        "covariates": [{"name": c.name, "hr": c.hr, "ci_low": c.ci_low, "ci_high": c.ci_high, "p": c.p}
                       for c in cox.covariates],
    }


def cox_error(cox: CoxFit | CoxError | None) -> str | None:
    """Why a Cox model could not be fitted (None when it was, or none was asked for)."""
    return cox.error if isinstance(cox, CoxError) else None


def _km(block: KaplanMeier | None, title: str) -> dict[str, Any] | None:
    if block is None or not block.groups:
        return None
    return {**block.dump(), "name": title}


def _headline(cox: TaskMetrics) -> dict[str, Any]:
    """Mean C-index of the fused model next to the best unimodal, and the pre-specified reference."""
    confs = cox.configurations
    means = {c: (v.metric("c_index").mean if v.metric("c_index") else None) for c, v in confs.items()}
    unimodal = {c: m for c, m in means.items() if len(CONFIGURATIONS[c]) == 1 and m is not None}
    fused = most_fused(confs)
    best_uni = max(unimodal, key=unimodal.get) if unimodal else None
    return {
        "fused": fused,
        "fused_c_index": means.get(fused),
        "best_unimodal": best_uni,
        "best_unimodal_c_index": unimodal.get(best_uni) if best_uni else None,
        "reference": cox.reference,
    }


def cox_layout(d: dict[str, Any], task: Task, entry: TaskMetrics) -> None:
    """The paper's survival part: C-index table, clinical factors beside the model, survival metrics, the
    fused model's KM, Cox model with its group, attention, and the headline."""
    d["reference_configuration"] = entry.reference
    d["reference_source"] = entry.vs_reference.reference_source
    d["cindex_table"] = table_rows(entry)
    d["clinical_vs_model"] = clinical_rows(entry)
    d["survival_metrics"] = metrics_rows(entry)
    fused = most_fused(entry.configurations)
    conf = entry.configurations[fused]
    d["km"].append(_km(conf.km, f"Cox risk of {fused}, split at each fold's median"))
    d["cox"] = cox_block(conf.cox)
    d["cox_error"] = cox_error(conf.cox)
    if d["cox"]:
        d["cox"]["configuration"] = fused
    if conf.attention is not None:
        d["attention"] = {"configuration": fused, **conf.attention.dump()}
    d["headline"] = _headline(entry)


def fivey_layout(d: dict[str, Any], task: Task, entry: TaskMetrics) -> None:
    """The paper's 5YSS part: the fused model's metrics and curves, the ROC AUC table and its KM."""
    fused = most_fused(entry.configurations)
    conf = entry.configurations[fused]
    d["fivey"] = {
        "configuration": fused,
        "roc_curve": conf.roc_curve.dump() if conf.roc_curve else None,
        "pr_curve": conf.pr_curve.dump() if conf.pr_curve else None,
        "calibration": conf.calibration.dump() if conf.calibration else None,
        **{m: _metric_block(conf, m) for m in ("accuracy", "roc_auc", "pr_auc", "brier_5y")},
    }
    d["fivey_table"] = table_rows(entry)
    d["fivey_reference"] = entry.reference
    d["km"].append(_km(conf.km, f"5YSS predicted class of {fused}"))


def task_section(task: Task, entry: TaskMetrics) -> dict[str, Any]:
    """The section of a task without a layout of its own: its primary metric per configuration against the
    pre-specified reference (metrics.json's table), every metric per configuration, and what they were
    computed on (folds, the CVConfig field they come from, stratification, patients, score, parameters)."""
    rows = table_rows(entry)
    return {
        "task": task.name,
        "title": task.title,
        "metric": entry.primary_metric,
        "score": entry.score,
        "n_folds": entry.n_folds,
        "folds_field": task.folds_field,
        "stratified_by": task.stratify_column,
        "n_patients": {conf: c.n_patients for conf, c in entry.configurations.items()},
        "params": {k: v for k, v in task.params().items() if v is not None},
        "reference": entry.reference,
        "reference_source": entry.vs_reference.reference_source,
        "table": rows,
        "metrics": metrics_rows(entry),
        "notes": sorted({r["note"] for r in rows if r["note"]}),
    }


Layout = Callable[[dict[str, Any], Task, TaskMetrics], None]

#: the report's own layout of a task type (the paper's sections); every other task gets a task_section
LAYOUTS: dict[type[Task], Layout] = {CoxTask: cox_layout, FiveYearTask: fivey_layout}


def add_tasks(d: dict[str, Any], metrics: MetricsFile) -> None:
    """Every registered task of the run into the report data `d`, in registry order: its layout when its
    type has one, else a task section; `d["cv"]` gets each task's folds under its folds field."""
    d["cv"] = {get_task(name).folds_field: None for name in task_names()}
    for name in task_names():
        entry = metrics.tasks.get(name)
        if entry is None:
            continue
        task = get_task(name)
        if d["cv"][task.folds_field] is None:
            d["cv"][task.folds_field] = entry.n_folds
        layout = LAYOUTS.get(type(task))
        if layout is not None:
            layout(d, task, entry)
        else:
            d["task_sections"].append(task_section(task, entry))
    d["km"] = [k for k in d["km"] if k]

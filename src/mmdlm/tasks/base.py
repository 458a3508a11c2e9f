"""The Task contract: everything train, evaluate, explain and report need to know about one prediction task.

A task owns its head width, loss, how a model output becomes a score, the score column, the primary and
per-fold metrics, the label and eligibility rule and the fold stratification column. Risk tasks (higher score
= earlier death, judged by the C-index) share the survival statistics of RiskTask.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mmdlm.tasks.targets import Targets


@dataclass(frozen=True)
class Task:
    """Base of every task; subclasses set the class attributes and the methods marked as theirs."""

    #: name in configs, folds.json, predictions.csv and metrics.json
    name: ClassVar[str]
    #: what the report calls the task (a section heading)
    title: ClassVar[str]
    #: predictions.csv / per-patient column of the score
    score_column: ClassVar[str]
    #: the metric each fold and the external table are judged by
    primary_metric: ClassVar[str]
    #: truth column the folds are stratified by ("event" or "label_5y")
    stratify_column: ClassVar[str]
    #: CVConfig field with the number of folds of this task
    folds_field: ClassVar[str]
    #: CVConfig field with this task's own configurations (None: cv.configurations)
    configurations_field: ClassVar[str | None] = None
    #: how the gallery names the score ("risk", "p(deceased)")
    score_label: ClassVar[str]
    #: labels of the predicted groups (low, high) for Kaplan-Meier
    group_labels: ClassVar[tuple[str, str]]
    #: covariate name of the model's predicted high group in the multivariable Cox model
    group_covariate: ClassVar[str]

    # --- model side (torch imported by the caller) -------------------------------------------------------
    @property
    def head_width(self) -> int:
        """Width of the net's output layer (1: the output is squeezed to [B])."""
        raise NotImplementedError

    def loss(self, out: Any, targets: Targets, ties: str = "efron") -> Any:
        """Training loss of the net output `out` against the batch's `targets`."""
        raise NotImplementedError

    def score(self, out: Any) -> Any:
        """Per-sample score [B] (float32) of the net output: the column `score_column` holds its means."""
        raise NotImplementedError

    def scalar_target(self, out: Any) -> Any:
        """Per-sample scalar Grad-CAM explains and markups rank (monotone in the score)."""
        return self.score(out)

    def fitted(self, train: Sequence[Any]) -> Task:
        """This task with what it learns from the training fold (e.g. time bins); most tasks: itself."""
        return self

    def params(self) -> dict:
        """Plain-typed parameters fitted by `fitted` (saved in checkpoints; get_task(name, **params))."""
        return {}

    # --- population --------------------------------------------------------------------------------------
    def eligible_record(self, record: Any) -> bool:
        """Whether a PatientRecord-like object has this task's label."""
        return True

    def eligible_truth(self, truth: pd.DataFrame) -> pd.DataFrame:
        """The rows of a truth table (patient_id, time, event, label_5y) that have this task's label."""
        return truth

    def strata(self, truth: pd.DataFrame) -> list[int]:
        """Fold strata of an (eligible) truth table."""
        return truth[self.stratify_column].astype(int).tolist()

    def record_stratum(self, record: Any) -> Any:
        """Stratum of one record for the holdout split."""
        return getattr(record, self.stratify_column)

    def check_training(self, train: Sequence[Any], stage: str) -> None:
        """Raise MmdlmError when the training patients cannot fit this task (e.g. no event)."""

    # --- statistics --------------------------------------------------------------------------------------
    def validation_metric(self, agg: pd.DataFrame) -> float:
        """The epoch's validation metric on per-patient predictions merged with time, event, label."""
        raise NotImplementedError

    def fold_metric_names(self, cv: Any) -> tuple[str, ...]:
        """Every per-fold metric name in metrics.json."""
        raise NotImplementedError

    def fold_metrics(self, d: pd.DataFrame, train: pd.DataFrame, cv: Any) -> dict:
        """Per-fold metrics of one fold's predictions (`train`: its training patients' truth)."""
        raise NotImplementedError

    def fold_counts(self, d: pd.DataFrame) -> dict:
        """Task-specific counts of a per_fold row (besides n and events)."""
        return {}

    def bootstrap_stats(self, cv: Any) -> dict[str, tuple[tuple[str, ...], Callable]]:
        """metric -> (columns, weighted statistic) bootstrapped over patients."""
        raise NotImplementedError

    def paired_stat(self) -> tuple[tuple[str, ...], Callable[..., np.ndarray]]:
        """(outcome columns, weighted statistic(W, *outcome, score)) of the paired comparisons."""
        raise NotImplementedError

    def pooled(self, d: pd.DataFrame, cv: Any) -> dict:
        """Entries of a configuration computed on all out-of-fold predictions together (pooled, curves)."""
        raise NotImplementedError

    def predicted_groups(self, d: pd.DataFrame, threshold: float) -> pd.Series:
        """The predicted group of each row, one of group_labels."""
        raise NotImplementedError

    @property
    def per_model_scale(self) -> bool:
        """True when each fold model has its own score scale (z-scored before ensembling or ranking)."""
        return False

    @property
    def quantile_classes(self) -> bool:
        """True when markup classes are quantiles of the score (risk), False for probability classes."""
        return self.per_model_scale


@dataclass(frozen=True)
class RiskTask(Task):
    """A task whose score is a risk (higher = earlier death) judged by Harrell's C-index, with Uno's C, the
    time-dependent AUCs and the integrated Brier score as secondary metrics."""

    score_column: ClassVar[str] = "risk"
    primary_metric: ClassVar[str] = "c_index"
    stratify_column: ClassVar[str] = "event"
    folds_field: ClassVar[str] = "folds_cox"
    score_label: ClassVar[str] = "risk"
    group_labels: ClassVar[tuple[str, str]] = ("low", "high")
    group_covariate: ClassVar[str] = "model_high_risk"
    #: the likelihood named when no training patient has an event
    likelihood: ClassVar[str] = "Cox"

    def check_training(self, train: Sequence[Any], stage: str) -> None:
        from mmdlm.errors import MmdlmError

        if not any(r.event for r in train):
            raise MmdlmError(
                f"stage {stage}: no event among the {len(train)} training patients (the {self.likelihood} "
                "likelihood needs at least one)", field="event")

    def validation_metric(self, agg: pd.DataFrame) -> float:
        from mmdlm.stats.validation import c_index

        return c_index(agg["time"].to_numpy(), agg["event"].to_numpy(), agg["risk"].to_numpy())

    def fold_metric_names(self, cv: Any) -> tuple[str, ...]:
        return ("c_index", "c_index_uno", *(auc_key(t) for t in cv.auc_times), "ibs")

    def fold_metrics(self, d: pd.DataFrame, train: pd.DataFrame, cv: Any) -> dict:
        from mmdlm.stats.metrics import harrell_cindex, time_dependent_auc, uno_cindex

        out = {"c_index": harrell_cindex(d["time"], d["event"], d["risk"]), "c_index_uno": None}
        if cv.uno:
            out["c_index_uno"] = uno_cindex(d["time"], d["event"], d["risk"], train["time"], train["event"])
        aucs = time_dependent_auc(d["time"], d["event"], d["risk"], train["time"], train["event"],
                                  cv.auc_times)
        out.update({auc_key(t): aucs[f"{t:g}"] for t in cv.auc_times})
        out["ibs"] = None  # filled by configuration_metrics (needs the other folds' predictions)
        return out

    def bootstrap_stats(self, cv: Any) -> dict[str, tuple[tuple[str, ...], Callable]]:
        from mmdlm.stats.bootstrap import harrell_weighted

        return {"c_index": (("time", "event", "risk"), harrell_weighted)}

    def paired_stat(self) -> tuple[tuple[str, ...], Callable[..., np.ndarray]]:
        from mmdlm.stats.bootstrap import harrell_weighted

        return ("time", "event"), harrell_weighted

    def pooled(self, d: pd.DataFrame, cv: Any) -> dict:
        from mmdlm.stats.metrics import harrell_cindex

        return {"pooled": {"c_index": harrell_cindex(d["time"], d["event"], d["risk"])}}

    def predicted_groups(self, d: pd.DataFrame, threshold: float) -> pd.Series:
        med = d.groupby("fold")["risk"].transform("median")
        import pandas as pd

        return pd.Series(np.where(d["risk"] > med, "high", "low"), index=d.index)

    @property
    def per_model_scale(self) -> bool:
        return True


def auc_key(months: float) -> str:
    """Name of the time-dependent AUC at `months` in per_fold rows and configuration entries."""
    return f"auc_{months:g}m"


def nan_to_zero(metric: float) -> float:
    """An undefined metric (no comparable pair, one class) as 0.0, so it never counts as the best epoch."""
    return 0.0 if math.isnan(metric) else metric

"""The 5YSS task: dead within five years or alive after five (patients censored earlier have no label)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mmdlm.tasks.targets import Targets

from mmdlm.tasks.base import Task


def _brier_5y(label, p_dead) -> float | None:
    from sklearn.metrics import brier_score_loss

    return float(brier_score_loss(np.asarray(label, int), np.asarray(p_dead, float))) if len(label) else None


@dataclass(frozen=True)
class FiveYearTask(Task):
    """Two logits; score p(dead within 5 years); judged by ROC AUC (accuracy, PR AUCs, Brier secondary)."""

    name: ClassVar[str] = "5yss"
    title: ClassVar[str] = "5-year disease-specific survival status (5YSS)"
    score_column: ClassVar[str] = "p_dead_5y"
    primary_metric: ClassVar[str] = "roc_auc"
    stratify_column: ClassVar[str] = "label_5y"
    folds_field: ClassVar[str] = "folds_5yss"
    configurations_field: ClassVar[str | None] = "configurations_5yss"
    score_label: ClassVar[str] = "p(deceased)"
    group_labels: ClassVar[tuple[str, str]] = ("alive", "dead")
    group_covariate: ClassVar[str] = "model_predicted_dead"

    @property
    def head_width(self) -> int:
        return 2

    def loss(self, out: Any, targets: Targets, ties: str = "efron") -> Any:
        from mmdlm.tasks.losses import survival_5y_loss

        return survival_5y_loss(out.out.float(), targets.label)

    def score(self, out: Any) -> Any:
        import torch

        return torch.softmax(out.out.float(), dim=1)[:, 1]

    def scalar_target(self, out: Any) -> Any:
        """log-odds of deceased, logit[1] - logit[0] (monotone in p(dead))."""
        return out.out[:, 1] - out.out[:, 0]

    def eligible_record(self, record: Any) -> bool:
        return record.label_5y is not None

    def eligible_truth(self, truth: pd.DataFrame) -> pd.DataFrame:
        return truth[truth["label_5y"].notna()].reset_index(drop=True)

    def validation_metric(self, agg: pd.DataFrame) -> float:
        from mmdlm.stats.validation import roc_auc

        agg = agg[agg["label"] >= 0]
        return roc_auc(agg["label"].to_numpy(), agg["p_dead_5y"].to_numpy())

    def fold_metric_names(self, cv: Any) -> tuple[str, ...]:
        return ("accuracy", "roc_auc", "pr_auc", "pr_auc_alive", "brier_5y")

    def fold_metrics(self, d: pd.DataFrame, train: pd.DataFrame, cv: Any) -> dict:
        from mmdlm.stats.metrics import classification_metrics

        out = classification_metrics(d["label_5y"], d["p_dead_5y"], cv.threshold_5yss)
        out["brier_5y"] = _brier_5y(d["label_5y"], d["p_dead_5y"])
        return out

    def fold_counts(self, d: pd.DataFrame) -> dict:
        return {"dead_5y": int(d["label_5y"].sum())}

    def bootstrap_stats(self, cv: Any) -> dict[str, tuple[tuple[str, ...], Callable]]:
        from mmdlm.stats.bootstrap import accuracy_weighted, average_precision_weighted, roc_auc_weighted

        cols = ("label_5y", "p_dead_5y")
        return {"accuracy": (cols, lambda W, y, p: accuracy_weighted(W, y, p, cv.threshold_5yss)),
                "roc_auc": (cols, roc_auc_weighted),
                "pr_auc": (cols, average_precision_weighted),
                "pr_auc_alive": (cols, lambda W, y, p: average_precision_weighted(W, 1 - y, -p))}

    def paired_stat(self) -> tuple[tuple[str, ...], Callable[..., np.ndarray]]:
        from mmdlm.stats.bootstrap import roc_auc_weighted

        return ("label_5y",), roc_auc_weighted

    def pooled(self, d: pd.DataFrame, cv: Any) -> dict:
        from mmdlm.stats.metrics import calibration_points, classification_metrics, pr_points, roc_points

        y, p = d["label_5y"], d["p_dead_5y"]
        return {"pooled": classification_metrics(y, p, cv.threshold_5yss), "roc_curve": roc_points(y, p),
                "pr_curve": pr_points(y, p), "calibration": calibration_points(y, p, cv.calibration_bins)}

    def predicted_groups(self, d: pd.DataFrame, threshold: float) -> pd.Series:
        import pandas as pd

        return pd.Series(np.where(d["p_dead_5y"] >= threshold, "dead", "alive"), index=d.index)

"""Validation metrics from libraries: Harrell's C-index (lifelines) and ROC AUC (scikit-learn)."""

from __future__ import annotations

import math

import numpy as np

from mmdlm.cindex import harrell_cindex


def c_index(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index of a risk score (higher = earlier death), mmdlm.cindex's; NaN (for the training
    log) where that is None."""
    value = harrell_cindex(time, event, risk)
    return math.nan if value is None else value


def roc_auc(label: np.ndarray, p_dead: np.ndarray) -> float:
    """ROC AUC of p(dead within 5 years); NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    label = np.asarray(label)
    if len(np.unique(label)) < 2:
        return math.nan
    return float(roc_auc_score(label, p_dead))

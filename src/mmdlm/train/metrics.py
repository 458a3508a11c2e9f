"""Validation metrics from libraries: Harrell's C-index (lifelines) and ROC AUC (scikit-learn)."""

from __future__ import annotations

import math

import numpy as np


def c_index(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index of a risk score (higher = earlier death); NaN when no pair is comparable."""
    from lifelines.utils import concordance_index

    try:
        return float(concordance_index(time, -np.asarray(risk, dtype=float), event))
    except ZeroDivisionError:
        return math.nan


def roc_auc(label: np.ndarray, p_dead: np.ndarray) -> float:
    """ROC AUC of p(dead within 5 years); NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    label = np.asarray(label)
    if len(np.unique(label)) < 2:
        return math.nan
    return float(roc_auc_score(label, p_dead))

"""Point metrics: Harrell's and Uno's C-index, time-dependent AUC and the integrated Brier score for a risk
score; accuracy / ROC AUC / PR AUC / calibration for 5YSS.

Every value comes from lifelines, scikit-survival or scikit-learn. A metric that is undefined on the given
patients (no comparable pair, a single class) is None, never an exception and never a made-up number.
"""

from __future__ import annotations

import warnings

import numpy as np

from mmdlm.cindex import harrell_cindex

__all__ = ["harrell_cindex"]  # the one wrapper lives in mmdlm.cindex; more names below


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def uno_cindex(time, event, risk, train_time=None, train_event=None) -> float | None:
    """Uno's IPCW C-index (scikit-survival); censoring distribution from the training patients (or these)."""
    from sksurv.metrics import concordance_index_ipcw
    from sksurv.util import Surv

    t, e, r = _arr(time), _arr(event).astype(bool), _arr(risk)
    if len(t) < 2 or not e.any():
        return None
    tt = t if train_time is None else _arr(train_time)
    te = e if train_event is None else _arr(train_event).astype(bool)
    keep = t < tt.max()  # the censoring distribution is only estimable inside the training follow-up
    if not e[keep].any():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = concordance_index_ipcw(Surv.from_arrays(te, tt), Surv.from_arrays(e[keep], t[keep]),
                                           r[keep])[0]
    except (ValueError, ZeroDivisionError):
        return None
    return None if not np.isfinite(value) else float(value)


def classification_metrics(label, p_dead, threshold: float = 0.5) -> dict[str, float | None]:
    """Accuracy, ROC AUC and PR AUC (average precision) of P(dead within 5 years) against label_5y (1 = dead).

    `pr_auc` takes death as the positive class; `pr_auc_alive` takes survival as positive (the reading under
    which the paper's PR AUC exceeds its ROC AUC).
    """
    from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

    y = _arr(label).astype(int)
    p = _arr(p_dead)
    out: dict[str, float | None] = {"accuracy": None, "roc_auc": None, "pr_auc": None, "pr_auc_alive": None}
    if len(y) == 0:
        return out
    out["accuracy"] = float(accuracy_score(y, (p >= threshold).astype(int)))
    if 0 < y.sum() < len(y):
        out["roc_auc"] = float(roc_auc_score(y, p))
        out["pr_auc"] = float(average_precision_score(y, p))
        out["pr_auc_alive"] = float(average_precision_score(1 - y, -p))
    return out


def roc_points(label, p_dead) -> dict[str, list[float]]:
    """ROC curve points (scikit-learn): fpr, tpr, thresholds (death = positive)."""
    from sklearn.metrics import roc_curve

    y, p = _arr(label).astype(int), _arr(p_dead)
    if not 0 < y.sum() < len(y):
        return {"fpr": [], "tpr": [], "thresholds": []}
    fpr, tpr, thr = roc_curve(y, p)
    thr = np.where(np.isfinite(thr), thr, 1.0)  # sklearn's first threshold is +inf
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr.tolist()}


def pr_points(label, p_dead) -> dict[str, list[float]]:
    """Precision-recall curve points (scikit-learn): recall, precision, thresholds (death = positive)."""
    from sklearn.metrics import precision_recall_curve

    y, p = _arr(label).astype(int), _arr(p_dead)
    if not 0 < y.sum() < len(y):
        return {"recall": [], "precision": [], "thresholds": []}
    prec, rec, thr = precision_recall_curve(y, p)
    return {"recall": rec.tolist(), "precision": prec.tolist(), "thresholds": thr.tolist()}


def _surv(event, time):
    from sksurv.util import Surv

    return Surv.from_arrays(_arr(event).astype(bool), _arr(time))


def time_dependent_auc(time, event, risk, train_time, train_event, times) -> dict[str, float | None]:
    """Cumulative/dynamic AUC (scikit-survival cumulative_dynamic_auc) of a risk score at each of `times`
    (months), IPCW from the training patients; None at a time outside both follow-ups or without cases."""
    from sksurv.metrics import cumulative_dynamic_auc

    t, e, r = _arr(time), _arr(event).astype(bool), _arr(risk)
    tt, te = _arr(train_time), _arr(train_event).astype(bool)
    out: dict[str, float | None] = {}
    for when in times:
        key = f"{when:g}"
        out[key] = None
        # sksurv needs test times inside the training follow-up, a case (event by `when`) and a control
        keep = t < tt.max()
        if not (e[keep] & (t[keep] <= when)).any() or not (t[keep] > when).any() or when >= t[keep].max():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                auc, _ = cumulative_dynamic_auc(_surv(te, tt), _surv(e[keep], t[keep]), r[keep], [when])
        except ValueError:
            continue
        out[key] = float(auc[0]) if np.isfinite(auc[0]) else None
    return out


def brier_grid(time, train_time, n: int = 20) -> np.ndarray:
    """Times (months) of the integrated Brier score: n points between the 10th and 80th percentile of the
    test follow-up, kept below the longest training follow-up (where IPCW weights are defined)."""
    t = _arr(time)
    lo, hi = np.percentile(t, [10.0, 80.0])
    hi = min(hi, float(np.max(_arr(train_time))) - 1e-6)
    return np.linspace(lo, hi, n) if hi > lo else np.array([])


def integrated_brier(time, event, survival, train_time, train_event, times) -> float | None:
    """scikit-survival integrated_brier_score of survival probabilities `survival` [n, len(times)]."""
    from sksurv.metrics import integrated_brier_score

    t, e = _arr(time), _arr(event)
    times = _arr(times)
    if len(times) < 2 or len(t) < 2:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = integrated_brier_score(_surv(train_event, train_time), _surv(e, t), np.asarray(survival),
                                           times)
    except ValueError:
        return None
    return float(value) if np.isfinite(value) else None


def breslow_survival(train_risk, train_time, train_event, risk, times) -> np.ndarray:
    """Survival probabilities [n, len(times)] from a Cox model of the (standardised) risk score fitted on
    other patients (scikit-survival CoxPHSurvivalAnalysis, Breslow baseline hazard)."""
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    model = CoxPHSurvivalAnalysis(alpha=1e-4, ties="breslow")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_arr(train_risk)[:, None], _surv(train_event, train_time))
        fns = model.predict_survival_function(_arr(risk)[:, None])
    grid = _arr(times)
    return np.array([fn(grid) for fn in fns]).reshape(len(fns), len(grid))  # each step function on the grid


def calibration_points(label, p_dead, n_bins: int = 5) -> dict[str, list[float]]:
    """Calibration curve (scikit-learn calibration_curve, quantile bins) of P(dead within 5 years): mean
    predicted probability and observed fraction dead per bin, plus the Brier score."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    y, p = _arr(label).astype(int), _arr(p_dead)
    if len(y) < n_bins or not 0 < y.sum() < len(y):
        return {"predicted": [], "observed": [], "brier": None, "n_bins": n_bins}
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
    return {"predicted": predicted.tolist(), "observed": observed.tolist(),
            "brier": float(brier_score_loss(y, p)), "n_bins": n_bins}

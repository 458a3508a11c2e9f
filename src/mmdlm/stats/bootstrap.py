"""Seeded patient-level bootstrap of a mean-over-folds metric (percentile interval).

A bootstrap replicate of a fold is a multiset of its patients, i.e. a count vector w (multinomial). Every
metric here is written for such weights so that all replicates are evaluated at once with matrix products;
each
weighted metric equals the library's value on the explicitly resampled patients (lifelines concordance_index,
scikit-learn roc_auc_score / average_precision_score / accuracy_score), which tests/evaluate checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: stat(W [B, n] counts, *arrays of length n) -> values [B] (NaN where undefined on a replicate)
WeightedStat = Callable[..., np.ndarray]


def _quadratic(W: np.ndarray, A: np.ndarray) -> np.ndarray:
    return ((W @ A) * W).sum(axis=1)


def harrell_weighted(W: np.ndarray, time, event, risk) -> np.ndarray:
    """Harrell's C per replicate, lifelines' pair rules: i before j with i an event, or same time with i an
    event and j censored; equal risks count 1/2."""
    t, e, r = (np.asarray(a, float) for a in (time, event, risk))
    ev = e[:, None] == 1
    comparable = ((t[:, None] < t[None, :]) & ev) | ((t[:, None] == t[None, :]) & ev & (e[None, :] == 0))
    score = (r[:, None] > r[None, :]) + 0.5 * (r[:, None] == r[None, :])
    num = _quadratic(W, comparable * score)
    den = _quadratic(W, comparable.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def roc_auc_weighted(W: np.ndarray, label, score) -> np.ndarray:
    """ROC AUC per replicate (Mann-Whitney: P(score_pos > score_neg) + 1/2 P(tie))."""
    y, s = np.asarray(label, float), np.asarray(score, float)
    pair = (y[:, None] == 1) & (y[None, :] == 0)
    A = pair * ((s[:, None] > s[None, :]) + 0.5 * (s[:, None] == s[None, :]))
    den = (W @ y) * (W @ (1 - y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, _quadratic(W, A) / np.where(den > 0, den, 1), np.nan)


def average_precision_weighted(W: np.ndarray, label, score) -> np.ndarray:
    """Average precision per replicate with scikit-learn's step rule over distinct score thresholds."""
    y, s = np.asarray(label, float), np.asarray(score, float)
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    ends = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s) - 1]
    Ws = W[:, order]
    tp = np.cumsum(Ws * y[order], axis=1)[:, ends]
    seen = np.cumsum(Ws, axis=1)[:, ends]
    pos = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / np.where(seen > 0, seen, 1), 0.0)
        recall = tp / np.where(pos > 0, pos, 1)
    ap = np.sum(np.diff(np.c_[np.zeros(len(W)), recall], axis=1) * precision, axis=1)
    return np.where(pos[:, 0] > 0, ap, np.nan)


def accuracy_weighted(W: np.ndarray, label, score, threshold: float = 0.5) -> np.ndarray:
    """Accuracy of score >= threshold per replicate."""
    y, s = np.asarray(label, float), np.asarray(score, float)
    correct = ((s >= threshold).astype(float) == y).astype(float)
    tot = W.sum(axis=1)
    return np.where(tot > 0, (W @ correct) / np.where(tot > 0, tot, 1), np.nan)


def resample_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """[n_boot, n] patient counts of n draws with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def bootstrap_fold_mean(
    folds: Sequence[Sequence[np.ndarray]],
    stat: WeightedStat,
    n_boot: int,
    seed: int,
    level: float = 0.95,
    chunk: int = 250,
) -> dict[str, float | int | None]:
    """Percentile interval of mean_k stat(fold k) when each fold's patients are resampled with replacement.

    `folds[k]` holds that fold's per-patient arrays (e.g. time, event, risk). A replicate's value is the mean
    over the folds where the metric is defined; replicates with no defined fold are dropped and counted.
    """
    out: dict[str, float | int | None] = {"low": None, "high": None, "n_boot": int(n_boot), "n_undefined": 0}
    folds = [f for f in folds if len(f[0]) > 0]
    if n_boot <= 0 or not folds:
        return out
    rng = np.random.default_rng(seed)
    values = np.full((len(folds), n_boot), np.nan)
    for k, arrays in enumerate(folds):
        n = len(arrays[0])
        for start in range(0, n_boot, chunk):
            W = resample_counts(rng, n, min(chunk, n_boot - start))
            values[k, start:start + len(W)] = stat(W, *arrays)
    defined = ~np.isnan(values)
    any_defined = defined.any(axis=0)
    out["n_undefined"] = int((~any_defined).sum())
    if any_defined.any():
        means = np.nansum(values[:, any_defined], axis=0) / defined[:, any_defined].sum(axis=0)
        alpha = (1.0 - level) / 2.0
        out["low"], out["high"] = (float(q) for q in np.quantile(means, [alpha, 1.0 - alpha]))
    return out

"""Pre-specified comparisons on the same patients: the corrected resampled t-test (Nadeau and Bengio 2003)
over folds and a patient-level paired bootstrap of the metric difference on out-of-fold predictions.

Cross-validation folds share most of their training patients, so per-fold metrics are not independent and
the plain paired t-test over folds is anti-conservative; Nadeau and Bengio's correction inflates the variance
of the mean difference by (1/J + n_test/n_train). The paired bootstrap resamples each fold's patients with
replacement, the same draw for both scores, and recomputes both metrics on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from mmdlm.evaluate.bootstrap import harrell_weighted, resample_counts, roc_auc_weighted

#: significance level whose reachability is stated
ALPHA = 0.05


def corrected_resampled_ttest(differences: Sequence[float | None], n_train: float,
                              n_test: float) -> dict[str, float | int | None]:
    """Two-sided corrected resampled t-test of per-fold differences (Nadeau & Bengio): t = mean(d) /
    sqrt((1/J + n_test/n_train) var(d)), J - 1 degrees of freedom; undefined folds (None) are left out."""
    from scipy.stats import t as student_t

    d = np.array([x for x in differences if x is not None], dtype=float)
    out: dict[str, float | int | None] = {"n_folds": int(len(d)), "mean_difference": None, "t": None,
                                          "df": None, "p": None}
    if len(d) == 0:
        return out
    out["mean_difference"] = float(d.mean())
    if len(d) < 2 or n_train <= 0:
        return out
    var = float(d.var(ddof=1))
    if var <= 0:
        return out
    t = float(d.mean() / np.sqrt((1.0 / len(d) + n_test / n_train) * var))
    out.update(t=t, df=int(len(d) - 1), p=float(2.0 * student_t.sf(abs(t), len(d) - 1)))
    return out


def min_wilcoxon_p(n_folds: int) -> float:
    """Smallest two-sided p-value the exact Wilcoxon signed-rank test can give on n_folds pairs: 2 / 2^n."""
    return 2.0 / 2.0 ** n_folds if n_folds > 0 else 1.0


def folds_statement(n_folds: int) -> str | None:
    """What the number of folds allows (None when every test can reach p < 0.05)."""
    if n_folds < 2:
        return f"{n_folds} fold(s) with a defined value on both sides: no test over folds is possible"
    low = min_wilcoxon_p(n_folds)
    if low >= ALPHA:
        return (f"{n_folds} folds: the Wilcoxon signed-rank test cannot reach p < {ALPHA:g} (smallest "
                f"possible two-sided p = {low:.3g}); the t-tests have only {n_folds - 1} degree(s) of "
                "freedom")
    return None


#: weighted statistic per task: stat(W, *outcome columns, score) -> [B]
_STATS: dict[str, tuple[tuple[str, ...], Callable[..., np.ndarray]]] = {
    "cox": (("time", "event"), harrell_weighted),
    "5yss": (("label_5y",), roc_auc_weighted),
}


def _fold_values(stat, cols: list[np.ndarray], score: np.ndarray) -> float | None:
    v = stat(np.ones((1, len(score))), *cols, score)[0]
    return None if not np.isfinite(v) else float(v)


def paired_bootstrap(folds: Sequence[pd.DataFrame], task: str, n_boot: int, seed: int,
                     level: float = 0.95) -> dict[str, float | int | None]:
    """Patient-level paired bootstrap of mean_k [metric(a) - metric(b)] over folds.

    Each fold's frame holds the outcome columns and score_a, score_b of the same patients; a replicate
    resamples each fold's patients once and scores both on that draw. p: two-sided, twice the smaller share
    of replicates on either side of 0 (at least 1 / n_boot).
    """
    cols, stat = _STATS[task]
    out: dict[str, float | int | None] = {"n_boot": int(n_boot), "difference": None, "low": None,
                                          "high": None, "p": None, "n_undefined": 0}
    folds = [f for f in folds if len(f) > 0]
    if not folds:
        return out
    obs = []
    for f in folds:
        arrays = [f[c].to_numpy(float) for c in cols]
        a = _fold_values(stat, arrays, f["score_a"].to_numpy(float))
        b = _fold_values(stat, arrays, f["score_b"].to_numpy(float))
        if a is not None and b is not None:
            obs.append(a - b)
    out["difference"] = float(np.mean(obs)) if obs else None
    if n_boot <= 0 or not obs:
        return out
    rng = np.random.default_rng(seed)
    diffs = np.full((len(folds), n_boot), np.nan)
    for k, f in enumerate(folds):
        arrays = [f[c].to_numpy(float) for c in cols]
        W = resample_counts(rng, len(f), n_boot)
        diffs[k] = stat(W, *arrays, f["score_a"].to_numpy(float)) - stat(W, *arrays,
                                                                         f["score_b"].to_numpy(float))
    defined = ~np.isnan(diffs)
    ok = defined.any(axis=0)
    out["n_undefined"] = int((~ok).sum())
    if not ok.any():
        return out
    means = np.nansum(diffs[:, ok], axis=0) / defined[:, ok].sum(axis=0)
    alpha = (1.0 - level) / 2.0
    out["low"], out["high"] = (float(q) for q in np.quantile(means, [alpha, 1.0 - alpha]))
    side = min(float(np.mean(means <= 0)), float(np.mean(means >= 0)))
    out["p"] = float(min(1.0, max(2.0 * side, 1.0 / len(means))))
    return out


def same_patients(a: pd.DataFrame, b: pd.DataFrame, score: str) -> pd.DataFrame:
    """Patients both frames score, in the same fold: patient_id, fold, outcome columns, score_a, score_b."""
    keep = [c for c in ("patient_id", "fold", "time", "event", "label_5y") if c in a.columns]
    left = a[[*keep, score]].rename(columns={score: "score_a"})
    right = b[["patient_id", "fold", score]].rename(columns={score: "score_b"})
    return left.merge(right, on=["patient_id", "fold"], how="inner", validate="one_to_one")


def compare_paired(task: str, a: pd.DataFrame, b: pd.DataFrame, score: str, *, n_cohort: int, n_boot: int,
                   seed: int, level: float = 0.95) -> dict:
    """Configuration a against b on the patients both score, fold by fold: per-fold metrics, the corrected
    resampled t-test, the paired bootstrap, and the plain paired t / Wilcoxon (as in the paper)."""
    from mmdlm.evaluate.compare import paired_pvalues

    cols, stat = _STATS[task]
    both = same_patients(a, b, score)
    folds = sorted(int(k) for k in both["fold"].unique())
    parts = [both[both["fold"] == k] for k in folds]
    va, vb = [], []
    for f in parts:
        arrays = [f[c].to_numpy(float) for c in cols]
        va.append(_fold_values(stat, arrays, f["score_a"].to_numpy(float)))
        vb.append(_fold_values(stat, arrays, f["score_b"].to_numpy(float)))
    diffs = [x - y if x is not None and y is not None else None for x, y in zip(va, vb, strict=True)]
    used = sum(d is not None for d in diffs)
    n_test = float(np.mean([len(f) for f in parts])) if parts else 0.0
    plain = paired_pvalues(va, vb)
    return {
        "n_patients": int(len(both)),
        "folds": folds,
        "n_folds_used": int(used),
        "a_folds": va,
        "b_folds": vb,
        "differences": diffs,
        "mean_difference": float(np.mean([d for d in diffs if d is not None])) if used else None,
        "corrected_ttest": corrected_resampled_ttest(diffs, n_cohort - n_test, n_test),
        "bootstrap": paired_bootstrap(parts, task, n_boot, seed, level),
        "as_in_paper": {"ttest_p": plain["ttest_p"], "wilcoxon_p": plain["wilcoxon_p"],
                        "label": "plain paired t-test and Wilcoxon over folds (as in the paper; they ignore "
                                 "the overlap of training sets between folds)"},
        "note": folds_statement(used),
    }

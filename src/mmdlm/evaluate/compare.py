"""Configurations compared fold by fold: paired t-test and Wilcoxon signed-rank (scipy); paper-like table."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np


def paired_pvalues(a: Sequence[float | None], b: Sequence[float | None]) -> dict[str, float | None]:
    """Two-sided paired t-test and Wilcoxon p-values over the folds where both values are defined."""
    from scipy.stats import ttest_rel, wilcoxon

    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    out: dict[str, float | None] = {"n_folds": len(pairs), "mean_difference": None, "ttest_p": None,
                                    "wilcoxon_p": None}
    if len(pairs) < 2:
        return out
    x, y = np.array(pairs, dtype=float).T
    out["mean_difference"] = float(np.mean(x - y))
    if np.allclose(x, y):
        return out  # identical per-fold values: no evidence either way, both tests undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = ttest_rel(x, y)
        out["ttest_p"] = float(t.pvalue) if np.isfinite(t.pvalue) else None
        # exact null distribution unless zero or tied differences (then scipy would run a costly permutation
        # test for every pair; the normal approximation with tie correction is used instead)
        d = np.abs(x - y)
        tied = np.any(d == 0) or len(np.unique(d)) < len(d)
        try:
            w = wilcoxon(x, y, method="approx" if tied else "exact")
            out["wilcoxon_p"] = float(w.pvalue) if np.isfinite(w.pvalue) else None
        except ValueError:
            pass
    return out


def compare_configurations(per_fold: Mapping[str, Sequence[float | None]]) -> dict:
    """For every ordered pair of configurations, the paired tests of one metric's per-fold values."""
    names = list(per_fold)
    table: dict[str, dict[str, dict]] = {}
    for a in names:
        table[a] = {}
        for b in names:
            if a != b:
                table[a][b] = paired_pvalues(per_fold[a], per_fold[b])
    return table


def comparison_rows(summary: Mapping[str, Mapping], metric: str, tests: Mapping[str, Mapping[str, Mapping]],
                    reference: str | None = None) -> list[dict]:
    """Rows shaped like the paper's table: configuration, mean, max, 95% CI, per-fold values, p vs reference.
    """
    rows = []
    for conf, s in summary.items():
        m = s[metric]
        row = {"configuration": conf, "metric": metric, "mean": m["mean"], "max": m["max"], "sd": m["sd"],
               "ci_low": m["ci"]["low"], "ci_high": m["ci"]["high"], "folds": m["folds"]}
        if reference is not None and conf != reference and reference in tests.get(conf, {}):
            row["vs"] = reference
            row["ttest_p"] = tests[conf][reference]["ttest_p"]
            row["wilcoxon_p"] = tests[conf][reference]["wilcoxon_p"]
        rows.append(row)
    return rows


def format_table(rows: Sequence[Mapping]) -> str:
    """The comparison rows as a plain-text table (what `mmdlm cv` prints)."""
    def f(x, d=4):
        return "n/a" if x is None else f"{x:.{d}f}"

    head = f"{'configuration':<26}{'mean':>8}{'max':>8}  {'95% CI':<17}{'t-test p':>10}{'Wilcoxon p':>12}  vs"
    lines = [head, "-" * len(head)]
    for r in rows:
        ci = f"{f(r['ci_low'], 3)}-{f(r['ci_high'], 3)}"
        lines.append(f"{r['configuration']:<26}{f(r['mean']):>8}{f(r['max']):>8}  {ci:<17}"
                     f"{f(r.get('ttest_p')):>10}{f(r.get('wilcoxon_p')):>12}  {r.get('vs', '')}")
    return "\n".join(lines)

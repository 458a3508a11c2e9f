"""The paper's fold-by-fold paired t-test and Wilcoxon signed-rank (scipy), kept for comparison with the
paper, and the rows of the C-index table (pre-specified reference, same-patient tests from
mmdlm.evaluate.paired)."""

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


def _vs_fields(cmp: Mapping | None) -> dict:
    """The same-patient test results of one comparison as flat table fields."""
    if not cmp or "corrected_ttest" not in cmp:
        return {}
    boot = cmp["bootstrap"]
    paper = cmp["as_in_paper"]
    return {"n_patients_compared": cmp["n_patients"], "n_folds_compared": cmp["n_folds_used"],
            "difference": cmp["mean_difference"], "corrected_t_p": cmp["corrected_ttest"]["p"],
            "bootstrap_difference": boot["difference"], "bootstrap_low": boot["low"],
            "bootstrap_high": boot["high"], "bootstrap_p": boot["p"],
            "ttest_p": paper["ttest_p"], "wilcoxon_p": paper["wilcoxon_p"], "note": cmp["note"]}


def comparison_rows(summary: Mapping[str, Mapping], metric: str, vs: Mapping, reference: str | None = None
                    ) -> list[dict]:
    """Rows of the C-index (or ROC AUC) table: configuration, mean over the defined folds, max, 95% CI,
    per-fold values (None = undefined), and against the pre-specified reference on the same patients: the
    difference, the corrected resampled t-test, the paired bootstrap, and the paper's plain t / Wilcoxon."""
    rows = []
    for conf, s in summary.items():
        m = s[metric]
        row = {"configuration": conf, "metric": metric, "mean": m["mean"], "max": m["max"], "sd": m["sd"],
               "ci_low": m["ci"]["low"], "ci_high": m["ci"]["high"], "folds": m["folds"],
               "n_defined": m.get("n_defined"), "n_folds": m.get("n_folds", len(m["folds"])),
               "is_reference": conf == reference}
        cmp = (vs.get("configurations") or {}).get(conf)
        if cmp is not None:
            row["vs"] = reference
            row.update(_vs_fields(cmp))
        rows.append(row)
    return rows


def clinical_rows(vs: Mapping) -> list[dict]:
    """Each clinical factor beside the reference model on the same folds and patients: both means over the
    folds, the difference (model - factor) and its tests."""
    rows = []
    for factor, cmp in (vs.get("clinical_factors") or {}).items():
        row = {"factor": factor, "model": vs.get("reference"),
               "n_patients_compared": cmp.get("n_patients", 0)}
        if "a_folds" in cmp:
            mf = [v for v in cmp["a_folds"] if v is not None]
            ff = [v for v in cmp["b_folds"] if v is not None]
            row.update({"model_mean": float(np.mean(mf)) if mf else None,
                        "factor_mean": float(np.mean(ff)) if ff else None,
                        "model_folds": cmp["a_folds"], "factor_folds": cmp["b_folds"], **_vs_fields(cmp)})
        else:
            row["error"] = cmp.get("error")
        rows.append(row)
    return rows


def format_table(rows: Sequence[Mapping]) -> str:
    """The comparison rows as a plain-text table (what `mmdlm cv` prints)."""
    def f(x, d=4):
        return "n/a" if x is None else f"{x:.{d}f}"

    head = (f"{'configuration':<26}{'mean':>8}{'folds':>6}{'max':>8}  {'95% CI':<13}{'diff':>8}"
            f"{'NB t p':>8}{'boot p':>8}{'t p*':>8}{'Wilc p*':>8}  vs")
    lines = [head, "-" * len(head)]
    notes = set()
    for r in rows:
        ci = f"{f(r['ci_low'], 3)}-{f(r['ci_high'], 3)}"
        used = f"{r.get('n_defined', len(r['folds']))}/{r.get('n_folds', len(r['folds']))}"
        keys = ("corrected_t_p", "bootstrap_p", "ttest_p", "wilcoxon_p")
        tests = "".join(f"{f(r.get(k), 3):>8}" for k in keys)
        lines.append(f"{r['configuration']:<26}{f(r['mean']):>8}{used:>6}{f(r['max']):>8}  {ci:<13}"
                     f"{f(r.get('difference')):>8}{tests}  {r.get('vs', '(reference)')}")
        if r.get("note"):
            notes.add(r["note"])
    lines.append("diff: configuration - reference on the patients both score; NB t: corrected resampled "
                 "t-test (Nadeau-Bengio); boot: patient-level paired bootstrap; * plain paired tests as in "
                 "the paper")
    lines.extend(sorted(notes))
    return "\n".join(lines)

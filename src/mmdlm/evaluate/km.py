"""Kaplan-Meier curves of predicted groups (lifelines), log-rank test and numbers at risk, as numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _clean(values) -> list[float]:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def at_risk_counts(durations: np.ndarray, times: Sequence[float]) -> list[int]:
    """Numbers at risk at each time as lifelines' add_at_risk_counts counts them (still followed after t;
    at t = 0, everyone)."""
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(durations, np.ones(len(durations)))
    table = kmf.event_table
    left = table["at_risk"] - table["removed"]
    out = []
    for t in times:
        before = left.loc[:t]
        out.append(int(before.iloc[-1]) if len(before) else int(len(durations)))
    return out


def km_groups(time, event, group, *, labels: Sequence[str], times: Sequence[float], name: str) -> dict:
    """KM survival with 95% CI per group (in `labels` order), log-rank p across groups, numbers at risk."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    df = pd.DataFrame({"time": np.asarray(time, float), "event": np.asarray(event, float),
                       "group": np.asarray(group, dtype=object)}).dropna()
    out: dict = {"name": name, "groups": [], "p_logrank": None, "test_statistic": None,
                 "at_risk": {"times": [float(t) for t in times], "rows": {}}}
    for label in labels:
        g = df[df["group"] == label]
        if g.empty:
            continue
        kmf = KaplanMeierFitter(label=label).fit(g["time"], g["event"])
        ci = kmf.confidence_interval_survival_function_
        out["groups"].append({
            "label": label, "n": int(len(g)), "events": int(g["event"].sum()),
            "timeline": _clean(kmf.survival_function_.index),
            "survival": _clean(kmf.survival_function_.iloc[:, 0]),
            "ci_low": _clean(ci.iloc[:, 0]), "ci_high": _clean(ci.iloc[:, 1]),
            "median_survival": _clean([kmf.median_survival_time_])[0],
        })
        out["at_risk"]["rows"][label] = at_risk_counts(g["time"].to_numpy(), times)
    if df["group"].nunique() >= 2 and df["event"].sum() > 0:
        res = multivariate_logrank_test(df["time"], df["group"], df["event"])
        out["p_logrank"] = float(res.p_value)
        out["test_statistic"] = float(res.test_statistic)
    return out

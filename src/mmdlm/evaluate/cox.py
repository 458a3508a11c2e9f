"""Multivariable Cox proportional-hazards models (lifelines): hazard ratios, intervals, p-values, PH check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mmdlm.errors import MmdlmError


def _f(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


#: how unknown covariate values enter the Cox models (stated in metrics.json and the report)
UNKNOWN_HANDLING = ("patients with an unknown value of any covariate (NX, MX, TX, GX, empty) are excluded "
                    "(complete-case analysis); unknown is not a category of its own")


def multivariable_cox(table: pd.DataFrame, covariates: list[str], *, name: str = "cox") -> dict:
    """Fit lifelines' CoxPHFitter on the complete cases of `covariates` (time, event columns in `table`).

    Returns n, events, dropped (incomplete), concordance, log-likelihood, and per covariate hr, ci_low,
    ci_high, p, coef, se plus the proportional-hazards test (lifelines proportional_hazard_test, rank
    transform). Unknown values (NX, MX, TX, GX, empty: mmdlm.evaluate.clinical) are not a category of their
    own: those patients are excluded (complete cases), counted per covariate in `unknown` and stated in
    `unknown_handling`.
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError
    from lifelines.statistics import proportional_hazard_test

    cols = ["time", "event", *covariates]
    data = table[cols].apply(pd.to_numeric, errors="coerce")
    complete = data.dropna()
    known_outcome = data.dropna(subset=["time", "event"])
    result: dict = {"name": name, "covariates": [], "n": int(len(complete)),
                    "events": int(complete["event"].sum()),
                    "dropped_incomplete": int(len(data) - len(complete)),
                    "unknown": {c: int(known_outcome[c].isna().sum()) for c in covariates},
                    "unknown_handling": UNKNOWN_HANDLING}
    constant = [c for c in covariates if complete[c].nunique() < 2]
    if constant:
        raise MmdlmError(f"covariate takes a single value on the {len(complete)} complete cases: cannot fit "
                         "a Cox model", field=constant[0])
    if result["events"] < len(covariates) + 1:
        raise MmdlmError(f"{result['events']} events for {len(covariates)} covariates: too few for Cox",
                         field=",".join(covariates))
    cph = CoxPHFitter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph.fit(complete, duration_col="time", event_col="event")
            ph = proportional_hazard_test(cph, complete, time_transform="rank")
    except ConvergenceError as exc:
        raise MmdlmError(f"Cox model did not converge ({str(exc).splitlines()[0]})",
                         field=",".join(covariates)) from None
    s = cph.summary
    ph_s = ph.summary
    for c in covariates:
        result["covariates"].append({
            "name": c,
            "hr": _f(s.loc[c, "exp(coef)"]),
            "ci_low": _f(s.loc[c, "exp(coef) lower 95%"]),
            "ci_high": _f(s.loc[c, "exp(coef) upper 95%"]),
            "p": _f(s.loc[c, "p"]),
            "coef": _f(s.loc[c, "coef"]),
            "se": _f(s.loc[c, "se(coef)"]),
            "ph_test_statistic": _f(ph_s.loc[c, "test_statistic"]),
            "ph_p": _f(ph_s.loc[c, "p"]),
        })
    result["concordance"] = _f(cph.concordance_index_)
    result["log_likelihood"] = _f(cph.log_likelihood_)
    result["ph_violations"] = [r["name"] for r in result["covariates"]
                               if r["ph_p"] is not None and r["ph_p"] < 0.05]
    return result

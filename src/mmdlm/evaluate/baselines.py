"""Clinical baselines: the C-index of each clinical factor and the multivariable clinical Cox model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmdlm.errors import MmdlmError
from mmdlm.evaluate.clinical import factor_table, load_patients
from mmdlm.evaluate.config import CVConfig
from mmdlm.evaluate.cox import multivariable_cox
from mmdlm.results.base import json_safe, validate
from mmdlm.results.metrics import Baselines, CoxError
from mmdlm.stats.metrics import harrell_cindex


def factor_cindices(table: pd.DataFrame, factors: tuple[str, ...]) -> dict[str, dict]:
    """Harrell's C-index of each factor as a risk score (higher = worse), on the patients with it known."""
    out: dict[str, dict] = {}
    usable = table.dropna(subset=["time", "event"])
    for f in factors:
        known = usable.dropna(subset=[f])
        c = harrell_cindex(known["time"], known["event"], known[f]) if len(known) else None
        out[f] = {"c_index": c, "n": int(len(known)), "events": int(known["event"].sum()),
                  "missing": int(len(usable) - len(known)),
                  "levels": {f"{k:g}": int(v) for k, v in known[f].value_counts().sort_index().items()}
                  if f != "age" else None}
    return out


def clinical_baselines(patients: pd.DataFrame, cfg: CVConfig) -> dict:
    """Factor C-indices and the multivariable Cox model of `cfg.cox_covariates` for one patients table."""
    factors = tuple(dict.fromkeys((*cfg.clinical_factors, *cfg.cox_covariates)))
    table = factor_table(patients, factors)
    usable = table.dropna(subset=["time", "event"])
    endpoint = None
    if "endpoint" in patients.columns and patients["endpoint"].notna().any():
        endpoint = str(patients["endpoint"].dropna().iloc[0])
    try:
        cox = multivariable_cox(usable, list(cfg.cox_covariates), name="clinical")
    except MmdlmError as exc:  # too few events for the covariates: the factor C-indices still stand
        cox = {"error": exc.one_line(), "covariates": []}
    return {
        "endpoint": endpoint,
        "patients": int(len(patients)),
        "patients_with_survival": int(len(usable)),
        "events": int(usable["event"].sum()),
        "factors": factor_cindices(usable, cfg.clinical_factors),
        "cox": cox,
    }


def baselines_for_cohort(cohort: Path, endpoint: str, cfg: CVConfig) -> Baselines:
    """`mmdlm baselines`: read COHORT/patients.csv (endpoint checked) and compute the clinical baselines,
    validated by the schema of metrics.json's `baselines` entry (with the cohort's folder)."""
    patients = load_patients(cohort, endpoint=endpoint)
    result = clinical_baselines(patients, cfg)
    result["cohort"] = str(cohort)
    return validate(Baselines, json_safe(result))


def format_baselines(result: Baselines) -> str:
    """The baselines as printable text."""
    def f(x, d=4):
        return "n/a" if x is None else f"{x:.{d}g}" if abs(x) < 1e-3 else f"{x:.{d}f}"

    lines = [f"endpoint {result.endpoint}: {result.patients_with_survival} patients, {result.events} events",
             f"{'factor':<10}{'C-index':>9}{'n':>6}{'events':>8}"]
    for name, r in result.factors.items():
        lines.append(f"{name:<10}{f(r.c_index):>9}{r.n:>6}{r.events:>8}")
    cox = result.cox
    if isinstance(cox, CoxError):
        lines.append(f"multivariable Cox not fitted: {cox.error}")
        return "\n".join(lines)
    lines.append(f"multivariable Cox (n={cox.n}, events={cox.events}, "
                 f"concordance {f(cox.concordance)}); {cox.unknown_handling}")
    lines.append(f"{'covariate':<10}{'HR':>8}{'95% CI':>18}{'p':>10}{'PH p':>9}")
    for r in cox.covariates:
        ci = f"{f(r.ci_low, 3)}-{f(r.ci_high, 3)}"
        lines.append(f"{r.name:<10}{f(r.hr, 3):>8}{ci:>18}{f(r.p, 3):>10}{f(r.ph_p, 3):>9}")
    return "\n".join(lines)

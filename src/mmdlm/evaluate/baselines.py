"""Clinical baselines: the C-index of each clinical factor and the multivariable clinical Cox model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmdlm.evaluate.clinical import factor_table, load_patients
from mmdlm.evaluate.config import CVConfig
from mmdlm.evaluate.cox import multivariable_cox
from mmdlm.evaluate.metrics import harrell_cindex


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
    return {
        "endpoint": endpoint,
        "patients": int(len(patients)),
        "patients_with_survival": int(len(usable)),
        "events": int(usable["event"].sum()),
        "factors": factor_cindices(usable, cfg.clinical_factors),
        "cox": multivariable_cox(usable, list(cfg.cox_covariates), name="clinical"),
    }


def baselines_for_cohort(cohort: Path, endpoint: str, cfg: CVConfig) -> dict:
    """`mmdlm baselines`: read COHORT/patients.csv (endpoint checked) and compute the clinical baselines."""
    patients = load_patients(cohort, endpoint=endpoint)
    result = clinical_baselines(patients, cfg)
    result["cohort"] = str(cohort)
    return result

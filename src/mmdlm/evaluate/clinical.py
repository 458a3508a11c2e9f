"""Clinical factors of the manifest's patients.csv as ordinal numbers (higher = worse), for statistics."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmdlm.cohort.clinical import parse_stage
from mmdlm.errors import MmdlmError

if TYPE_CHECKING:
    from mmdlm.cohort.manifest import Manifest

_MISSING = {"", "x", "nx", "mx", "tx", "gx", "na", "nan", "n/a", "#n/a", "unknown", "not available",
            "[not available]", "[unknown]", "[discrepancy]", "not_applicable", "none", "null"}
_TNM = re.compile(r"^(?:[pcy]{0,2})\s*([tnm])?\s*([0-4])", re.IGNORECASE)
_GRADE = re.compile(r"^(?:g|grade|isup|who)?\s*([1-4])\b", re.IGNORECASE)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip().lower() in _MISSING


def parse_factor(value: object, factor: str) -> float | None:
    """One clinical value as an ordinal number: T3a -> 3, N1 -> 1, M0 -> 0, G2 / ISUP 2 -> 2, Stage III -> 3,
    numbers stay numbers; unknown (empty, X, GX, NX, ...) -> None. Raises ValueError if not understood."""
    if _is_missing(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    if factor in ("t_stage", "n_stage", "m_stage"):
        m = _TNM.match(text)
        if m and (m.group(1) is None or m.group(1).lower() == factor[0]):
            return float(m.group(2))
    elif factor == "grade":
        m = _GRADE.match(text)
        if m:
            return float(m.group(1))
    elif factor == "stage":  # the one clinical-stage parser (ingest's)
        stage = parse_stage(text)
        return None if stage is None else float(stage)
    raise ValueError(f"cannot read {value!r} as {factor}")


def load_patients(cohort: Path | Manifest, endpoint: str | None = None) -> pd.DataFrame:
    """patients.csv of a manifest (a loaded Manifest or its folder, validated by load_manifest), float time
    and event (NaN = unknown); the cohort's endpoint must be `endpoint` when given."""
    from mmdlm.cohort.manifest import PATIENTS_FILE, as_manifest

    manifest = as_manifest(cohort)
    df = manifest.patients.copy()
    path = manifest.root / PATIENTS_FILE
    for col in ("time", "event", "label_5y"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if endpoint is not None:
        check_endpoint(df, endpoint, path)
    df.attrs["path"] = str(path)
    return df


def check_endpoint(df: pd.DataFrame, endpoint: str, path: Path | str) -> None:
    """patients.csv holds one endpoint; asking for another is an error (re-run ingest with that endpoint)."""
    if "endpoint" not in df.columns:
        raise MmdlmError("no endpoint column: cannot confirm the requested endpoint", file=path,
                         field="endpoint")
    found = sorted({str(v) for v in df["endpoint"].dropna().unique() if str(v)})
    if found != [endpoint.upper()]:
        raise MmdlmError(f"cohort holds endpoint {found or 'none'}, not {endpoint.upper()}; re-run "
                         f"`mmdlm ingest` with --endpoint {endpoint.upper()}", file=path, field="endpoint")


def factor_table(df: pd.DataFrame, factors: tuple[str, ...]) -> pd.DataFrame:
    """patient_id, time, event and each factor as an ordinal float (NaN = unknown); unreadable values raise.
    """
    out = df[["patient_id", "time", "event"]].copy()
    path = df.attrs.get("path")
    for factor in factors:
        if factor not in df.columns:
            out[factor] = np.nan
            continue
        vals = []
        for i, v in enumerate(df[factor].tolist()):
            try:
                p = parse_factor(v, factor)
            except ValueError as exc:
                raise MmdlmError(str(exc), file=path, patient=df["patient_id"].iloc[i], field=factor,
                                 row=i + 2) from None
            vals.append(np.nan if p is None else p)
        out[factor] = np.asarray(vals, dtype=float)
    return out

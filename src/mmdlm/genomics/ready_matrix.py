"""A ready alteration table (one row per slide or sample, several rows per patient possible) -> per patient.

Columns: the patient id (`case_id`, `patient_id` or `PATIENT_ID`), optional row labels (`slide_id`,
`sample_id`, `SAMPLE_ID`), 0/1 columns taken as features under their own names, and GISTIC columns
(`<gene>_cnv` / `<gene>_cna`, integers -2..2) turned into `<gene>_del` (<= -threshold) and `<gene>_amp`
(>= threshold). A patient's value is the OR over their rows; a patient whose rows disagree on any feature is a
conflict (counted and listed, the OR kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.cohort.tables import Table, first_row, read_table
from mmdlm.errors import MmdlmError

ID_COLUMNS: tuple[str, ...] = ("case_id", "patient_id", "PATIENT_ID")
LABEL_COLUMNS: frozenset[str] = frozenset({"slide_id", "sample_id", "SAMPLE_ID", "file_name"})
CNA_SUFFIXES: tuple[str, ...] = ("_cnv", "_cna")


@dataclass
class ReadyMatrix:
    """Per patient 0/1 features of a ready table."""

    matrix: pd.DataFrame  # index patient_id, int 0/1 columns
    source_columns: list[str]
    conflicts: list[str] = field(default_factory=list)
    rows_per_patient_max: int = 1


def _column_values(table: Table, col: str, allowed: np.ndarray, id_col: str) -> np.ndarray:
    raw = table.frame[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    ok = np.isin(values, allowed)
    if not ok.all():
        i = first_row(~ok)
        want = "0 or 1" if len(allowed) == 2 else "an integer -2..2"
        raise MmdlmError(
            f"must be {want}, got {raw.iloc[i]!r}",
            file=table.path,
            row=table.line(i),
            patient=table.frame[id_col].iloc[i],
            field=col,
        )
    return values.astype(int)


def read_ready_matrix(path: str | Path, cna_threshold: int) -> ReadyMatrix:
    """Read and aggregate a ready alteration table (rule in the module docstring)."""
    table = read_table(path)
    id_col = table.first_present(*ID_COLUMNS)
    if id_col is None:
        raise MmdlmError(
            "missing required column (one of case_id, patient_id, PATIENT_ID)",
            file=table.path,
            field="case_id",
        )
    frame = table.frame
    for i, pid in enumerate(frame[id_col]):
        if not pid:
            raise MmdlmError("empty patient id", file=table.path, row=table.line(i), field=id_col)
    features: dict[str, np.ndarray] = {}
    source_cols = [c for c in frame.columns if c != id_col and c not in LABEL_COLUMNS]
    if not source_cols:
        raise MmdlmError("no alteration columns", file=table.path)
    for col in source_cols:
        suffix = next((s for s in CNA_SUFFIXES if col.lower().endswith(s)), None)
        if suffix is not None:
            gene = col[: -len(suffix)]
            v = _column_values(table, col, np.arange(-2, 3), id_col)
            features[f"{gene}_del"] = (v <= -cna_threshold).astype(int)
            features[f"{gene}_amp"] = (v >= cna_threshold).astype(int)
        else:
            features[col] = _column_values(table, col, np.array([0, 1]), id_col)
    per_row = pd.DataFrame(features)
    per_row.insert(0, "patient_id", frame[id_col].to_numpy())
    grouped = per_row.groupby("patient_id", sort=False)
    matrix = grouped.max()
    disagree = (grouped.min() != matrix).any(axis=1)
    conflicts = sorted(matrix.index[disagree.to_numpy()])
    return ReadyMatrix(
        matrix=matrix.astype(int),
        source_columns=source_cols,
        conflicts=conflicts,
        rows_per_patient_max=int(grouped.size().max()),
    )

"""The patients table: study patients, their endpoint and normalised clinical fields (CDR fills only gaps).

Precedence per patient and field: the study's patient file, then its sample file (first sample in SAMPLE_ID
order with a value; disagreeing samples counted as a warning), then the CDR table. A value counts as present
unless it is an explicit missing token (empty, NA, '#N/A', '[Not Available]', ...); 'NX' / 'GX' are values the
study has (they normalise to missing but are not replaced). The endpoint's status and time are taken as a pair
from the study when it has both, else from the CDR when it has both, else left empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmdlm.cohort.clinical import CLINICAL_PARSERS, RAW_FIELDS, is_missing
from mmdlm.cohort.endpoints import Outcome, label_5y, read_outcomes
from mmdlm.cohort.tables import Table, check_unique, read_table
from mmdlm.errors import MmdlmError

PATIENT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "time",
    "event",
    "endpoint",
    "label_5y",
    "t_stage",
    "n_stage",
    "m_stage",
    "grade",
    "stage",
    "age",
    "sex",
    "t_stage_raw",
    "n_stage_raw",
    "m_stage_raw",
    "grade_raw",
    "stage_raw",
)

#: Column names per clinical field in cBioPortal patient / sample files (first present wins).
STUDY_FIELDS: dict[str, tuple[str, ...]] = {
    "t_stage": ("PATH_T_STAGE", "AJCC_PATHOLOGIC_T", "T_STAGE"),
    "n_stage": ("PATH_N_STAGE", "AJCC_PATHOLOGIC_N", "N_STAGE"),
    "m_stage": ("PATH_M_STAGE", "AJCC_PATHOLOGIC_M", "M_STAGE"),
    "grade": ("GRADE", "HISTOLOGICAL_GRADE", "NEOPLASM_HISTOLOGIC_GRADE", "TUMOR_GRADE", "ISUP_GRADE"),
    "stage": ("AJCC_PATHOLOGIC_TUMOR_STAGE", "PATH_STAGE", "TUMOR_STAGE", "STAGE"),
    "age": ("AGE", "AGE_AT_DIAGNOSIS", "DIAGNOSIS_AGE"),
    "sex": ("SEX", "GENDER"),
}
#: Column names per clinical field in a TCGA-CDR table.
CDR_FIELDS: dict[str, tuple[str, ...]] = {
    "t_stage": ("ajcc_pathologic_t",),
    "n_stage": ("ajcc_pathologic_n",),
    "m_stage": ("ajcc_pathologic_m",),
    "grade": ("histological_grade",),
    "stage": ("ajcc_pathologic_tumor_stage",),
    "age": ("age_at_initial_pathologic_diagnosis",),
    "sex": ("gender",),
}
CDR_ID = "bcr_patient_barcode"


@dataclass
class PatientBuild:
    """The patients table and what happened while building it."""

    table: pd.DataFrame
    filled_from_cdr: dict[str, int] = field(default_factory=dict)
    endpoint_source: dict[str, int] = field(default_factory=dict)
    cdr_patients_not_in_study: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Cell:
    raw: str
    table: Table
    row: int  # 0-based position in table.frame
    column: str


def read_cdr(path: str | Path) -> Table:
    """A TCGA-CDR-style table (tab separated, `bcr_patient_barcode` unique, times in days, '#N/A' missing)."""
    table = read_table(path, comment_lines=False)
    table.require(CDR_ID)
    check_unique(table, CDR_ID)
    return table


def _field_cells(table: Table, id_col: str, columns: tuple[str, ...]) -> dict[str, _Cell]:
    col = table.first_present(*columns)
    if col is None:
        return {}
    return {
        pid: _Cell(raw, table, i, col)
        for i, (pid, raw) in enumerate(zip(table.frame[id_col], table.frame[col], strict=True))
    }


def _sample_cells(
    samples: Table, columns: tuple[str, ...], conflicts: Counter[str], name: str
) -> dict[str, _Cell]:
    col = samples.first_present(*columns)
    if col is None:
        return {}
    frame = samples.frame
    order = sorted(range(len(frame)), key=lambda i: frame["SAMPLE_ID"].iloc[i])
    out: dict[str, _Cell] = {}
    for i in order:
        pid, raw = frame["PATIENT_ID"].iloc[i], frame[col].iloc[i]
        if is_missing(raw):
            continue
        if pid in out:
            if out[pid].raw != raw:
                conflicts[name] += 1
            continue
        out[pid] = _Cell(raw, samples, i, col)
    return out



def patients_table(rows: list[dict]) -> pd.DataFrame:
    """patients.csv rows (PATIENT_COLUMNS) with the manifest's dtypes: nullable Int64 for events, labels and
    the ordinal clinical columns, float time and age, str sex ('' = missing)."""
    table = pd.DataFrame(rows, columns=list(PATIENT_COLUMNS))
    for col in ("event", "label_5y", "t_stage", "n_stage", "m_stage", "grade", "stage"):
        table[col] = table[col].astype("Int64")
    table["time"] = table["time"].astype(float)
    table["age"] = table["age"].astype(float)
    table["sex"] = table["sex"].fillna("").astype(str)
    return table

def build_patients(
    study_patients: Table, study_samples: Table | None, cdr: Table | None, endpoint: str, horizon: float
) -> PatientBuild:
    """patients.csv rows (PATIENT_COLUMNS) for every patient of the study's patient file."""
    ids = list(study_patients.frame["PATIENT_ID"])
    idset = set(ids)
    warnings: list[str] = []

    study_out = read_outcomes(study_patients, "PATIENT_ID", endpoint, cdr=False)
    cdr_out = read_outcomes(cdr, CDR_ID, endpoint, cdr=True) if cdr is not None else None
    if study_out is None and cdr_out is None:
        raise MmdlmError(
            f"no {endpoint} status and time columns in the study patient file"
            + (" nor in the CDR table" if cdr is not None else " (and no --cdr table given)"),
            file=study_patients.path,
            field=f"{endpoint}_STATUS",
        )

    conflicts: Counter[str] = Counter()
    sources: dict[str, list[dict[str, _Cell]]] = {}
    for name in CLINICAL_PARSERS:
        chain = [_field_cells(study_patients, "PATIENT_ID", STUDY_FIELDS[name])]
        if study_samples is not None:
            chain.append(_sample_cells(study_samples, STUDY_FIELDS[name], conflicts, name))
        cdr_cells = _field_cells(cdr, CDR_ID, CDR_FIELDS[name]) if cdr is not None else {}
        sources[name] = [*chain, cdr_cells]

    filled: Counter[str] = Counter()
    ep_source: Counter[str] = Counter()
    rows = []
    for pid in ids:
        row: dict[str, object] = {"patient_id": pid, "endpoint": endpoint}
        outcome: Outcome | None = None
        if study_out is not None and pid in study_out:
            outcome = study_out[pid]
            ep_source["study"] += 1
        elif cdr_out is not None and pid in cdr_out:
            outcome = cdr_out[pid]
            ep_source["cdr"] += 1
        else:
            ep_source["missing"] += 1
        row["time"] = outcome.time if outcome else None
        row["event"] = outcome.event if outcome else None
        row["label_5y"] = label_5y(outcome.time, outcome.event, horizon) if outcome else None
        for name, parser in CLINICAL_PARSERS.items():
            chain = sources[name]
            cell = fallback = None
            for k, src in enumerate(chain):
                c = src.get(pid)
                if c is None:
                    continue
                if not is_missing(c.raw):
                    cell = c
                    filled[name] += int(cdr is not None and k == len(chain) - 1)
                    break
                fallback = fallback or c  # the study's own missing marker, kept as raw if nothing fills it
            cell = cell or fallback
            raw = cell.raw if cell is not None else ""
            try:
                value = parser(raw)
            except ValueError as exc:
                assert cell is not None
                raise MmdlmError(
                    str(exc),
                    file=cell.table.path,
                    row=cell.table.line(cell.row),
                    patient=pid,
                    field=cell.column,
                ) from None
            row[name] = value
            if name in RAW_FIELDS:
                row[f"{name}_raw"] = raw
        rows.append(row)

    table = patients_table(rows)

    not_in_study: list[str] = []
    if cdr is not None:
        not_in_study = sorted(set(cdr.frame[CDR_ID]) - idset)
        if not_in_study:
            warnings.append(f"{len(not_in_study)} CDR patient(s) are not in the study patient file (ignored)")
    for name, n in sorted(conflicts.items()):
        warnings.append(f"{n} patient(s) have samples disagreeing on {name} (first sample by SAMPLE_ID used)")
    if ep_source.get("missing"):
        warnings.append(
            f"{ep_source['missing']} patient(s) have no {endpoint} status and time (kept, time and "
            "event empty)"
        )
    return PatientBuild(
        table=table,
        filled_from_cdr=dict(filled),
        endpoint_source=dict(ep_source),
        cdr_patients_not_in_study=not_in_study,
        warnings=warnings,
    )

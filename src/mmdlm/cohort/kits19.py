"""KiTS19 clinical data (kits.json) -> a manifest with the patients table only (overall survival).

Kept: cases whose `tumor_histologic_subtype` is in the configured subtypes (default clear_cell_rcc).
Endpoint OS: event = vital_status 'dead' (1) or 'censored' (0), time = vital_days_after_surgery / 30.4375.
Clinical: pathology_t/n/m_stage ('1a' -> 1, 'X' -> missing), tumor_isup_grade (1-4, null -> missing),
age_at_nephrectomy, gender. The overall stage is derived from pT/pN/pM (AJCC 8th) only where they decide it:
M1 or T4 -> IV; M0 with T3 or N1 -> III; M0, N0 with T2 -> II, with T1 -> I; otherwise missing
(stage_raw says 'derived'). Errors name the file, the entry (row = 1-based position in the list),
the case and the field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from mmdlm.cohort.clinical import CLINICAL_PARSERS
from mmdlm.cohort.endpoints import DAYS_PER_MONTH, label_5y
from mmdlm.cohort.patients import PATIENT_COLUMNS, patients_table
from mmdlm.cohort.radiology_folder import RADIOLOGY_COLUMNS
from mmdlm.cohort.result import IngestResult
from mmdlm.cohort.slides_folder import SLIDE_COLUMNS
from mmdlm.cohort.summary import availability_counts, clinical_counts, endpoint_counts
from mmdlm.errors import MmdlmError
from mmdlm.names import check_id

VITAL_STATUS = {"dead": 1, "censored": 0, "alive": 0}


def derive_stage(t: int | None, n: int | None, m: int | None) -> int | None:
    """AJCC 8th kidney stage group from T/N/M categories where they determine it, else None."""
    if m == 1 or t == 4:
        return 4
    if m != 0:
        return None
    if t == 3 or n == 1:
        return 3
    if n == 0 and t in (1, 2):
        return t
    return None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def read_kits19(path: str | Path, subtypes: tuple[str, ...], horizon: float) -> tuple[pd.DataFrame, dict]:
    """(patients table with PATIENT_COLUMNS, counts of what was skipped)."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("KiTS19 clinical file not found", file=path)
    try:
        cases = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MmdlmError(f"not valid JSON ({exc.__class__.__name__})", file=path) from None
    if not isinstance(cases, list):
        raise MmdlmError("expected a list of cases", file=path)
    rows, seen, skipped = [], set(), {}
    for k, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or not case.get("case_id"):
            raise MmdlmError("case without case_id", file=path, row=k, field="case_id")
        pid = check_id(case["case_id"], field="case_id", file=path, row=k, what="case_id")
        if pid in seen:
            raise MmdlmError(f"duplicate case_id {pid!r}", file=path, row=k, patient=pid, field="case_id")
        seen.add(pid)
        subtype = _text(case.get("tumor_histologic_subtype"))
        if subtype not in subtypes:
            skipped[subtype or "(none)"] = skipped.get(subtype or "(none)", 0) + 1
            continue
        status = _text(case.get("vital_status")).lower()
        if status not in VITAL_STATUS:
            raise MmdlmError(
                f"unknown vital_status {status!r}", file=path, row=k, patient=pid, field="vital_status"
            )
        days = case.get("vital_days_after_surgery")
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days):
            raise MmdlmError(
                f"not a number: {days!r}", file=path, row=k, patient=pid, field="vital_days_after_surgery"
            )
        if days < 0:
            raise MmdlmError("negative time", file=path, row=k, patient=pid, field="vital_days_after_surgery")
        time, event = days / DAYS_PER_MONTH, VITAL_STATUS[status]
        row: dict[str, object] = {
            "patient_id": pid,
            "time": time,
            "event": event,
            "endpoint": "OS",
            "label_5y": label_5y(time, event, horizon),
        }
        sources = {
            "t_stage": "pathology_t_stage",
            "n_stage": "pathology_n_stage",
            "m_stage": "pathology_m_stage",
            "grade": "tumor_isup_grade",
            "age": "age_at_nephrectomy",
            "sex": "gender",
        }
        for name, key in sources.items():
            raw = _text(case.get(key))
            try:
                row[name] = CLINICAL_PARSERS[name](raw)
            except ValueError as exc:
                raise MmdlmError(str(exc), file=path, row=k, patient=pid, field=key) from None
            if f"{name}_raw" in PATIENT_COLUMNS:
                row[f"{name}_raw"] = raw
        row["stage"] = derive_stage(row["t_stage"], row["n_stage"], row["m_stage"])  # type: ignore[arg-type]
        row["stage_raw"] = "derived from pT/pN/pM"
        rows.append(row)
    if not rows:
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) or "none"
        raise MmdlmError(f"no case of subtype(s) {', '.join(subtypes)} among {len(cases)} cases (subtypes "
                         f"found: {shown}; ingest.kits19_subtypes)", file=path,
                         field="tumor_histologic_subtype")
    table = patients_table(rows)
    return table, {"cases": len(cases), "skipped_subtypes": dict(sorted(skipped.items()))}


def ingest_kits19(path: str | Path, subtypes: tuple[str, ...], horizon: float = 60.0) -> IngestResult:
    """The KiTS19 cohort as an IngestResult (patients only; slides, radiology and alterations empty)."""
    patients, seen = read_kits19(path, subtypes, horizon)
    slides = pd.DataFrame(columns=list(SLIDE_COLUMNS))
    radiology = pd.DataFrame(columns=list(RADIOLOGY_COLUMNS))
    alterations = pd.DataFrame(columns=["patient_id"])
    skipped = sum(seen["skipped_subtypes"].values())
    summary = {
        "endpoint": "OS",
        "patients": len(patients),
        "endpoint_counts": endpoint_counts(patients, horizon),
        "endpoint_source": {"kits19": len(patients)},
        "clinical_parsed": clinical_counts(patients),
        "filled_from_cdr": {},
        "availability": availability_counts(patients, slides, radiology, alterations),
        "features": [],
        "alteration_conflicts": [],
        "radiology_skipped_modalities": {},
        "kits19": {
            "cases_in_file": seen["cases"],
            "subtypes_kept": list(subtypes),
            "skipped_subtypes": seen["skipped_subtypes"],
        },
        "unmatched_counts": {},
        "unmatched": {},
        "warnings": [f"{skipped} KiTS19 case(s) of other subtypes skipped"] if skipped else [],
        "sources": {"kits19": str(Path(path).resolve())},
    }
    info = {"features": [], "selection": "KiTS19 has no genomic data", "n_patients": 0}
    return IngestResult(patients=patients, slides=slides, radiology=radiology, alterations=alterations,
                        features_info=info, summary=summary)

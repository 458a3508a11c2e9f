"""Survival endpoints: status / time columns by endpoint name, times in months, the 5-year (5YSS) label."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mmdlm.cohort.clinical import is_missing
from mmdlm.cohort.tables import Table
from mmdlm.errors import MmdlmError

ENDPOINTS: tuple[str, ...] = ("DSS", "OS", "PFI")
#: Days per month used for day-based tables (365.25 / 12).
DAYS_PER_MONTH = 30.4375

#: cBioPortal (months) status / time columns per endpoint; PanCanAtlas studies call the CDR's PFI "PFS".
STUDY_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "DSS": (("DSS_STATUS", "DSS_MONTHS"),),
    "OS": (("OS_STATUS", "OS_MONTHS"),),
    "PFI": (("PFI_STATUS", "PFI_MONTHS"), ("PFS_STATUS", "PFS_MONTHS")),
}
#: TCGA-CDR (days) event / time columns per endpoint.
CDR_COLUMNS: dict[str, tuple[str, str]] = {
    "DSS": ("DSS", "DSS.time"),
    "OS": ("OS", "OS.time"),
    "PFI": ("PFI", "PFI.time"),
}


@dataclass(frozen=True)
class Outcome:
    """One patient's endpoint: time in months and event (1 = the endpoint happened)."""

    time: float
    event: int


def parse_status(raw: str) -> int | None:
    """Event from a status cell: cBioPortal '1:DECEASED' / '0:LIVING' or a plain 0 / 1; None if missing."""
    if is_missing(raw):
        return None
    code = raw.split(":", 1)[0].strip()
    if code in ("0", "1", "0.0", "1.0"):
        return int(float(code))
    raise ValueError(f"unknown status {raw!r} (expected 0/1 or cBioPortal '0:...' / '1:...')")


def parse_time(raw: str) -> float | None:
    """Non-negative number from a time cell; None if missing."""
    if is_missing(raw):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"time is not a number: {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"time is not finite: {raw!r}")
    if value < 0:
        raise ValueError(f"negative time: {raw!r}")
    return value


def find_columns(table: Table, endpoint: str, cdr: bool) -> tuple[str, str] | None:
    """The (status, time) column pair of `endpoint` in a study (cdr=False) or CDR table, or None if absent."""
    candidates = (CDR_COLUMNS[endpoint],) if cdr else STUDY_COLUMNS[endpoint]
    for status, time in candidates:
        if status in table.frame.columns and time in table.frame.columns:
            return status, time
    return None


def read_outcomes(table: Table, id_column: str, endpoint: str, *, cdr: bool) -> dict[str, Outcome] | None:
    """Per patient Outcome (patients with a missing status or time are absent); None when the table lacks the
    endpoint's columns. Times of a CDR table are days and converted to months. Bad cells raise naming
    file, row, patient and field."""
    cols = find_columns(table, endpoint, cdr)
    if cols is None:
        return None
    status_col, time_col = cols
    scale = 1.0 / DAYS_PER_MONTH if cdr else 1.0
    out: dict[str, Outcome] = {}
    frame = table.frame
    for i, (pid, s, t) in enumerate(zip(frame[id_column], frame[status_col], frame[time_col], strict=True)):
        for col, raw, parse in ((status_col, s, parse_status), (time_col, t, parse_time)):
            try:
                parse(raw)
            except ValueError as exc:
                raise MmdlmError(
                    str(exc), file=table.path, row=table.line(i), patient=pid, field=col
                ) from None
        event, time = parse_status(s), parse_time(t)
        if event is not None and time is not None:
            out[pid] = Outcome(time=time * scale, event=event)
    return out


def label_5y(time: float, event: int, horizon: float = 60.0) -> int | None:
    """5YSS label: 1 if the endpoint happened before `horizon` months, 0 if followed at least `horizon` months
    without it before then, None (excluded) if censored earlier."""
    if time < horizon:
        return 1 if event == 1 else None
    return 0

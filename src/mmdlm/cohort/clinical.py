"""Clinical value normalisation: T/N/M, grade, overall stage, age and sex as read -> ordinal numbers.

Each `parse_*` takes the raw cell (a string, possibly empty) and returns the normalised value, None for an
explicit missing value (empty, NA, the TCGA bracket markers, TX/NX/MX/GX), and raises ValueError for a
string it does not understand (the caller turns that into an MmdlmError naming file, row, patient and field).
"""

from __future__ import annotations

import math
import re

#: Cell values (lower case, stripped) read as missing.
MISSING_TOKENS: frozenset[str] = frozenset(
    {
        "",
        "na",
        "n/a",
        "#n/a",
        "nan",
        "none",
        "null",
        "unknown",
        "not available",
        "not reported",
        "not_applicable",
        "not applicable",
        "[not available]",
        "[unknown]",
        "[not applicable]",
        "[discrepancy]",
        "[not evaluated]",
        "[not reported]",
        "x",
    }
)

_TNM = {
    "t": re.compile(r"^(?:[pcyr]{1,2})?t?\s*([0-4]|is)(?:[abc][12]?)?(?:\s*\(.*\))?$", re.IGNORECASE),
    "n": re.compile(r"^(?:[pcyr]{1,2})?n?\s*([0-3])[abc]?(?:\s*\(.*\))?$", re.IGNORECASE),
    "m": re.compile(r"^(?:[pcyr]{1,2})?m?\s*([01])[abc]?(?:\s*\(.*\))?$", re.IGNORECASE),
}
_TNM_X = re.compile(r"^(?:[pcyr]{1,2})?[tnm]?x$", re.IGNORECASE)
_GRADE = re.compile(
    r"^(?:g|grade|isup|isup\s+grade|who|who/isup|fuhrman|fuhrman\s+grade)?\s*([1-4])(?:\.0+)?$", re.IGNORECASE
)
_GRADE_X = re.compile(r"^(?:g|grade)\s*x$", re.IGNORECASE)
_STAGE = re.compile(r"^(?:stage\s*)?(iv|iii|ii|i|[1-4])(?:[abc][12]?)?$", re.IGNORECASE)
_STAGE_X = re.compile(r"^(?:stage\s*)?x$", re.IGNORECASE)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_SEX = {"male": "male", "m": "male", "female": "female", "f": "female"}


def is_missing(raw: object) -> bool:
    """True for None/NaN and the explicit missing tokens (empty, NA, '#N/A', '[Not Available]', ...)."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return True
    return str(raw).strip().lower() in MISSING_TOKENS


def parse_tnm(raw: object, axis: str) -> int | None:
    """T/N/M category as an integer: 'T1a' / 'pT1a' / '1a' -> 1, 'N0' -> 0, 'M1' -> 1, 'Tis' -> 0;
    TX/NX/MX -> None."""
    if is_missing(raw):
        return None
    text = str(raw).strip()
    if _TNM_X.match(text):
        return None
    m = _TNM[axis.lower()].match(text)
    if not m:
        raise ValueError(f"unknown {axis.upper()} stage {text!r}")
    value = m.group(1).lower()
    return 0 if value == "is" else int(value)


def parse_grade(raw: object) -> int | None:
    """Tumour grade as 1..4: 'G2', 'ISUP 2', 'Grade 2', '2' -> 2; 'GX' -> None."""
    if is_missing(raw):
        return None
    text = str(raw).strip()
    if _GRADE_X.match(text):
        return None
    m = _GRADE.match(text)
    if not m:
        raise ValueError(f"unknown grade {text!r}")
    return int(m.group(1))


def parse_stage(raw: object) -> int | None:
    """Overall (AJCC) stage as 1..4: 'Stage I' -> 1, 'STAGE IIIA' -> 3, 'IV' -> 4; 'Stage X' -> None."""
    if is_missing(raw):
        return None
    text = str(raw).strip()
    if _STAGE_X.match(text):
        return None
    m = _STAGE.match(text)
    if not m:
        raise ValueError(f"unknown overall stage {text!r}")
    value = m.group(1).lower()
    return _ROMAN[value] if value in _ROMAN else int(value)


def parse_age(raw: object) -> float | None:
    """Age in years as a float; negative or non-numeric values raise."""
    if is_missing(raw):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"age is not a number: {raw!r}") from None
    if not math.isfinite(value) or value < 0 or value > 130:
        raise ValueError(f"age out of range: {raw!r}")
    return value


def parse_sex(raw: object) -> str | None:
    """'male' or 'female' from Male/MALE/M/Female/F."""
    if is_missing(raw):
        return None
    text = str(raw).strip().lower()
    if text not in _SEX:
        raise ValueError(f"unknown sex {raw!r}")
    return _SEX[text]


#: Normalised clinical fields, each with its parser (the column order of patients.csv).
CLINICAL_PARSERS = {
    "t_stage": lambda v: parse_tnm(v, "t"),
    "n_stage": lambda v: parse_tnm(v, "n"),
    "m_stage": lambda v: parse_tnm(v, "m"),
    "grade": parse_grade,
    "stage": parse_stage,
    "age": parse_age,
    "sex": parse_sex,
}
#: Fields whose raw value is kept beside the normalised one as `<field>_raw`.
RAW_FIELDS: tuple[str, ...] = ("t_stage", "n_stage", "m_stage", "grade", "stage")

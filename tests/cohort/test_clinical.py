"""Clinical normalisation: T/N/M, grade, stage, age, sex; unknown strings raise."""

from __future__ import annotations

import pytest

from mmdlm.cohort.clinical import parse_age, parse_grade, parse_sex, parse_stage, parse_tnm
from mmdlm.cohort.endpoints import label_5y, parse_status, parse_time


@pytest.mark.parametrize(
    ("raw", "axis", "want"),
    [
        ("T1a", "t", 1),
        ("T1A", "t", 1),
        ("pT3b", "t", 3),
        ("T3c", "t", 3),
        ("1a", "t", 1),
        ("T4", "t", 4),
        ("Tis", "t", 0),
        ("TX", "t", None),
        ("N0", "n", 0),
        ("N1", "n", 1),
        ("NX", "n", None),
        ("X", "n", None),
        ("M0", "m", 0),
        ("M1", "m", 1),
        ("cM0 (i+)", "m", 0),
        ("MX", "m", None),
        ("", "m", None),
        ("[Not Available]", "t", None),
        ("#N/A", "n", None),
    ],
)
def test_tnm(raw, axis, want):
    assert parse_tnm(raw, axis) == want


@pytest.mark.parametrize(("raw", "axis"), [("T5", "t"), ("N4", "n"), ("M2", "m"), ("big", "t"), ("N1", "m")])
def test_tnm_unknown_raises(raw, axis):
    with pytest.raises(ValueError, match="unknown"):
        parse_tnm(raw, axis)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("G1", 1),
        ("G4", 4),
        ("GX", None),
        ("ISUP 2", 2),
        ("Grade 3", 3),
        ("3", 3),
        ("2.0", 2),
        ("g2", 2),
        ("[Not Available]", None),
    ],
)
def test_grade(raw, want):
    assert parse_grade(raw) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Stage I", 1),
        ("STAGE II", 2),
        ("Stage IIIA", 3),
        ("STAGE IV", 4),
        ("IV", 4),
        ("stage 3", 3),
        ("Stage X", None),
        ("[Discrepancy]", None),
    ],
)
def test_stage(raw, want):
    assert parse_stage(raw) == want


@pytest.mark.parametrize("raw", ["Stage V", "Stage 0", "early", "G5"])
def test_unknown_stage_and_grade(raw):
    with pytest.raises(ValueError):
        parse_stage(raw) if not raw.startswith("G") else parse_grade(raw)


def test_age_sex():
    assert parse_age("69") == 69.0 and parse_age("") is None
    assert parse_sex("MALE") == "male" and parse_sex("Female") == "female" and parse_sex("") is None
    for bad in ("-1", "old"):
        with pytest.raises(ValueError):
            parse_age(bad)
    with pytest.raises(ValueError):
        parse_sex("robot")


def test_status_time_and_label():
    assert parse_status("1:DEAD WITH TUMOR") == 1 and parse_status("0:LIVING") == 0 and parse_status("1") == 1
    assert parse_status("#N/A") is None
    with pytest.raises(ValueError):
        parse_status("DEAD")
    assert parse_time("12.5") == 12.5
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(ValueError):
            parse_time(bad)
    assert label_5y(10.0, 1) == 1
    assert label_5y(10.0, 0) is None
    assert label_5y(60.0, 0) == 0
    assert label_5y(75.0, 1) == 0  # died after five years: survived the 5-year horizon
    assert label_5y(59.99, 1, horizon=60) == 1

"""Small hand-written cBioPortal study folders for the cohort tests."""

from __future__ import annotations

from pathlib import Path

import pytest

PATIENT_HEADER = [
    "PATIENT_ID",
    "AGE",
    "SEX",
    "AJCC_PATHOLOGIC_TUMOR_STAGE",
    "PATH_T_STAGE",
    "PATH_N_STAGE",
    "PATH_M_STAGE",
    "DSS_STATUS",
    "DSS_MONTHS",
    "OS_STATUS",
    "OS_MONTHS",
]
PATIENT_ROWS = [
    [
        "TCGA-AA-0001",
        "60",
        "Male",
        "STAGE I",
        "T1A",
        "N0",
        "M0",
        "0:ALIVE OR DEAD TUMOR FREE",
        "70.5",
        "0:LIVING",
        "70.5",
    ],
    [
        "TCGA-AA-0002",
        "55",
        "Female",
        "STAGE III",
        "T3B",
        "NX",
        "M0",
        "1:DEAD WITH TUMOR",
        "20.0",
        "1:DECEASED",
        "20.0",
    ],
    [
        "TCGA-AA-0003",
        "71",
        "Male",
        "STAGE IV",
        "T2",
        "N1",
        "M1",
        "0:ALIVE OR DEAD TUMOR FREE",
        "12.0",
        "0:LIVING",
        "12.0",
    ],
]


def write_cbio(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A cBioPortal clinical file: four '#' header lines, then the table."""
    n = len(header)
    lines = [
        "#" + "\t".join(header),
        "#" + "\t".join(header),
        "#" + "\t".join(["STRING"] * n),
        "#" + "\t".join(["1"] * n),
        "\t".join(header),
    ]
    lines += ["\t".join(r) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def make_study(tmp_path):
    """make_study(patient_rows=None, header=None, samples=None, maf=None, cna=None) -> study folder."""

    def _make(rows=None, header=None, samples=None, maf=None, cna=None, name="study"):
        root = tmp_path / name
        write_cbio(root / "data_clinical_patient.txt", header or PATIENT_HEADER, rows or PATIENT_ROWS)
        if samples is not None:
            write_cbio(root / "data_clinical_sample.txt", ["SAMPLE_ID", "PATIENT_ID", "GRADE"], samples)
        if maf is not None:
            (root / "data_mutations.txt").write_text("#version 2.4\n" + maf)
        if cna is not None:
            (root / "data_cna.txt").write_text(cna)
        return root

    return _make


@pytest.fixture
def patient_table():
    """(header, rows) of the default small study, as fresh lists to edit."""
    return list(PATIENT_HEADER), [list(r) for r in PATIENT_ROWS]

"""cBioPortal study folder: which files it holds, and the clinical patient / sample tables read from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmdlm.cohort.tables import Table, check_ids, check_unique, read_table
from mmdlm.errors import MmdlmError

PATIENT_FILE = "data_clinical_patient.txt"
SAMPLE_FILE = "data_clinical_sample.txt"
CNA_FILE = "data_cna.txt"
MAF_GLOB = "data_mutations*.txt"


@dataclass(frozen=True)
class Study:
    """The parts of a cBioPortal study folder that ingest uses (any but the patient file may be absent)."""

    root: Path
    patients: Table
    samples: Table | None
    maf_files: tuple[Path, ...]
    cna_file: Path | None
    sequenced_samples: frozenset[str] | None  # from case_lists/cases_sequenced.txt
    cna_samples: frozenset[str] | None  # from case_lists/cases_cna.txt


def read_case_list(path: Path) -> frozenset[str]:
    """Sample IDs of a cBioPortal case list file (`case_list_ids: A<TAB>B...`)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "case_list_ids":
            return frozenset(s for s in value.replace(",", "\t").split() if s)
    raise MmdlmError("case list without case_list_ids", file=path, field="case_list_ids")


def read_study(root: str | Path) -> Study:
    """Find and read a study folder: the patient file is required (PATIENT_ID unique), the sample file is
    read when present (SAMPLE_ID unique, PATIENT_ID given), mutation / CNA files are only located here."""
    root = Path(root)
    if not root.is_dir():
        raise MmdlmError("cBioPortal study folder not found", file=root)
    ppath = root / PATIENT_FILE
    if not ppath.is_file():
        raise MmdlmError(f"study folder has no {PATIENT_FILE}", file=root)
    patients = read_table(ppath)
    patients.require("PATIENT_ID")
    check_unique(patients, "PATIENT_ID")
    check_ids(patients, "PATIENT_ID")
    if patients.frame.empty:
        raise MmdlmError("no patient rows below the header", file=ppath, field="PATIENT_ID")
    samples = None
    spath = root / SAMPLE_FILE
    if spath.is_file():
        samples = read_table(spath)
        samples.require("SAMPLE_ID", "PATIENT_ID")
        check_unique(samples, "SAMPLE_ID", is_patient=False)
        for i, pid in enumerate(samples.frame["PATIENT_ID"]):
            if not pid:
                raise MmdlmError("empty PATIENT_ID", file=spath, row=samples.line(i), field="PATIENT_ID")
    cna = root / CNA_FILE
    cases = root / "case_lists"
    seq = cases / "cases_sequenced.txt"
    cna_list = cases / "cases_cna.txt"
    return Study(
        root=root,
        patients=patients,
        samples=samples,
        maf_files=tuple(sorted(root.glob(MAF_GLOB))),
        cna_file=cna if cna.is_file() else None,
        sequenced_samples=read_case_list(seq) if seq.is_file() else None,
        cna_samples=read_case_list(cna_list) if cna_list.is_file() else None,
    )

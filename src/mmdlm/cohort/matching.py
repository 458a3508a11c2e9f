"""Matching files to patients: TCGA barcodes (patient = first 12 characters) or a user mapping file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mmdlm.cohort.tables import read_table
from mmdlm.errors import MmdlmError

#: A TCGA barcode's patient part: project-TSS-participant, e.g. TCGA-B0-5081.
TCGA_PATIENT = re.compile(
    r"(?<![A-Za-z0-9])(TCGA-[A-Za-z0-9]{2}-[A-Za-z0-9]{4})(?![A-Za-z0-9])", re.IGNORECASE
)


def tcga_patient(text: str) -> str | None:
    """The patient barcode (first 12 characters, upper case) found in `text`, or None."""
    m = TCGA_PATIENT.search(text)
    return m.group(1).upper() if m else None


@dataclass(frozen=True)
class Mapping:
    """User mapping file -> patient_id; keys are the mapping's `file` entries, matched on the relative path
    below the scanned folder or, failing that, on the file (or folder) name."""

    by_path: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    def lookup(self, rel: str) -> str | None:
        """patient_id mapped to a relative path (or its last component), or None."""
        rel = rel.replace("\\", "/").strip("/")
        if rel in self.by_path:
            return self.by_path[rel]
        return self.by_name.get(rel.rsplit("/", 1)[-1])

    def keys(self) -> set[str]:
        """Every file entry of the mapping."""
        return set(self.by_path)


def read_mapping(path: str | Path) -> Mapping:
    """Read a mapping CSV with columns `file` and `patient_id` (comma or tab separated). A file listed twice
    with different patients is an error."""
    path = Path(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    table = read_table(path, sep=sep, comment_lines=False)
    table.require("file", "patient_id")
    by_path: dict[str, str] = {}
    by_name: dict[str, str] = {}
    ambiguous_names: set[str] = set()
    for i, (f, pid) in enumerate(zip(table.frame["file"], table.frame["patient_id"], strict=True)):
        if not f:
            raise MmdlmError("empty file entry", file=path, row=table.line(i), field="file")
        if not pid:
            raise MmdlmError("empty patient_id", file=path, row=table.line(i), field="patient_id")
        key = f.replace("\\", "/").strip("/")
        if key in by_path and by_path[key] != pid:
            raise MmdlmError(
                f"{f!r} mapped to two patients ({by_path[key]}, {pid})",
                file=path,
                row=table.line(i),
                patient=pid,
                field="file",
            )
        by_path[key] = pid
        name = key.rsplit("/", 1)[-1]
        if name in by_name and by_name[name] != pid:
            ambiguous_names.add(name)
        by_name[name] = pid
    for name in ambiguous_names:
        by_name.pop(name, None)
    return Mapping(by_path=by_path, by_name=by_name, source=path)


def match_patient(
    rel: str, patients: set[str], mapping: Mapping | None, extra: Iterable[str] = ()
) -> str | None:
    """The patient a file belongs to: the mapping first, then a TCGA barcode in the path's components (file
    name first), then a path component equal to a patient_id; `extra` strings (a DICOM PatientID) last."""
    if mapping is not None:
        pid = mapping.lookup(rel)
        if pid is not None:
            return pid if pid in patients else None
    parts = [p for p in rel.replace("\\", "/").split("/") if p]
    for part in reversed(parts):
        pid = tcga_patient(part)
        if pid is not None and pid in patients:
            return pid
    for part in reversed(parts):
        stem = part.split(".", 1)[0]
        for candidate in (part, stem):
            if candidate in patients:
                return candidate
    for text in extra:
        if not text:
            continue
        if text in patients:
            return text
        pid = tcga_patient(text)
        if pid is not None and pid in patients:
            return pid
    return None

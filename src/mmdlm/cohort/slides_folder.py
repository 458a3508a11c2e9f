"""Slides folder -> slides table (patient_id, slide_id, path), GDC layout (<file uuid>/<barcode>.svs) or flat.

Only names are read here, never pixels. slide_id is the file name without its extension (the GDC file name
keeps the barcode and file UUID, so it is unique); two files with the same slide_id are an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmdlm.cohort.matching import Mapping, match_patient
from mmdlm.cohort.walk import link_warnings, walk_files
from mmdlm.errors import MmdlmError
from mmdlm.names import check_id

SLIDE_COLUMNS: tuple[str, ...] = ("patient_id", "slide_id", "path")


@dataclass
class SlideScan:
    """Result of scanning a slides folder."""

    table: pd.DataFrame
    unmatched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def slide_id_of(path: Path, extensions: tuple[str, ...]) -> str:
    """File name without its slide extension ('X.svs' -> 'X', 'X.ome.tiff' -> 'X.ome')."""
    name = path.name
    for ext in sorted(extensions, key=len, reverse=True):
        if name.lower().endswith(ext.lower()):
            return name[: -len(ext)]
    return path.stem


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def scan_slides(
    root: str | Path, patients: set[str], extensions: tuple[str, ...], mapping: Mapping | None = None
) -> SlideScan:
    """Every slide file below `root` (recursively; hidden files and folders and partial downloads skipped)
    matched to a patient; files that match none are listed in `unmatched`."""
    root = Path(root)
    if not root.is_dir():
        raise MmdlmError("slides folder not found", file=root)
    exts = tuple(e.lower() for e in extensions)
    rows: list[dict[str, str]] = []
    unmatched: list[str] = []
    seen: dict[str, Path] = {}
    walk = walk_files(root)
    for path in walk.files:
        rel = path.relative_to(root)
        if _is_hidden(rel) or not path.is_file() or not path.name.lower().endswith(exts):
            continue
        pid = match_patient(rel.as_posix(), patients, mapping)
        if pid is None:
            unmatched.append(os.path.abspath(path))
            continue
        sid = check_id(slide_id_of(path, extensions), field="slide_id", file=path, what="slide_id")
        if sid in seen:
            raise MmdlmError(
                f"two slide files share the slide_id {sid!r} ({seen[sid]} and {path})",
                file=path,
                patient=pid,
                field="slide_id",
            )
        seen[sid] = path
        rows.append({"patient_id": pid, "slide_id": sid, "path": os.path.abspath(path)})
    table = pd.DataFrame(rows, columns=list(SLIDE_COLUMNS))
    warnings = []
    if not rows and not unmatched:
        warnings.append(f"no slide files ({', '.join(extensions)}) found in {root}")
    if unmatched:
        warnings.append(f"{len(unmatched)} slide file(s) match no patient (listed under unmatched.slides)")
    warnings += link_warnings(walk, "slides")
    return SlideScan(table=table, unmatched=unmatched, warnings=warnings)

"""What ingest reads from (IngestSources) and builds (IngestResult), and how a result is written as the
manifest folder; the reading itself is mmdlm.pipeline.ingest (it composes cohort and genomics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmdlm.cohort.manifest import write_manifest


@dataclass(frozen=True)
class IngestSources:
    """What the user points ingest at (only the study folder is required)."""

    cbioportal: Path
    cdr: Path | None = None
    alterations: Path | None = None
    slides: Path | None = None
    radiology: Path | None = None
    mapping: Path | None = None


@dataclass
class IngestResult:
    """The manifest tables and summary (also what is written to disk)."""

    patients: pd.DataFrame
    slides: pd.DataFrame
    radiology: pd.DataFrame
    alterations: pd.DataFrame
    features_info: dict
    summary: dict = field(default_factory=dict)


def write_result(result: IngestResult, out: str | Path, force: bool = False) -> Path:
    """Write an IngestResult as the manifest folder (atomically); returns the folder."""
    out = Path(out)
    result.summary["out"] = str(out.resolve())
    return write_manifest(out, patients=result.patients, slides=result.slides, radiology=result.radiology,
                          alterations=result.alterations, features_info=result.features_info,
                          summary=result.summary, force=force)

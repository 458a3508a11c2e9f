"""`mmdlm ingest`: cBioPortal study (+ CDR, alteration table, slides, radiology) -> the manifest folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmdlm.cohort.cbioportal import read_study
from mmdlm.cohort.config import IngestConfig
from mmdlm.cohort.matching import read_mapping
from mmdlm.cohort.patients import build_patients, read_cdr
from mmdlm.cohort.radiology_folder import RADIOLOGY_COLUMNS, scan_radiology
from mmdlm.cohort.result import IngestResult, IngestSources, write_result
from mmdlm.cohort.slides_folder import SLIDE_COLUMNS, scan_slides
from mmdlm.cohort.summary import availability_counts, clinical_counts, endpoint_counts
from mmdlm.errors import MmdlmError
from mmdlm.genomics.alterations import AlterationResult, from_ready, from_study

__all__ = ["IngestResult", "IngestSources", "ingest", "run_ingest", "write_result"]


def _abs(p: Path | None) -> str | None:
    return str(Path(p).resolve()) if p is not None else None


def ingest(sources: IngestSources, cfg: IngestConfig, endpoint: str | None = None) -> IngestResult:
    """Read every source, build the manifest tables and the summary (nothing written)."""
    endpoint = (endpoint or cfg.endpoint).upper()
    study = read_study(sources.cbioportal)
    cdr = read_cdr(sources.cdr) if sources.cdr is not None else None
    built = build_patients(study.patients, study.samples, cdr, endpoint, cfg.horizon_months)
    patients = built.table
    ids = list(patients["patient_id"])
    idset = set(ids)
    warnings = list(built.warnings)
    unmatched: dict[str, list[str]] = {}

    mapping = read_mapping(sources.mapping) if sources.mapping is not None else None
    slides = pd.DataFrame(columns=list(SLIDE_COLUMNS))
    if sources.slides is not None:
        scan = scan_slides(sources.slides, idset, cfg.slide_extensions, mapping)
        slides, unmatched["slides"] = scan.table, scan.unmatched
        warnings += scan.warnings
    radiology = pd.DataFrame(columns=list(RADIOLOGY_COLUMNS))
    skipped_modalities: dict[str, int] = {}
    if sources.radiology is not None:
        rscan = scan_radiology(sources.radiology, idset, mapping, cfg.nifti_default_modality)
        radiology, unmatched["radiology"] = rscan.table, rscan.unmatched
        skipped_modalities = rscan.skipped_modalities
        warnings += rscan.warnings

    alt: AlterationResult | None = None
    if sources.alterations is not None:
        alt = from_ready(sources.alterations, ids, top_n=cfg.top_n_alterations, threshold=cfg.cna_threshold,
                         requested=cfg.alteration_features)
        unmatched["alterations"] = alt.unmatched
        if study.maf_files or study.cna_file is not None:
            warnings.append("--alterations given: the study's MAF / CNA files are not used")
    else:
        sample_map = {}
        if study.samples is not None:
            sample_map = dict(
                zip(study.samples.frame["SAMPLE_ID"], study.samples.frame["PATIENT_ID"], strict=True)
            )
        alt = from_study(study.maf_files, study.cna_file, sample_map, ids, sequenced=study.sequenced_samples,
                         top_n=cfg.top_n_alterations, threshold=cfg.cna_threshold,
                         excluded_classes=cfg.maf_excluded_classes, requested=cfg.alteration_features)
        if alt is not None:
            unmatched["genomic_samples"] = alt.unmatched
    if alt is None:
        alterations = pd.DataFrame(columns=["patient_id"])
        features_info: dict = {"features": [], "selection": "no genomic source given", "n_patients": 0}
    else:
        alterations, features_info = alt.matrix, alt.info
        warnings += alt.warnings
        if not cfg.alteration_features and len(alt.features) < cfg.top_n_alterations:
            warnings.append(
                f"only {len(alt.features)} alteration feature(s) are altered in any patient "
                f"(top_n_alterations = {cfg.top_n_alterations})"
            )
    if study.samples is not None:
        orphans = sorted(set(study.samples.frame["PATIENT_ID"]) - idset)
        if orphans:
            unmatched["samples"] = orphans
            warnings.append(
                f"{len(orphans)} patient(s) of {study.samples.path.name} are not in the patient file"
            )
    if built.cdr_patients_not_in_study:
        unmatched["cdr_patients"] = built.cdr_patients_not_in_study

    summary = {
        "endpoint": endpoint,
        "patients": len(patients),
        "endpoint_counts": endpoint_counts(patients, cfg.horizon_months),
        "endpoint_source": built.endpoint_source,
        "clinical_parsed": clinical_counts(patients),
        "filled_from_cdr": built.filled_from_cdr,
        "availability": availability_counts(patients, slides, radiology, alterations),
        "features": features_info.get("features", []),
        "alteration_conflicts": list(alt.conflicts) if alt is not None else [],
        "radiology_skipped_modalities": skipped_modalities,
        "unmatched_counts": {k: len(v) for k, v in unmatched.items()},
        "unmatched": unmatched,
        "warnings": warnings,
        "sources": {
            k: _abs(getattr(sources, k))
            for k in ("cbioportal", "cdr", "alterations", "slides", "radiology", "mapping")
        },
        "config": cfg.model_dump(mode="json"),
    }
    return IngestResult(patients=patients, slides=slides, radiology=radiology, alterations=alterations,
                        features_info=features_info, summary=summary)


def run_ingest(
    sources: IngestSources,
    out: str | Path,
    cfg: IngestConfig,
    endpoint: str | None = None,
    force: bool = False,
) -> IngestResult:
    """ingest() then write_result(): the library call behind `mmdlm ingest`."""
    out = Path(out)
    if out.exists() and not force:
        raise MmdlmError("output folder exists (use --force to replace it)", file=out)
    result = ingest(sources, cfg, endpoint)
    write_result(result, out, force=force)
    return result

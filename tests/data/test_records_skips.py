"""A patient without any modality (no slide tiles, no radiology image, no genomics) is a documented skip:
a warning naming the count, the count in the summary, never a silent drop or a crash."""

from __future__ import annotations

import logging

import pandas as pd

from mmdlm.cohort.manifest import write_manifest
from mmdlm.cohort.paths import CohortPaths
from mmdlm.config import Config
from mmdlm.data.records import load_records_with_summary


def test_patient_without_any_modality_is_skipped_with_a_warning_and_a_count(tmp_path, caplog):
    patients = pd.DataFrame(
        {"patient_id": ["P1", "P2", "P3"], "time": [10.0, 20.0, 30.0], "event": [1, 0, 1],
         "endpoint": "DSS", "label_5y": [1, None, None]}
    )
    for column in ("t_stage", "n_stage", "m_stage", "grade", "stage", "age", "sex", "t_stage_raw",
                   "n_stage_raw", "m_stage_raw", "grade_raw", "stage_raw"):
        patients[column] = None
    alterations = pd.DataFrame({"patient_id": ["P1", "P2"], "VHL_mut": [1, 0]})
    write_manifest(
        tmp_path / "cohort",
        patients=patients,
        slides=pd.DataFrame(columns=["patient_id", "slide_id", "path"]),
        radiology=pd.DataFrame(columns=["patient_id", "path", "kind", "modality", "plane", "mask_path"]),
        alterations=alterations,
        features_info={"features": ["VHL_mut"], "rule": "test"},
        summary={},
    )
    with caplog.at_level(logging.INFO, logger="mmdlm"):
        records, summary = load_records_with_summary(CohortPaths(tmp_path / "cohort"), Config())
    assert [r.patient_id for r in records] == ["P1", "P2"]
    assert summary.skipped_no_modality == 1 and summary.patients == 2 and summary.skipped_ids == ("P3",)
    # one warning line with the count (what `cv` prints); the patients themselves only at INFO (the run log)
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == ["1 patient(s) without any modality (tiles, radiology or genomics) skipped"]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "patient P3 has no tiles, radiology or genomics: skipped" in info

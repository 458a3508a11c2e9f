"""Cohort tables (the manifest's patients.csv) built with pandas from the real raw files, for tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def kirc_patients(kirc: Path) -> pd.DataFrame:
    """TCGA-KIRC patients.csv rows, DSS endpoint: cBioPortal patient file + grade from the TCGA CDR."""
    pat = pd.read_csv(kirc / "data_clinical_patient.txt", sep="\t", comment="#", dtype=str)
    cdr = pd.read_csv(kirc / "tcga_cdr_kirc.tsv", sep="\t", dtype=str)
    grade = cdr.set_index("bcr_patient_barcode")["histological_grade"]
    status = pat["DSS_STATUS"].str.split(":").str[0]
    df = pd.DataFrame({
        "patient_id": pat["PATIENT_ID"],
        "time": pd.to_numeric(pat["DSS_MONTHS"], errors="coerce"),
        "event": pd.to_numeric(status, errors="coerce"),
        "endpoint": "DSS",
        "t_stage": pat["PATH_T_STAGE"],
        "n_stage": pat["PATH_N_STAGE"],
        "m_stage": pat["PATH_M_STAGE"],
        "grade": pat["PATIENT_ID"].map(grade),
        "stage": pat["AJCC_PATHOLOGIC_TUMOR_STAGE"],
        "age": pd.to_numeric(pat["AGE"], errors="coerce"),
        "sex": pat["SEX"],
    })
    df["label_5y"] = np.where((df["event"] == 1) & (df["time"] < 60), 1.0,
                              np.where(df["time"] >= 60, 0.0, np.nan))
    return df


def kits_patients(kits_json: Path) -> pd.DataFrame:
    """KiTS19 clear-cell RCC patients.csv rows: overall survival in months, ISUP grade, pT/pN/pM."""
    rows = [r for r in json.loads(kits_json.read_text()) if r["tumor_histologic_subtype"] == "clear_cell_rcc"]
    df = pd.DataFrame({
        "patient_id": [r["case_id"] for r in rows],
        "time": [r["vital_days_after_surgery"] / 30.4375 for r in rows],
        "event": [1 if r["vital_status"] == "dead" else 0 for r in rows],
        "endpoint": "OS",
        "t_stage": [r["pathology_t_stage"] for r in rows],
        "n_stage": [r["pathology_n_stage"] for r in rows],
        "m_stage": [r["pathology_m_stage"] for r in rows],
        "grade": [r["tumor_isup_grade"] for r in rows],
        "age": [r["age_at_nephrectomy"] for r in rows],
        "sex": [r["gender"] for r in rows],
    })
    return df

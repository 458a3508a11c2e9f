"""Ingest of the real TCGA-KIRC files (cBioPortal patient file + CDR + alteration table); expected numbers are
computed here independently from the raw files with pandas."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mmdlm.cohort.config import IngestConfig
from mmdlm.cohort.manifest import load_manifest
from mmdlm.pipeline.ingest import IngestSources, run_ingest


@pytest.fixture(scope="module")
def kirc(shared_data):
    return shared_data / "kirc"


@pytest.fixture(scope="module")
def raw_patients(kirc) -> pd.DataFrame:
    return pd.read_csv(kirc / "data_clinical_patient.txt", sep="\t", comment=None, skiprows=4, dtype=str)


@pytest.fixture(scope="module")
def raw_cdr(kirc) -> pd.DataFrame:
    return pd.read_csv(kirc / "tcga_cdr_kirc.tsv", sep="\t", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def cohort(kirc, tmp_path_factory):
    out = tmp_path_factory.mktemp("kirc") / "cohort"
    src = IngestSources(
        cbioportal=kirc, cdr=kirc / "tcga_cdr_kirc.tsv", alterations=kirc / "alterations_top10.tsv"
    )
    run_ingest(src, out, IngestConfig())
    return out


def test_dss_counts(cohort, raw_patients):
    m = load_manifest(cohort)
    raw = raw_patients
    has = raw["DSS_STATUS"].notna() & raw["DSS_MONTHS"].notna()
    events = raw.loc[has, "DSS_STATUS"].str.startswith("1:").sum()
    assert (int(has.sum()), int(events)) == (501, 108)
    assert len(m.patients) == len(raw) == 512
    assert m.endpoint == "DSS"
    assert len(m.with_endpoint()) == 501
    assert int(m.patients["event"].sum()) == 108
    summary = json.loads((cohort / "summary.json").read_text())
    assert summary["endpoint_counts"]["patients_with_endpoint"] == 501
    assert summary["endpoint_counts"]["events"] == 108
    assert summary["endpoint_counts"]["patients_without_endpoint"] == 11
    # times are the study's months, untouched
    t = raw.set_index("PATIENT_ID").loc[m.with_endpoint()["patient_id"], "DSS_MONTHS"].astype(float)
    assert m.with_endpoint()["time"].to_numpy() == pytest.approx(t.to_numpy())


def test_5yss_labels(cohort, raw_patients):
    m = load_manifest(cohort)
    raw = raw_patients[raw_patients["DSS_STATUS"].notna()]
    t = raw["DSS_MONTHS"].astype(float)
    e = raw["DSS_STATUS"].str.startswith("1:")
    dead, alive = int(((t < 60) & e).sum()), int((t >= 60).sum())
    excluded = int(((t < 60) & ~e).sum())
    lab = m.patients["label_5y"]
    assert (int((lab == 1).sum()), int((lab == 0).sum())) == (dead, alive)
    summary = json.loads((cohort / "summary.json").read_text())["endpoint_counts"]["label_5y"]
    assert summary["excluded_censored_before_horizon"] == excluded
    assert dead + alive + excluded == 501


def test_clinical_parsed_counts(cohort, raw_patients, raw_cdr):
    m = load_manifest(cohort)
    raw = raw_patients
    t = raw["PATH_T_STAGE"].notna() & (raw["PATH_T_STAGE"] != "TX")
    n = raw["PATH_N_STAGE"].notna() & (raw["PATH_N_STAGE"] != "NX")
    mm = raw["PATH_M_STAGE"].notna() & (raw["PATH_M_STAGE"] != "MX")
    g = raw_cdr.set_index("bcr_patient_barcode").loc[raw["PATIENT_ID"], "histological_grade"]
    grade = g.isin(["G1", "G2", "G3", "G4"])
    p = m.patients
    assert int(p["t_stage"].notna().sum()) == int(t.sum()) == 512
    assert int(p["n_stage"].notna().sum()) == int(n.sum()) == 245
    assert int(p["m_stage"].notna().sum()) == int(mm.sum()) == 481
    assert int(p["grade"].notna().sum()) == int(grade.sum()) == 504
    # values, not just presence: T3A -> 3, G4 -> 4, M1 -> 1
    first = raw["PATH_T_STAGE"].str[1].astype(int)
    assert (p["t_stage"].to_numpy() == first.to_numpy()).all()
    assert (p.loc[grade.to_numpy(), "grade"].to_numpy() == g[grade].str[1].astype(int).to_numpy()).all()
    assert int((p["m_stage"] == 1).sum()) == int((raw["PATH_M_STAGE"] == "M1").sum())
    assert p["t_stage_raw"].tolist() == raw["PATH_T_STAGE"].tolist()
    summary = json.loads((cohort / "summary.json").read_text())
    assert summary["filled_from_cdr"]["grade"] == 504 + 5  # GX is a value the CDR has (normalised to missing)
    # data/README: complete cases with DSS, T, an M stage as given (MX included) and grade G1-G4
    complete = p["time"].notna() & p["t_stage"].notna() & (p["m_stage_raw"] != "") & p["grade"].notna()
    assert int(complete.sum()) == 491
    assert int(p.loc[complete, "event"].sum()) == 108


def test_vhl_mut_and_alteration_matrix(cohort, kirc, raw_patients):
    m = load_manifest(cohort)
    alt = pd.read_csv(kirc / "alterations_top10.tsv", sep="\t")
    in_study = alt[alt["case_id"].isin(set(raw_patients["PATIENT_ID"]))]
    per_patient = in_study.drop(columns="slide_id").groupby("case_id").max()
    vhl = int(per_patient["VHL_mut"].sum())
    assert len(m.alterations) == len(per_patient) == 334
    assert int(m.alterations["VHL_mut"].sum()) == vhl == 156
    assert m.features[0] == "VHL_mut" and len(m.features) == 10
    # VHL_del from GISTIC -2 (deep deletion)
    assert int(m.alterations["VHL_del"].sum()) == int((per_patient["VHL_cnv"] == -2).sum())
    summary = json.loads((cohort / "summary.json").read_text())
    assert summary["unmatched_counts"]["alterations"] == alt["case_id"].nunique() - 334
    assert summary["alteration_conflicts"] == []
    info = json.loads((cohort / "features.json").read_text())
    assert info["rule"]["aggregation"].startswith("OR over")
    assert info["rows_per_patient_max"] == 3


def test_cdr_fills_missing_endpoint(kirc, raw_patients, raw_cdr, tmp_path):
    """A study file without DSS columns: the CDR (days) supplies DSS, converted to months."""
    study = tmp_path / "study"
    study.mkdir()
    lines = (kirc / "data_clinical_patient.txt").read_text().splitlines()
    header = lines[4].split("\t")
    drop = {header.index("DSS_STATUS"), header.index("DSS_MONTHS")}
    out_lines = ["\t".join(c for j, c in enumerate(line.split("\t")) if j not in drop) for line in lines]
    (study / "data_clinical_patient.txt").write_text("\n".join(out_lines) + "\n")
    run_ingest(
        IngestSources(cbioportal=study, cdr=kirc / "tcga_cdr_kirc.tsv"), tmp_path / "c", IngestConfig()
    )
    m = load_manifest(tmp_path / "c")
    cdr = raw_cdr.set_index("bcr_patient_barcode").loc[raw_patients["PATIENT_ID"]]
    known = cdr["DSS"].isin(["0", "1"]) & (cdr["DSS.time"] != "#N/A")
    assert len(m.with_endpoint()) == int(known.sum())
    assert int(m.patients["event"].sum()) == int((cdr.loc[known, "DSS"] == "1").sum())
    days = cdr.loc[known, "DSS.time"].astype(float).to_numpy()
    assert m.with_endpoint()["time"].to_numpy() == pytest.approx(days / 30.4375)


def test_os_endpoint(kirc, raw_patients, tmp_path):
    run_ingest(IngestSources(cbioportal=kirc), tmp_path / "c", IngestConfig(), endpoint="OS")
    m = load_manifest(tmp_path / "c")
    assert m.endpoint == "OS"
    assert len(m.with_endpoint()) == 512
    assert int(m.patients["event"].sum()) == int(raw_patients["OS_STATUS"].str.startswith("1:").sum()) == 170
    assert m.patients["grade"].isna().all()  # no CDR: the study has no grade
    assert m.alterations.empty and m.features == []

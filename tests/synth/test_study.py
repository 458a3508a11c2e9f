"""The cBioPortal study files, parsed with cBioPortal's rules, and their agreement with the truth tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

NON_SILENT = {
    "Missense_Mutation",
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Splice_Site",
    "Nonstop_Mutation",
    "Translation_Start_Site",
}
MAF_REQUIRED = ("Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification", "HGVSp_Short")


def _tsv(path):
    return [line.rstrip("\n").split("\t") for line in path.read_text().splitlines(keepends=True)]


def parse_clinical(path):
    """cBioPortal clinical file: 4 '#' metadata rows (names, descriptions, datatypes, priorities) + header."""
    lines = _tsv(path)
    meta, header, rows = lines[:4], lines[4], lines[5:]
    assert all(row[0].startswith("#") for row in meta), "four '#' header lines"
    assert not header[0].startswith("#")
    assert all(len(row) == len(header) for row in meta + rows), "every row has one cell per column"
    datatypes = [c.lstrip("#") for c in meta[2]]
    assert set(datatypes) <= {"STRING", "NUMBER", "BOOLEAN"}
    assert all(c.lstrip("#").isdigit() for c in meta[3])
    assert len(set(header)) == len(header) and all(h == h.upper() and " " not in h for h in header)
    records = [dict(zip(header, row, strict=True)) for row in rows]
    for col, dtype in zip(header, datatypes, strict=True):
        if dtype == "NUMBER":
            for r in records:
                if r[col] not in ("", "NA"):
                    float(r[col])
    return header, records


def parse_meta(path):
    pairs = dict(line.split(": ", 1) for line in path.read_text().splitlines() if line)
    assert pairs["cancer_study_identifier"]
    return pairs


def test_meta_files_point_at_existing_data(cohort):
    study = cohort[0] / "study"
    meta = parse_meta(study / "meta_study.txt")
    assert {"type_of_cancer", "name", "description"} <= set(meta)
    metas = ("meta_clinical_patient.txt", "meta_clinical_sample.txt", "meta_mutations.txt", "meta_cna.txt")
    for name in metas:
        pairs = parse_meta(study / name)
        assert pairs["cancer_study_identifier"] == meta["cancer_study_identifier"]
        assert (study / pairs["data_filename"]).is_file()
    assert parse_meta(study / "meta_cna.txt")["datatype"] == "DISCRETE"
    assert parse_meta(study / "meta_mutations.txt")["datatype"] == "MAF"


def test_clinical_patient_file(cohort, small_cfg):
    header, rows = parse_clinical(cohort[0] / "study" / "data_clinical_patient.txt")
    for col in (
        "PATIENT_ID",
        "OS_STATUS",
        "OS_MONTHS",
        "DSS_STATUS",
        "DSS_MONTHS",
        "PATH_T_STAGE",
        "PATH_N_STAGE",
        "PATH_M_STAGE",
        "AGE",
        "SEX",
    ):
        assert col in header
    assert [r["PATIENT_ID"] for r in rows] == [f"TCGA-SY-{i:04d}" for i in range(1, small_cfg.patients + 1)]
    for r in rows:
        assert r["OS_STATUS"] in ("0:LIVING", "1:DECEASED")
        assert r["DSS_STATUS"] in ("0:ALIVE OR DEAD TUMOR FREE", "1:DEAD WITH TUMOR")
        assert r["SEX"] in ("Male", "Female")
        assert r["PATH_T_STAGE"] in {"T1", "T1A", "T1B", "T2", "T2A", "T2B", "T3A", "T3B", "T3C", "T4"}
        assert r["PATH_N_STAGE"] in {"N0", "N1", "NX"} and r["PATH_M_STAGE"] in {"M0", "M1", "MX"}
        assert float(r["OS_MONTHS"]) > 0 and float(r["DSS_MONTHS"]) == float(r["OS_MONTHS"])
        if r["DSS_STATUS"].startswith("1"):
            assert r["OS_STATUS"] == "1:DECEASED"  # OS events include every DSS event


def test_clinical_sample_file(cohort):
    _, rows = parse_clinical(cohort[0] / "study" / "data_clinical_sample.txt")
    assert all(r["SAMPLE_ID"] == r["PATIENT_ID"] + "-01" for r in rows)
    assert all(r["GRADE"] in ("G1", "G2", "G3", "G4") for r in rows)


def _truth_alterations(out):
    with (out / "truth_alterations.csv").open() as fh:
        return {r.pop("patient_id"): {k: int(v) for k, v in r.items()} for r in csv.DictReader(fh)}


def test_maf_rows_encode_the_intended_mutations(cohort):
    out, _ = cohort
    lines = (out / "study" / "data_mutations.txt").read_text().splitlines()
    assert lines[0] == "#version 2.4"
    header = lines[1].split("\t")
    assert set(MAF_REQUIRED) <= set(header)
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[2:]]
    assert rows
    classes = {r["Variant_Classification"] for r in rows}
    assert classes <= NON_SILENT | {"Silent"}
    assert "Silent" in classes  # present, and ingest must ignore them
    truth = _truth_alterations(out)
    coding = [r for r in rows if r["Variant_Classification"] != "Silent"]
    found = {(r["Tumor_Sample_Barcode"][:12], r["Hugo_Symbol"]) for r in coding}
    intended = {(p, f[:-4]) for p, fs in truth.items() for f, v in fs.items() if f.endswith("_mut") and v}
    assert found == intended
    assert all(r["Tumor_Sample_Barcode"].endswith("-01") for r in rows)


def test_cna_file_is_gistic_and_matches_truth(cohort):
    out, _ = cohort
    lines = _tsv(out / "study" / "data_cna.txt")
    header = lines[0]
    _, samples = parse_clinical(out / "study" / "data_clinical_sample.txt")
    assert header[0] == "Hugo_Symbol" and header[1:] == [s["SAMPLE_ID"] for s in samples]
    values = {row[0]: np.array(row[1:], dtype=int) for row in lines[1:]}
    assert all(set(np.unique(v)) <= {-2, -1, 0, 1, 2} for v in values.values())
    truth = _truth_alterations(out)
    pids = [s[:12] for s in header[1:]]
    for feature in next(iter(truth.values())):
        gene, kind = feature.rsplit("_", 1)
        if kind in ("del", "amp"):
            expected = np.array([truth[p][feature] for p in pids])
            assert np.array_equal(values[gene] == (-2 if kind == "del" else 2), expected.astype(bool))


@pytest.mark.parametrize("name", ["case_lists/cases_sequenced.txt", "case_lists/cases_cna.txt"])
def test_case_lists_name_every_sample(cohort, small_cfg, name):
    pairs = parse_meta(cohort[0] / "study" / name)
    assert len(pairs["case_list_ids"].split("\t")) == small_cfg.patients

"""Bad input is named (file, row, patient, field); tolerable problems become counted warnings."""

from __future__ import annotations

import json

import pytest

from mmdlm.cohort.config import IngestConfig
from mmdlm.cohort.manifest import load_manifest
from mmdlm.errors import MmdlmError
from mmdlm.pipeline.ingest import IngestSources, ingest, run_ingest


def _ingest(study, **kw):
    return ingest(IngestSources(cbioportal=study, **kw), IngestConfig())


def _raises(study, **kw) -> MmdlmError:
    with pytest.raises(MmdlmError) as exc:
        _ingest(study, **kw)
    return exc.value


def test_small_study_ok(make_study, tmp_path):
    res = run_ingest(IngestSources(cbioportal=make_study()), tmp_path / "out", IngestConfig())
    p = res.patients.set_index("patient_id")
    assert p.loc["TCGA-AA-0002", "event"] == 1 and p.loc["TCGA-AA-0002", "label_5y"] == 1
    assert p.loc["TCGA-AA-0001", "label_5y"] == 0
    assert p["label_5y"].isna().sum() == 1  # censored at 12 months: excluded
    assert p.loc["TCGA-AA-0002", "n_stage"] is pd_na() and p.loc["TCGA-AA-0002", "n_stage_raw"] == "NX"
    assert p.loc["TCGA-AA-0003", "stage"] == 4
    assert res.summary["endpoint_counts"]["label_5y"]["excluded_censored_before_horizon"] == 1


def pd_na():
    import pandas as pd

    return pd.NA


def test_missing_required_column(make_study, patient_table):
    header, rows = patient_table
    header[0] = "PATIENT"
    err = _raises(make_study(rows=rows, header=header))
    assert err.field == "PATIENT_ID" and err.file.endswith("data_clinical_patient.txt")


def test_missing_endpoint_columns(make_study, patient_table):
    header, rows = patient_table
    keep = [i for i, h in enumerate(header) if not h.startswith("DSS")]
    study = make_study(rows=[[r[i] for i in keep] for r in rows], header=[header[i] for i in keep])
    err = _raises(study)
    assert err.field == "DSS_STATUS" and "no DSS" in err.message
    # OS is there
    assert len(ingest(IngestSources(cbioportal=study), IngestConfig(), endpoint="OS").patients) == 3


def test_duplicate_patient(make_study, patient_table):
    header, rows = patient_table
    rows.append(list(rows[0]))
    err = _raises(make_study(rows=rows, header=header))
    assert err.patient == "TCGA-AA-0001" and err.field == "PATIENT_ID" and err.row == 9


@pytest.mark.parametrize(("value", "word"), [("-3", "negative"), ("soon", "not a number")])
def test_bad_time(make_study, patient_table, value, word):
    header, rows = patient_table
    rows[1][header.index("DSS_MONTHS")] = value
    err = _raises(make_study(rows=rows, header=header))
    assert word in err.message
    assert (err.patient, err.field, err.row) == ("TCGA-AA-0002", "DSS_MONTHS", 7)


def test_bad_status(make_study, patient_table):
    header, rows = patient_table
    rows[2][header.index("DSS_STATUS")] = "2:ZOMBIE"
    err = _raises(make_study(rows=rows, header=header))
    assert (err.patient, err.field) == ("TCGA-AA-0003", "DSS_STATUS")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("AJCC_PATHOLOGIC_TUMOR_STAGE", "Stage V"),
        ("PATH_T_STAGE", "T9"),
        ("PATH_N_STAGE", "lots"),
        ("PATH_M_STAGE", "M2"),
    ],
)
def test_unknown_stage_string(make_study, patient_table, column, value):
    header, rows = patient_table
    rows[2][header.index(column)] = value
    err = _raises(make_study(rows=rows, header=header))
    assert (err.patient, err.field, err.row) == ("TCGA-AA-0003", column, 8)
    assert value in err.message and err.file.endswith("data_clinical_patient.txt")


def test_unknown_grade_in_cdr_names_the_cdr(make_study, tmp_path):
    cdr = tmp_path / "cdr.tsv"
    cdr.write_text("bcr_patient_barcode\thistological_grade\nTCGA-AA-0001\tG2\nTCGA-AA-0002\tG7\n")
    err = _raises(make_study(), cdr=cdr)
    assert (err.file, err.patient, err.field, err.row) == (str(cdr), "TCGA-AA-0002", "histological_grade", 3)


def test_cdr_duplicate_patient(make_study, tmp_path):
    cdr = tmp_path / "cdr.tsv"
    cdr.write_text("bcr_patient_barcode\thistological_grade\nTCGA-AA-0001\tG2\nTCGA-AA-0001\tG3\n")
    err = _raises(make_study(), cdr=cdr)
    assert err.patient == "TCGA-AA-0001" and err.file == str(cdr)


def test_unmatched_files_are_warnings_counted_and_listed(make_study, tmp_path):
    slides = tmp_path / "slides"
    for name in ("TCGA-AA-0001-01Z-00-DX1.AAAA.svs", "TCGA-ZZ-9999-01Z-00-DX1.BBBB.svs", "notes.svs"):
        (slides / "uuid-" / name).parent.mkdir(parents=True, exist_ok=True)
        (slides / "uuid-" / name).write_bytes(b"x")
    res = run_ingest(IngestSources(cbioportal=make_study(), slides=slides), tmp_path / "out", IngestConfig())
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["unmatched_counts"]["slides"] == 2
    assert sorted(p.rsplit("/", 1)[-1] for p in s["unmatched"]["slides"]) == [
        "TCGA-ZZ-9999-01Z-00-DX1.BBBB.svs",
        "notes.svs",
    ]
    assert any("match no patient" in w for w in s["warnings"])
    assert list(res.slides["patient_id"]) == ["TCGA-AA-0001"]


def test_alteration_table_errors(make_study, tmp_path):
    alt = tmp_path / "alt.tsv"
    alt.write_text("case_id\tVHL_mut\nTCGA-AA-0001\t1\nTCGA-AA-0002\tyes\n")
    err = _raises(make_study(), alterations=alt)
    assert (err.patient, err.field, err.row) == ("TCGA-AA-0002", "VHL_mut", 3)
    alt.write_text("patient\tVHL_mut\nTCGA-AA-0001\t1\n")
    assert _raises(make_study(name="s2"), alterations=alt).field == "case_id"


def test_existing_output_needs_force(make_study, tmp_path, run_cli):
    study = make_study()
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run_cli("ingest", "--cbioportal", study, "--out", out)
    assert code == 2 and "--force" in err and "Traceback" not in err
    code, _, err = run_cli("ingest", "--cbioportal", study, "--out", out, "--force", "--quiet")
    assert code == 0, err
    assert len(load_manifest(out).patients) == 3


def test_cli_error_is_one_line(make_study, patient_table, tmp_path, run_cli):
    header, rows = patient_table
    rows[0][header.index("PATH_T_STAGE")] = "T7"
    code, out, err = run_cli(
        "ingest", "--cbioportal", make_study(rows=rows, header=header), "--out", tmp_path / "o"
    )
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1
    assert "TCGA-AA-0001" in lines[0] and "PATH_T_STAGE" in lines[0] and "row 6" in lines[0]
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_gene_absent_from_the_maf_is_a_one_line_error(make_study, tmp_path, run_cli):
    maf = (
        "Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\n"
        "VHL\tTCGA-AA-0001-01\tMissense_Mutation\n"
    )
    study = make_study(maf=maf)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("ingest:\n  alteration_features: [VHL_mut, KRAS_mut]\n")
    code, _, err = run_cli("ingest", "--cbioportal", study, "--out", tmp_path / "o", "--config", cfg)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert "KRAS_mut" in lines[0] and "ingest.alteration_features" in lines[0]
    assert not (tmp_path / "o").exists()

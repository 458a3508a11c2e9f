"""KiTS19 clinical data -> manifest (clear-cell subset, overall survival); counts computed from the JSON."""

from __future__ import annotations

import json

import pytest

from mmdlm.cohort.kits19 import derive_stage, ingest_kits19
from mmdlm.cohort.manifest import load_manifest
from mmdlm.errors import MmdlmError


@pytest.fixture(scope="module")
def kits_json(shared_data):
    return shared_data / "kits19" / "kits.json"


def test_kits19_counts(kits_json, tmp_path, run_cli):
    cases = json.loads(kits_json.read_text())
    ccrcc = [c for c in cases if c["tumor_histologic_subtype"] == "clear_cell_rcc"]
    deaths = sum(c["vital_status"] == "dead" for c in ccrcc)
    graded = sum(c["tumor_isup_grade"] is not None for c in ccrcc)
    n_known = sum(c["pathology_n_stage"] != "X" for c in ccrcc)
    code, out, err = run_cli("ingest", "--kits19", kits_json, "--out", tmp_path / "k", "--quiet")
    assert code == 0, err
    m = load_manifest(tmp_path / "k")
    assert (len(m.patients), len(ccrcc), int(m.patients["event"].sum()), deaths) == (143, 143, 17, 17)
    assert m.endpoint == "OS"
    assert int(m.patients["grade"].notna().sum()) == graded
    assert int(m.patients["n_stage"].notna().sum()) == n_known
    by_id = {c["case_id"]: c for c in ccrcc}
    row = m.patients.iloc[0]
    case = by_id[row["patient_id"]]
    assert row["time"] == pytest.approx(case["vital_days_after_surgery"] / 30.4375)
    assert row["t_stage"] == int(case["pathology_t_stage"][0])
    assert row["grade"] == case["tumor_isup_grade"]
    summary = json.loads((tmp_path / "k" / "summary.json").read_text())
    assert summary["kits19"]["skipped_subtypes"]["papillary"] == 21
    dead_5y = sum(c["vital_status"] == "dead" and c["vital_days_after_surgery"] / 30.4375 < 60 for c in ccrcc)
    assert summary["endpoint_counts"]["label_5y"]["dead_before_horizon_1"] == dead_5y


def test_kits19_bad_entry(tmp_path):
    bad = tmp_path / "kits.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "case_id": "case_1",
                    "tumor_histologic_subtype": "clear_cell_rcc",
                    "vital_status": "dead",
                    "vital_days_after_surgery": -3,
                }
            ]
        )
    )
    with pytest.raises(MmdlmError) as exc:
        ingest_kits19(bad, ("clear_cell_rcc",))
    assert (
        exc.value.field == "vital_days_after_surgery" and exc.value.patient == "case_1" and exc.value.row == 1
    )


def test_kits19_rejects_study_options(kits_json, tmp_path, run_cli):
    code, _, err = run_cli("ingest", "--kits19", kits_json, "--slides", tmp_path, "--out", tmp_path / "k")
    assert code == 2 and "--slides" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("t", "n", "m", "stage"),
    [
        (1, 0, 0, 1),
        (2, 0, 0, 2),
        (3, None, 0, 3),
        (1, 1, 0, 3),
        (4, None, None, 4),
        (1, None, 1, 4),
        (1, None, 0, None),
        (3, 0, None, None),
    ],
)
def test_derive_stage(t, n, m, stage):
    assert derive_stage(t, n, m) == stage

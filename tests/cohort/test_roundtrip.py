"""`mmdlm synth` then `mmdlm ingest`: every synthetic patient comes back with all modalities, its clinical
values and endpoint, and the alteration matrix the generator intended (truth_alterations.csv)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mmdlm.cohort.manifest import load_manifest

N_PATIENTS = 30
SMALL = """synth:
  patients: {n}
  slide_width: 512
  slide_height: 512
  ct_matrix: 32
  ct_slices: 8
ingest:
  top_n_alterations: {top}
"""


@pytest.fixture(scope="module")
def synth_cohort(tmp_path_factory):
    from mmdlm.cli.app import main

    root = tmp_path_factory.mktemp("roundtrip")
    cfg = root / "small.yaml"
    cfg.write_text(SMALL.format(n=N_PATIENTS, top=10))
    try:
        main(["synth", str(root / "synth"), "--config", str(cfg)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    return root, cfg


def _ingest(run_cli, root, cfg, out, *extra):
    s = root / "synth"
    code, stdout, err = run_cli(
        "ingest",
        "--cbioportal",
        s / "study",
        "--slides",
        s / "slides",
        "--radiology",
        s / "radiology",
        "--config",
        cfg,
        "--out",
        out,
        *extra,
    )
    assert code == 0, err
    return stdout


def test_roundtrip_recovers_every_patient(synth_cohort, run_cli):
    root, cfg = synth_cohort
    out = root / "cohort"
    stdout = _ingest(run_cli, root, cfg, out)
    assert "with all modalities" in stdout  # the printed rich summary
    m = load_manifest(out, check_files=True)
    truth = pd.read_csv(root / "synth" / "truth.csv", dtype={"patient_id": str})
    assert sorted(m.patients["patient_id"]) == sorted(truth["patient_id"]) and len(truth) == N_PATIENTS
    assert m.availability()["all"].all()
    assert len(m.slides) == N_PATIENTS and len(m.radiology) == N_PATIENTS
    assert (m.radiology["mask_path"] != "").all() and (m.radiology["kind"] == "dicom_series").all()
    t = truth.set_index("patient_id")
    r = m.radiology.set_index("patient_id")
    assert (r.loc[t.index, "modality"].to_numpy() == t["modality"].to_numpy()).all()
    p = m.patients.set_index("patient_id").loc[t.index]
    assert p["time"].to_numpy() == pytest.approx(t["dss_months"].to_numpy(), abs=1e-3)
    assert (p["event"].to_numpy() == t["dss_event"].to_numpy()).all()
    assert (p["grade"].to_numpy() == t["grade"].str[1].astype(int).to_numpy()).all()
    assert (p["t_stage_raw"].to_numpy() == t["t_stage"].to_numpy()).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["availability"]["patients_with_all_modalities"] == N_PATIENTS
    assert sum(summary["unmatched_counts"].values()) == 0


def test_roundtrip_alteration_matrix_equals_truth(synth_cohort, run_cli):
    root, cfg = synth_cohort
    truth = pd.read_csv(root / "synth" / "truth_alterations.csv", dtype={"patient_id": str}).set_index(
        "patient_id"
    )
    counts = truth.sum()
    # top 10 chosen independently from the truth matrix: by count, ties alphabetical
    expect = sorted((f for f in truth.columns if counts[f] > 0), key=lambda f: (-counts[f], f))[:10]
    m = load_manifest(root / "cohort") if (root / "cohort").exists() else None
    if m is None:
        _ingest(run_cli, root, cfg, root / "cohort")
        m = load_manifest(root / "cohort")
    assert m.features == expect
    got = m.alterations.set_index("patient_id").loc[truth.index]
    pd.testing.assert_frame_equal(got, truth[expect].astype(got.dtypes.iloc[0]), check_names=False)

    # every feature the generator placed: the whole intended matrix comes back
    cfg_all = root / "all.yaml"
    cfg_all.write_text(SMALL.format(n=N_PATIENTS, top=len(truth.columns)))
    _ingest(run_cli, root, cfg_all, root / "cohort_all")
    m_all = load_manifest(root / "cohort_all")
    placed = [f for f in truth.columns if counts[f] > 0]
    assert sorted(m_all.features) == sorted(placed)
    got = m_all.alterations.set_index("patient_id").loc[truth.index, placed]
    assert (got.to_numpy() == truth[placed].to_numpy()).all()

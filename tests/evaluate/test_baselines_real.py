"""Clinical baselines on the real TCGA-KIRC (DSS) and KiTS19 (OS) cohorts equal lifelines computed here
independently from the raw files (pandas tables built in tests/evaluate/cohorts.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index

sys.path.insert(0, str(Path(__file__).parent))
from cohorts import kirc_patients, kits_patients  # noqa: E402

from mmdlm.cohort.config import IngestConfig  # noqa: E402
from mmdlm.cohort.kits19 import ingest_kits19  # noqa: E402
from mmdlm.pipeline.ingest import IngestSources, run_ingest, write_result  # noqa: E402

ORDINAL = {"t_stage": lambda s: s.str.extract(r"T(\d)", expand=False),
           "n_stage": lambda s: s.str.extract(r"N(\d)", expand=False),
           "m_stage": lambda s: s.str.extract(r"M(\d)", expand=False),
           "grade": lambda s: s.str.extract(r"G(\d)", expand=False),
           "age": lambda s: s}


def _independent(df, factors=("grade", "t_stage", "n_stage", "m_stage", "age"), kits=False):
    out = df[["time", "event"]].astype(float).copy()
    for f in factors:
        col = df[f].astype(str).str.upper()
        if kits:
            col = col.str.extract(r"^(\d)", expand=False) if f != "age" else df[f]
        else:
            col = ORDINAL[f](col if f != "age" else df[f])
        out[f] = col.astype(float)
    return out.dropna(subset=["time", "event"])


def _check(result, table, factors):
    for f in factors:
        known = table.dropna(subset=[f])
        want = concordance_index(known["time"], -known[f], known["event"])
        assert result["factors"][f]["c_index"] == pytest.approx(want, abs=1e-3), f
        assert result["factors"][f]["n"] == len(known)
    cols = ["t_stage", "n_stage", "m_stage", "grade"]
    cc = table[["time", "event", *cols]].dropna()
    cph = CoxPHFitter().fit(cc, "time", "event")
    assert result["cox"]["n"] == len(cc) and result["cox"]["events"] == int(cc["event"].sum())
    # NX / MX / GX are unknown: excluded (complete cases), counted and stated
    assert result["cox"]["unknown"] == {c: int(table[c].isna().sum()) for c in cols}
    assert result["cox"]["dropped_incomplete"] == len(table) - len(cc)
    assert "excluded (complete-case analysis)" in result["cox"]["unknown_handling"]
    for r in result["cox"]["covariates"]:
        assert r["hr"] == pytest.approx(np.exp(cph.params_[r["name"]]), abs=1e-3)
        assert r["p"] == pytest.approx(cph.summary.loc[r["name"], "p"], abs=1e-3)
        assert r["ci_low"] == pytest.approx(cph.summary.loc[r["name"], "exp(coef) lower 95%"], abs=1e-3)
        assert 0.0 <= r["ph_p"] <= 1.0


def test_kirc_dss_baselines_equal_lifelines(shared_data, tmp_path, run_cli):
    kirc = shared_data / "kirc"
    cohort = tmp_path / "kirc"
    run_ingest(IngestSources(cbioportal=kirc, cdr=kirc / "tcga_cdr_kirc.tsv"), cohort, IngestConfig())
    code, out, err = run_cli("baselines", "--cohort", cohort, "--endpoint", "DSS",
                             "--json", tmp_path / "b.json")
    assert code == 0, err
    result = json.loads((tmp_path / "b.json").read_text())
    table = _independent(kirc_patients(kirc))
    assert (result["patients_with_survival"], result["events"]) == (501, 108)
    _check(result, table, ("grade", "t_stage", "n_stage", "m_stage", "age"))
    # the paper's figures (230 patients): grade 0.701, T 0.747, N 0.514, M 0.685 -- same ballpark here
    assert 0.65 < result["factors"]["grade"]["c_index"] < 0.78
    assert 0.70 < result["factors"]["t_stage"]["c_index"] < 0.80
    assert "t_stage" in out and "grade" in out


def test_kits_os_baselines_equal_lifelines(shared_data, tmp_path, run_cli):
    kits = shared_data / "kits19" / "kits.json"
    cohort = tmp_path / "kits"
    write_result(ingest_kits19(kits, ("clear_cell_rcc",)), cohort)
    code, _, err = run_cli("baselines", "--cohort", cohort, "--endpoint", "OS", "--json", tmp_path / "k.json")
    assert code == 0, err
    result = json.loads((tmp_path / "k.json").read_text())
    table = _independent(kits_patients(kits), kits=True)
    assert (result["patients_with_survival"], result["events"]) == (143, 17)
    _check(result, table, ("grade", "t_stage", "n_stage", "m_stage", "age"))


def test_endpoint_mismatch_is_one_line_error(shared_data, tmp_path, run_cli):
    cohort = tmp_path / "kits"
    write_result(ingest_kits19(shared_data / "kits19" / "kits.json", ("clear_cell_rcc",)), cohort)
    code, out, err = run_cli("baselines", "--cohort", cohort, "--endpoint", "DSS")
    assert code == 2
    assert "endpoint" in err and "OS" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

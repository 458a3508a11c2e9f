"""The report of a small run (real statistics, stand-in training: tests/evaluate/small_run.py) read through
the results schemas: the discrete task has its own section with its numbers, the Cox and 5YSS parts are those
tasks' numbers, report.json round-trips its schema, and a metrics.json that does not match is one line."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluate"))
import small_run  # noqa: E402

from mmdlm.report.assemble import write_report  # noqa: E402
from mmdlm.report.families import families  # noqa: E402
from mmdlm.results.base import validate  # noqa: E402
from mmdlm.results.report import ReportData  # noqa: E402


@pytest.fixture(scope="module")
def run(module_dir) -> Path:
    run = module_dir / "run"
    small_run.build(run)
    write_report(run)
    return run


def _section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start:page.index("</section>", start)]


def test_the_discrete_task_has_a_section_with_its_numbers(run):
    metrics = json.loads((run / "metrics.json").read_text())
    disc, cox = metrics["tasks"]["discrete"], metrics["tasks"]["cox"]
    d = json.loads((run / "report.json").read_text())
    assert [s["task"] for s in d["task_sections"]] == ["discrete"]
    s = d["task_sections"][0]
    assert s["metric"] == "c_index" and s["n_folds"] == 3 and s["folds_field"] == "folds_cox"
    assert s["params"] == {"n_bins": 4, "alpha": 0.15} and s["stratified_by"] == "event"
    assert s["n_patients"] == {"radiology": 64, "histology": 72, "histo_radiology": 72}
    assert [r["mean"] for r in s["table"]] == [r["mean"] for r in disc["table"]]
    assert s["table"][0]["corrected_t_p"] == disc["table"][0]["corrected_t_p"]
    uno = disc["configurations"]["histology"]["c_index_uno"]["mean"]
    assert s["metrics"][1]["metrics"]["c_index_uno"]["mean"] == uno
    # the Cox part is the cox task's, not the discrete one's
    assert [r["mean"] for r in d["cindex_table"]] == [r["mean"] for r in cox["table"]]
    assert [r["mean"] for r in cox["table"]] != [r["mean"] for r in disc["table"]]
    page = (run / "report.html").read_text()
    sec = htmllib.unescape(_section(page, "task-discrete"))
    assert "Discrete-time survival" in sec and "C-index per configuration (3-fold CV)" in sec
    assert "cv.folds_cox" in sec and "n_bins 4, alpha 0.15" in sec and "up to 72 patients" in sec
    for r in disc["table"]:
        cell = rf"<td>{r['configuration']}( \(reference\))?</td><td>(\d+)</td><td>([0-9.]+)</td>"
        row = re.search(cell, sec)
        assert row and row.group(3) == f"{r['mean']:.3f}", r["configuration"]
        assert ", ".join(f"{v:.3f}" for v in r["folds"]) in sec
    assert f"{uno:.3f}" in sec and "Uno's C" in sec
    assert len(re.findall(r'src="data:image/png;base64,', sec)) == 1
    assert page.index('<section id="fivey">') < page.index('<section id="task-discrete">') < page.index(
        '<section id="km">')


def test_a_run_without_the_discrete_task_has_no_such_section(module_dir):
    run = module_dir / "cox_only"
    small_run.build(run, ("cox",), external=False)
    write_report(run)
    d = json.loads((run / "report.json").read_text())
    assert d["task_sections"] == [] and d["cv"] == {"folds_cox": 3, "folds_5yss": None}
    assert 'id="task-' not in (run / "report.html").read_text() and d["fivey"] is None


def test_report_json_round_trips_its_schema(run):
    text = (run / "report.json").read_text()
    d = json.loads(text)
    assert json.dumps(validate(ReportData, d).dump(), indent=2) + "\n" == text
    assert d["clinical_cox"]["covariates"][0]["name"] == "t_stage"
    assert d["headline"]["fused"] == "histo_radiology"
    assert d["external"] and {r["task"] for r in d["external"]} == {"cox", "5yss", "discrete"}
    ext = json.loads((run / "external" / "ext" / "metrics.json").read_text())
    row = next(r for r in d["external"] if r["task"] == "discrete" and r["configuration"] == "histology")
    assert row["ensemble"] == ext["tasks"]["discrete"]["configurations"]["histology"]["vs_cv"]["c_index"][
        "ensemble"]


def test_the_truth_cindex_is_shown_beside_every_task_judged_by_it(run, tmp_path):
    """families: the synthetic truth's C-index beside the tasks whose metric is Harrell's C (cox and
    discrete), not beside 5yss (ROC AUC)."""
    fam = tmp_path / "run"
    shutil.copytree(run / "manifest", fam / "manifest")
    shutil.copy(run / "metrics.json", fam / "metrics.json")
    (fam / "mil").mkdir()
    shutil.copy(run / "metrics.json", fam / "mil" / "metrics.json")
    recs = small_run.records()
    rng = np.random.default_rng(2)
    h = np.array([r.hazard for r in recs])
    (fam / "synth").mkdir()
    pd.DataFrame({"patient_id": [r.patient_id for r in recs], "dss_months": [r.time for r in recs],
                  "dss_event": [r.event for r in recs], "fine_histology": h + rng.normal(0, 1, len(h)),
                  "coarse_histology": h, "tumour_volume": rng.normal(0, 1, len(h)),
                  "genomics": h}).to_csv(fam / "synth" / "truth.csv", index=False)
    rows = families(fam)["rows"]
    assert {r["task"] for r in rows if r["truth"] is not None} == {"cox", "discrete"}
    assert all(r["truth"] is None for r in rows if r["task"] == "5yss")
    cox = next(r for r in rows if r["task"] == "cox" and r["configuration"] == "histology")
    assert cox["truth"] == next(r["truth"] for r in rows if r["task"] == "discrete"
                                and r["configuration"] == "histology") and 0.5 < cox["truth"] <= 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert cox["mil"]["mean"] == metrics["tasks"]["cox"]["configurations"]["histology"]["c_index"]["mean"]


def test_a_metrics_json_that_does_not_match_is_one_line_exit_2(run, tmp_path, run_cli):
    bad = tmp_path / "run"
    shutil.copytree(run / "manifest", bad / "manifest")
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["tasks"]["discrete"]["configurations"]["histology"]["per_fold"][1]["events"]
    (bad / "metrics.json").write_text(json.dumps(metrics))
    code, out, err = run_cli("report", "--run", bad)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert str(bad / "metrics.json") in lines[0]
    assert "field tasks.discrete.configurations.histology.per_fold[1].events" in lines[0]
    assert not (bad / "report.json").exists() and not (bad / "report.html").exists()

"""metrics.json and the external cohort's metrics.json through their schemas (mmdlm.results): a small run's
files validate and dump back to the same dict and the same bytes, typed fields hold the numbers the file
holds, and a file or a value that does not match is one error naming the file and the field."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import small_run  # noqa: E402

from mmdlm.errors import MmdlmError  # noqa: E402
from mmdlm.evaluate.cv import run_cv  # noqa: E402
from mmdlm.results.base import validate  # noqa: E402
from mmdlm.results.files import read_external_metrics, read_metrics, write_metrics  # noqa: E402
from mmdlm.results.metrics import (  # noqa: E402
    Baselines,
    CoxFit,
    ExternalMetrics,
    MetricsFile,
)


@pytest.fixture(scope="module")
def run(module_dir) -> Path:
    small_run.build(module_dir / "run")
    return module_dir / "run"


@pytest.mark.parametrize("name", ["metrics.json", "external/ext/metrics.json"])
def test_a_small_runs_files_round_trip_unchanged(run, name):
    text = (run / name).read_text()
    original = json.loads(text)
    model = validate(ExternalMetrics if name.startswith("external") else MetricsFile, original)
    assert model.dump() == original
    assert json.dumps(model.dump(), indent=2) + "\n" == text  # the bytes evaluate wrote
    # the dump keeps ints ints and floats floats (a coercion 3 -> 3.0 would change the file)
    assert type(original["tasks"]["cox"]["configurations"]["histology"]["n_patients"]) is int


def test_typed_fields_hold_the_files_numbers(run):
    raw = json.loads((run / "metrics.json").read_text())
    m = read_metrics(run / "metrics.json")
    assert list(m.tasks) == ["cox", "5yss", "discrete"]
    for task in ("cox", "discrete"):
        entry = m.tasks[task]
        conf = entry.configurations["histo_radiology"]
        c = conf.metric("c_index")
        want = raw["tasks"][task]["configurations"]["histo_radiology"]["c_index"]
        assert c.mean == want["mean"] and c.folds == want["folds"] and c.ci.low == want["ci"]["low"]
        assert c.mean == pytest.approx(np.mean([r.metric("c_index") for r in conf.per_fold]))
        assert list(conf.metrics) == ["c_index", "c_index_uno", "auc_12m", "auc_36m", "auc_60m", "ibs"]
        assert isinstance(conf.cox, CoxFit) and conf.cox.covariates[-1].name == "model_high_risk"
        assert entry.table[0].configuration == "radiology" and entry.reference == "histo_radiology"
    five = m.tasks["5yss"].configurations["histo_radiology"]
    assert five.roc_curve.fpr[0] == 0.0 and five.per_fold[0].dead_5y is not None
    assert isinstance(m.baselines, Baselines) and set(m.baselines.factors) == {"t_stage", "grade"}
    ext = read_external_metrics(run / "external" / "ext" / "metrics.json")
    v = ext.tasks["discrete"].configurations["histology"].vs_cv["c_index"]
    assert v.cv_mean == raw["tasks"]["discrete"]["configurations"]["histology"]["c_index"]["mean"]


def test_a_file_that_does_not_match_names_the_file_and_field(tmp_path):
    path = tmp_path / "metrics.json"
    good = {"tasks": {}, "baselines": {"error": "no patients"}}
    path.write_text(json.dumps(good))
    assert read_metrics(path).baselines.error == "no patients"
    bad = {"tasks": {"cox": {"task": "cox", "score": "risk", "primary_metric": "c_index", "n_folds": "3"}}}
    path.write_text(json.dumps(bad))
    with pytest.raises(MmdlmError) as exc:
        read_metrics(path)
    msg = exc.value.one_line()
    assert f"file {path}" in msg and "field tasks.cox.n_folds" in msg and "valid integer" in msg
    assert "more problem" in msg  # the entry also lacks its configurations, table, ...
    path.write_text("{not json")
    with pytest.raises(MmdlmError, match="not valid JSON"):
        read_metrics(path)


def test_a_value_that_does_not_match_is_not_written(run, tmp_path):
    raw = json.loads((run / "metrics.json").read_text())
    raw["tasks"]["cox"]["configurations"]["histology"]["c_index"]["mean"] = "0.7"
    with pytest.raises(MmdlmError) as exc:
        write_metrics(tmp_path / "metrics.json", raw)
    assert "field tasks.cox.configurations.histology.c_index.mean" in exc.value.one_line()
    assert not (tmp_path / "metrics.json").exists() and not list(tmp_path.iterdir())
    raw["tasks"]["cox"]["configurations"]["histology"]["c_index"]["mean"] = float("nan")  # NaN -> null
    assert write_metrics(tmp_path / "metrics.json", raw).tasks["cox"].configurations["histology"].metric(
        "c_index").mean is None


def test_a_rerun_over_an_invalid_metrics_json_is_refused_before_training(tmp_path):
    recs = small_run.records()
    cfg = small_run.config(("cox",))
    calls = []

    def train_fold(*args):
        calls.append(args[4].name)
        return small_run.train_fold(*args)

    run_cv(cfg, recs, tmp_path, "cox", small_run.CONFS, train_fold=train_fold)
    assert calls == ["fold_0", "fold_1", "fold_2"]
    path = tmp_path / "metrics.json"
    raw = json.loads(path.read_text())
    raw["tasks"]["cox"]["n_folds"] = "3"
    path.write_text(json.dumps(raw))
    broken = path.read_text()
    calls.clear()
    cfg2 = cfg.model_copy(update={"train": cfg.train.model_copy(update={"lr": 0.01})})  # folds to retrain
    with pytest.raises(MmdlmError, match="field tasks.cox.n_folds"):
        run_cv(cfg2, recs, tmp_path, "cox", small_run.CONFS, train_fold=train_fold)
    assert path.read_text() == broken and calls == []


def test_the_baselines_command_writes_what_metrics_json_holds(run, tmp_path, run_cli):
    """`mmdlm baselines --json` of the run's cohort is metrics.json's `baselines` entry (same schema, same
    numbers, same JSON), plus the cohort's folder; its text comes from the same validated value."""
    conf = tmp_path / "cv.yaml"
    conf.write_text("cv: {clinical_factors: [t_stage, grade], cox_covariates: [t_stage, grade]}\n")
    out_json = tmp_path / "baselines.json"
    code, out, err = run_cli("baselines", "--cohort", run / "manifest", "--endpoint", "DSS",
                             "--json", out_json, "--config", conf)
    assert code == 0, err
    got = json.loads(out_json.read_text())
    want = json.loads((run / "metrics.json").read_text())["baselines"]
    assert got.pop("cohort") == str(run / "manifest")
    assert json.dumps(got) == json.dumps(want)  # key order and ints/floats as written, not only equal values
    assert isinstance(validate(Baselines, want).cox, CoxFit) and got["factors"]["grade"]["c_index"] > 0.6
    assert f"grade     {want['factors']['grade']['c_index']:9.4f}" in out


def test_baselines_that_do_not_match_the_schema_are_not_written(run, tmp_path):
    from mmdlm.results.files import write_baselines

    raw = json.loads((run / "metrics.json").read_text())["baselines"]
    path = tmp_path / "baselines.json"
    assert write_baselines(path, {**raw, "cohort": "C"}).dump() == json.loads(path.read_text())
    path.unlink()
    raw["factors"]["grade"]["n"] = "72"
    with pytest.raises(MmdlmError) as exc:
        write_baselines(path, raw)
    assert "not a valid baselines file" in exc.value.one_line() and exc.value.field == "factors.grade.n"
    assert not list(tmp_path.iterdir())

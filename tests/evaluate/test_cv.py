"""The CV runner with an injected train_fold (a planted-signal stand-in for the staged training): folds,
predictions.csv, metrics.json, reuse, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index

sys.path.insert(0, str(Path(__file__).parent))
import small_run  # noqa: E402
from small_run import CONFS  # noqa: E402

from mmdlm.config import Config  # noqa: E402
from mmdlm.data.records import PatientRecord  # noqa: E402
from mmdlm.errors import MmdlmError  # noqa: E402
from mmdlm.evaluate.cv import PREDICTION_COLUMNS, run_cv  # noqa: E402


def _records():
    return small_run.records(90)


def fake_train_fold(cfg, task, train, val, out_dir, configurations, calls=None):
    """small_run's planted-signal stand-in, recording the folds it was called for."""
    if calls is not None:
        calls.append(out_dir.name)
    return small_run.train_fold(cfg, task, train, val, out_dir, configurations)


def _cfg(**cv):
    base = Config()
    return base.model_copy(update={"cv": base.cv.model_copy(update={"folds_cox": 3, "folds_5yss": 3,
                                                                    "bootstrap": 100, **cv})})


def test_run_cv_cox_and_5yss(tmp_path):
    recs = _records()
    cfg = _cfg()
    calls = []
    pred, m = run_cv(cfg, recs, tmp_path, "cox", CONFS,
                     train_fold=lambda *a: fake_train_fold(*a, calls=calls))
    assert calls == ["fold_0", "fold_1", "fold_2"]
    folds = json.loads((tmp_path / "folds.json").read_text())["tasks"]["cox"]["folds"]
    assert sorted(folds) == sorted(r.patient_id for r in recs)
    ev = {r.patient_id: r.event for r in recs}
    for k in range(3):  # stratified: events spread over the folds
        assert sum(ev[p] for p, f in folds.items() if f == k) >= sum(ev.values()) // 3 - 1
    # one row per patient and configuration; per-patient mean of the two rows
    assert len(pred) == len(recs) * len(CONFS) - len(recs) // 10  # radiology: only patients with it
    assert not set(pred[pred.configuration == "radiology"].patient_id) & {r.patient_id for r in recs[::10]}
    csv = pd.read_csv(tmp_path / "predictions.csv", dtype={"patient_id": str})
    assert tuple(csv.columns) == PREDICTION_COLUMNS
    # the per-fold C-index equals lifelines on that fold's rows
    c = m["configurations"]["histo_radiology"]
    for row in c["per_fold"]:
        d = pred[(pred.configuration == "histo_radiology") & (pred.fold == row["fold"])]
        t = np.array([next(r.time for r in recs if r.patient_id == p) for p in d.patient_id])
        e = np.array([ev[p] for p in d.patient_id])
        assert row["c_index"] == pytest.approx(concordance_index(t, -d.risk.to_numpy(), e))
    assert c["c_index"]["mean"] == pytest.approx(np.mean([r["c_index"] for r in c["per_fold"]]))
    assert c["c_index"]["max"] == max(r["c_index"] for r in c["per_fold"])
    assert c["c_index"]["ci"]["low"] < c["c_index"]["mean"] < c["c_index"]["ci"]["high"]
    assert c["c_index"]["mean"] > m["configurations"]["radiology"]["c_index"]["mean"]
    assert c["km"]["p_logrank"] < 0.05 and {g["label"] for g in c["km"]["groups"]} == {"low", "high"}
    assert m["comparisons"]["c_index"]["histo_radiology"]["radiology"]["ttest_p"] is not None
    assert [r["configuration"] for r in m["table"]] == list(CONFS)
    # 5YSS: only labelled patients, its own folds; metrics.json keeps both tasks
    pred5, m5 = run_cv(cfg, recs, tmp_path, "5yss", CONFS, train_fold=fake_train_fold)
    labelled = {r.patient_id for r in recs if r.label_5y is not None}
    assert set(pred5[pred5.configuration == "histology"].patient_id) == labelled
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["tasks"]) == {"cox", "5yss"}
    h = metrics["tasks"]["5yss"]["configurations"]["histo_radiology"]
    assert 0.5 < h["roc_auc"]["mean"] <= 1.0 and h["roc_curve"]["fpr"][0] == 0.0
    assert set(pd.read_csv(tmp_path / "predictions.csv").task) == {"cox", "5yss"}


def test_folds_and_predictions_are_reused(tmp_path):
    recs = _records()
    cfg = _cfg(bootstrap=0)
    run_cv(cfg, recs, tmp_path, "cox", CONFS, train_fold=fake_train_fold)
    calls = []
    run_cv(cfg, recs, tmp_path, "cox", CONFS, train_fold=lambda *a: fake_train_fold(*a, calls=calls))
    assert calls == []
    with pytest.raises(MmdlmError, match="patient set of task cox changed"):
        run_cv(cfg, recs[:-1], tmp_path, "cox", CONFS, train_fold=fake_train_fold)
    with pytest.raises(MmdlmError, match="config asks for 4"):
        four = cfg.model_copy(update={"cv": cfg.cv.model_copy(update={"folds_cox": 4})})
        run_cv(four, recs, tmp_path, "cox",
               CONFS, train_fold=fake_train_fold)


def test_bad_input(tmp_path):
    recs = _records()
    cfg = _cfg(bootstrap=0)
    with pytest.raises(MmdlmError, match="unknown configuration 'histo_20x'"):
        run_cv(cfg, recs, tmp_path / "a", "cox", ["histo_20x"], train_fold=fake_train_fold)
    few = [PatientRecord(r.patient_id, r.time, 0, r.label_5y) for r in recs]
    few[0].event = 1
    few[1].event = 1
    with pytest.raises(MmdlmError, match="too few for 3 folds"):
        run_cv(cfg, few, tmp_path / "b", "cox", CONFS, train_fold=fake_train_fold)
    # a hand-edited folds.json whose fold 2 has no event
    run_cv(cfg, recs, tmp_path / "c", "cox", CONFS, train_fold=fake_train_fold)
    path = tmp_path / "c" / "folds.json"
    data = json.loads(path.read_text())
    ev = {r.patient_id: r.event for r in recs}
    data["tasks"]["cox"]["folds"] = {p: (2 if not ev[p] and i % 2 else i % 2)
                                     for i, p in enumerate(sorted(ev))}
    path.write_text(json.dumps(data))
    with pytest.raises(MmdlmError, match="fold 2 has no event"):
        run_cv(cfg, recs, tmp_path / "c", "cox", CONFS, train_fold=fake_train_fold)
    with pytest.raises(MmdlmError, match="unknown task"):
        run_cv(cfg, recs, tmp_path / "d", "os", CONFS, train_fold=fake_train_fold)


def test_missing_prediction_is_an_error(tmp_path):
    def drops_one(*a):
        out = fake_train_fold(*a)
        return {c: d.iloc[2:] for c, d in out.items()}

    with pytest.raises(MmdlmError, match="no prediction for 1 validation"):
        run_cv(_cfg(bootstrap=0), _records(), tmp_path, "cox", CONFS, train_fold=drops_one)


def _radiology_best(cfg, task, train, val, out_dir, configurations):
    """radiology scores best, the fused configuration worst: the reference must not follow the results."""
    rng = np.random.default_rng(len(train))
    noise = {"radiology": 0.2, "histology": 1.0, "histo_radiology": 2.0}
    return {c: pd.DataFrame([{"patient_id": r.patient_id, "risk": r.hazard + rng.normal(0, noise[c])}
                             for r in val]) for c in configurations}


def test_reference_is_pre_specified_and_compared_on_the_same_patients(tmp_path):
    recs = _records()
    clinical = pd.DataFrame({"patient_id": [r.patient_id for r in recs], "time": [r.time for r in recs],
                             "event": [r.event for r in recs],
                             "grade": [None if i % 7 == 0 else f"G{1 + int(r.hazard > 0) + int(r.hazard > 1)}"
                                       for i, r in enumerate(recs)]})
    _, m = run_cv(_cfg(clinical_factors=("grade",)), recs, tmp_path / "a", "cox", CONFS,
                  train_fold=_radiology_best, clinical=clinical)
    means = {c: v["c_index"]["mean"] for c, v in m["configurations"].items()}
    assert max(means, key=means.get) == "radiology"
    assert m["reference"] == "histo_radiology"  # the most fused, not the best mean
    vs = m["vs_reference"]["configurations"]["radiology"]
    # radiology is missing for every tenth patient: the comparison is on the patients both score
    assert vs["n_patients"] == len(recs) - len(recs) // 10
    assert vs["mean_difference"] > 0 and vs["corrected_ttest"]["p"] is not None
    assert vs["bootstrap"]["low"] > 0  # patient-level paired bootstrap: radiology is better
    assert "cannot reach p < 0.05" in vs["note"]  # 3 folds
    row = next(r for r in m["table"] if r["configuration"] == "radiology")
    assert row["vs"] == "histo_radiology" and row["bootstrap_p"] == vs["bootstrap"]["p"]
    assert row["ttest_p"] == vs["as_in_paper"]["ttest_p"]
    # the clinical factor on the same folds and patients (grade known), beside the model
    g = m["clinical_table"][0]
    assert g["factor"] == "grade" and g["model"] == "histo_radiology"
    known = {p for p, v in zip(clinical.patient_id, clinical.grade, strict=True) if v is not None}
    assert g["n_patients_compared"] == len(known)
    pred = pd.read_csv(tmp_path / "a" / "predictions.csv", dtype={"patient_id": str})
    ref = pred[(pred.configuration == "histo_radiology") & pred.patient_id.isin(known)]
    ref = ref.merge(clinical, on="patient_id")
    grade = ref.grade.str[1].astype(float)
    want = np.mean([concordance_index(ref.time[f], -grade[f], ref.event[f]) for f in (ref.fold == k
                                                                                      for k in range(3))])
    assert g["factor_mean"] == pytest.approx(want)
    # a configured reference is honoured; one that was not run is a clear error
    _, m2 = run_cv(_cfg(reference="histology"), recs, tmp_path / "b", "cox", CONFS,
                   train_fold=_radiology_best)
    assert m2["reference"] == "histology" and "histology" not in m2["vs_reference"]["configurations"]
    with pytest.raises(MmdlmError, match="reference configuration histo_radiology_genomics was not"):
        run_cv(_cfg(reference="histo_radiology_genomics"), recs, tmp_path / "c", "cox", CONFS,
               train_fold=_radiology_best)


def test_a_folds_cache_follows_the_sections_its_family_depends_on(tmp_path):
    """The end-to-end family's folds are reused when only the MIL section changes; a family that names the
    section (the MIL family's settings) retrains them."""
    from mmdlm.evaluate.cv import FOLD_SETTINGS, run_cv_tasks
    from mmdlm.pipeline.families import get_family

    recs, cfg = _records(), _cfg(bootstrap=0)
    other = cfg.model_copy(update={"mil": cfg.mil.model_copy(update={"epochs_unimodal": 3})})
    assert get_family("end_to_end").settings == FOLD_SETTINGS
    mil = get_family("mil").settings
    assert "mil" in mil
    for settings, retrained in ((FOLD_SETTINGS, []), (mil, ["fold_0", "fold_1", "fold_2"])):
        run = tmp_path / settings[-1]
        run_cv_tasks(cfg, recs, run, ["cox"], CONFS, train_fold=fake_train_fold, settings=settings)
        calls = []
        run_cv_tasks(other, recs, run, ["cox"], CONFS, settings=settings,
                     train_fold=lambda *a, calls=calls: fake_train_fold(*a, calls=calls))
        assert calls == retrained


def test_predictions_file_replaces_one_tasks_rows_and_keeps_the_others(tmp_path) -> None:
    from mmdlm.evaluate.cv import write_predictions

    def rows(task: str, risk: float) -> pd.DataFrame:
        return pd.DataFrame({"patient_id": ["p1", "p2"], "task": task, "configuration": "genomics",
                             "fold": [0, 1], "risk": risk})

    path = tmp_path / "predictions.csv"
    write_predictions(path, "cox", rows("cox", 0.5))
    write_predictions(path, "cox", rows("cox", 1.5))
    write_predictions(path, "5yss", rows("5yss", 0.2))
    write_predictions(path, "cox", rows("cox", 2.5))
    out = pd.read_csv(path, dtype={"patient_id": str})
    assert list(out.columns) == list(PREDICTION_COLUMNS)
    assert out.groupby("task")["risk"].apply(list).to_dict() == {"5yss": [0.2, 0.2], "cox": [2.5, 2.5]}

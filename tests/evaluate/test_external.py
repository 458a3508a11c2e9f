"""External cohort: the standardised fold-model ensemble is the headline (with a patient bootstrap interval),
the max over fold models is labelled optimistic, and patients shared with the training cohort are flagged."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index

from mmdlm.config import Config
from mmdlm.data.records import PatientRecord
from mmdlm.data.sources import ArraySource
from mmdlm.evaluate.external import evaluate_external


def _records(n: int, prefix: str, seed: int) -> list[PatientRecord]:
    rng = np.random.default_rng(seed)
    out = []
    img = ArraySource(np.zeros((1, 4, 4, 3), np.uint8))
    for i in range(n):
        h = rng.normal()
        t_ev, t_c = rng.exponential(40 * np.exp(-h)), rng.uniform(20, 120)
        r = PatientRecord(f"{prefix}{i:03d}", float(min(t_ev, t_c)), int(t_ev <= t_c), None,
                          {"tile_10x": img, "tile_5x": img})
        r.hazard = h
        out.append(r)
    return out


def _fake_predict(scale: dict[int, float], noise: dict[int, float]):
    def predict(ckpt, recs, cfg):
        k = int(ckpt.parent.parent.name[5:])
        rng = np.random.default_rng(k)
        return pd.DataFrame({"patient_id": [r.patient_id for r in recs],
                             "risk": [scale[k] * (r.hazard + rng.normal(0, noise[k])) for r in recs]})
    return predict


@pytest.fixture
def run_dir(tmp_path):
    folds = {"tasks": {"cox": {"n_folds": 2, "seed": 0, "stratify": "event",
                               "folds": {"T000": 0, "T001": 1, "E005": 0}}}}
    (tmp_path / "folds.json").write_text(json.dumps(folds))
    for k in range(2):
        ckpt = tmp_path / "cv" / "cox" / f"fold_{k}" / "histology" / "model.ckpt"
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(b"x")
    return tmp_path


def test_ensemble_standardises_each_fold_model(run_dir, caplog) -> None:
    recs = _records(80, "E", 0)
    cfg = Config().model_copy(update={"cv": Config().cv.model_copy(update={"bootstrap": 200})})
    # fold model 0 is noisy on a huge scale, fold model 1 accurate on a tiny one
    predict = _fake_predict({0: 1000.0, 1: 0.001}, {0: 3.0, 1: 0.1})
    with caplog.at_level(logging.WARNING, logger="mmdlm.evaluate"):
        out = evaluate_external(cfg, run_dir, recs, "ext", ["histology"], predict=predict)
    assert out["shared_with_training"] == ["E005"]
    assert "shares 1 patient(s) with the training cohort" in caplog.text
    c = out["tasks"]["cox"]["configurations"]["histology"]
    p0, p1 = (predict(run_dir / "cv" / "cox" / f"fold_{k}" / "histology" / "model.ckpt", recs, cfg)
              for k in range(2))
    z = [(p.risk - p.risk.mean()) / p.risk.std() for p in (p0, p1)]
    t = np.array([r.time for r in recs])
    e = np.array([r.event for r in recs])
    want = concordance_index(t, -(z[0] + z[1]).to_numpy() / 2, e)
    raw = concordance_index(t, -(p0.risk + p1.risk).to_numpy() / 2, e)  # the old, unstandardised mean
    v = c["vs_cv"]["c_index"]
    assert v["ensemble"] == pytest.approx(want) and abs(want - raw) > 0.02
    assert v["ensemble_ci"]["low"] < v["ensemble"] < v["ensemble_ci"]["high"]
    assert v["external_max"] == max(c["fold_models"]["c_index"]["folds"])
    assert "optimistic" in v["external_max_label"]
    assert "not evidence that the model generalises" in out["cv_difference_note"]

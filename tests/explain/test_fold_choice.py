"""Explanations use each patient's own validation-fold model: its fold, its scores, its risk scale."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmdlm.errors import MmdlmError
from mmdlm.explain.patients import fold_checkpoint, fold_scores, patient_folds, ranking_scores


@pytest.fixture
def predictions() -> pd.DataFrame:
    # fold 0's model outputs risks around 100, fold 1's around 0.1: pooled quantiles would mix two scales
    rows = [("A", 0, 101.0), ("B", 0, 99.0), ("C", 0, 100.0), ("D", 1, 0.3), ("E", 1, 0.1), ("F", 1, 0.2)]
    return pd.DataFrame([{"patient_id": p, "task": "cox", "configuration": "histology", "fold": f, "risk": r,
                          "p_dead_5y": ""} for p, f, r in rows])


def test_cox_markup_reference_is_the_fold_models_own_scale(predictions) -> None:
    assert sorted(fold_scores(predictions, "cox", "histology", 1)) == [0.1, 0.2, 0.3]
    assert sorted(fold_scores(predictions, "cox", "histology", 0)) == [99.0, 100.0, 101.0]
    assert len(fold_scores(predictions, "cox", "histo_5x", 0)) == 0


def test_gallery_ranks_within_fold_and_knows_each_patients_fold(predictions, tmp_path) -> None:
    ranked = ranking_scores(predictions, "cox", "histology")
    # D is the highest risk of its fold: it ranks with A, not below every patient of fold 0
    assert set(ranked.index[:2]) == {"A", "D"} and set(ranked.index[-2:]) == {"B", "E"}
    assert ranked["A"] == pytest.approx(ranked["D"]) and np.isfinite(ranked).all()
    (tmp_path / "folds.json").write_text(json.dumps({"tasks": {"cox": {"n_folds": 2, "folds": {"Z": 1}}}}))
    assert patient_folds(predictions, tmp_path, "cox", "histology") == {"A": 0, "B": 0, "C": 0, "D": 1,
                                                                         "E": 1, "F": 1, "Z": 1}
    with pytest.raises(MmdlmError, match="no checkpoint of fold 1"):
        fold_checkpoint(tmp_path, "cox", "histology", 1)

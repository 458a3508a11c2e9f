"""model.family mil through `mmdlm cv`: the same runner, folds and metrics.json, on feature stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mmdlm.config import load_config
from mmdlm.errors import MmdlmError
from mmdlm.features.store import MagnificationFeatures, write_slide_store
from mmdlm.mil.toy import planted_bags
from mmdlm.pipeline.evaluate import cross_validate


def _cohort_with_stores(root: Path, n: int = 60) -> tuple[Path, Path]:
    from mmdlm.cohort.manifest import PATIENT_COLUMNS, RADIOLOGY_COLUMNS, SLIDE_COLUMNS, write_manifest

    records = planted_bags(n=n, dim=8, instances=(10, 30), strength=3.0, seed=2)
    patients = pd.DataFrame({c: [""] * n for c in PATIENT_COLUMNS})
    patients["patient_id"] = [r.patient_id for r in records]
    patients["time"] = [r.time for r in records]
    patients["event"] = [r.event for r in records]
    patients["label_5y"] = [pd.NA if r.label_5y is None else r.label_5y for r in records]
    patients["age"] = 60.0
    slides = pd.DataFrame(
        [(r.patient_id, f"{r.patient_id}-s", f"/x/{r.patient_id}.svs") for r in records],
        columns=["patient_id", "slide_id", "path"],
    )
    cohort = write_manifest(
        root / "cohort",
        patients=patients,
        slides=slides[list(SLIDE_COLUMNS)],
        radiology=pd.DataFrame(columns=list(RADIOLOGY_COLUMNS)),
        alterations=pd.DataFrame({"patient_id": []}),
        features_info={"features": []},
        summary={},
    )
    feats = root / "feats"
    feats.mkdir()
    rows = []
    for r in records:
        parts = [
            MagnificationFeatures(m, r.bags[k], r.parts[k][0].coords, 224 * (2 if m == 5.0 else 1), 10 / m)
            for m, k in ((10.0, "tile_10x"), (5.0, "tile_5x"))
        ]
        write_slide_store(feats / f"{r.patient_id}-s.h5", {"encoder_key": "k"}, parts)
        rows += [
            {
                "slide_id": f"{r.patient_id}-s",
                "patient_id": r.patient_id,
                "magnification": p.magnification,
                "n_tiles": len(p.coords),
                "path": f"{r.patient_id}-s.h5",
            }
            for p in parts
        ]
    pd.DataFrame(rows).to_csv(feats / "index.csv", index=False)
    return cohort, feats


def test_mil_family_cross_validates_on_feature_stores(tmp_path: Path) -> None:
    cohort, feats = _cohort_with_stores(tmp_path)
    cfg_file = tmp_path / "mil.yaml"
    cfg_file.write_text(
        yaml.safe_dump(
            {
                "model": {"family": "mil", "width": 16},
                "mil": {
                    "epochs_unimodal": 20,
                    "epochs_multimodal": 10,
                    "max_instances": 32,
                    "attention_dim": 8,
                },
                "cv": {
                    "tasks": ["cox"],
                    "folds_cox": 3,
                    "bootstrap": 20,
                    "configurations": ["histo_10x", "histology"],
                },
            }
        )
    )
    cfg = load_config(cfg_file)
    run = tmp_path / "run"
    with pytest.raises(MmdlmError, match="--features"):
        cross_validate(cfg, cohort, None, None, run)
    assert not run.exists()
    metrics = cross_validate(cfg, cohort, None, None, run, features=feats)
    cox = metrics["tasks"]["cox"]
    assert set(cox["configurations"]) == {"histo_10x", "histology"} and cox["n_folds"] == 3
    assert cox["configurations"]["histology"]["n_patients"] == 60
    # the runner's statistics are those of the MIL predictions it wrote (fold 0 recomputed with lifelines)
    from lifelines.utils import concordance_index

    pred = pd.read_csv(run / "predictions.csv", dtype={"patient_id": str})
    patients = pd.read_csv(cohort / "patients.csv", dtype={"patient_id": str})
    f0 = pred[(pred["configuration"] == "histology") & (pred["fold"] == 0)].merge(patients, on="patient_id")
    per_fold = cox["configurations"]["histology"]["per_fold"][0]
    assert per_fold["fold"] == 0 and per_fold["n"] == len(f0) == 20
    assert abs(per_fold["c_index"] - concordance_index(f0["time"], -f0["risk"], f0["event"])) < 1e-9
    assert cox["configurations"]["histology"]["c_index"]["mean"] > 0.5
    folds = json.loads((run / "folds.json").read_text())["tasks"]["cox"]["folds"]
    assert len(folds) == 60 and set(folds.values()) == {0, 1, 2}
    assert (run / "cv" / "cox" / "fold_0" / "histology" / "mil_model.pt").is_file()
    assert np.allclose(
        pred.loc[pred["configuration"] == "histology", ["att_tile_10x", "att_tile_5x"]].sum(1), 1
    )

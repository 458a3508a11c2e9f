"""model.family mil through `mmdlm cv`: the same runner, folds and metrics.json, on feature stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mmdlm.cohort.paths import CohortPaths
from mmdlm.config import load_config
from mmdlm.errors import MmdlmError
from mmdlm.features.store import MagnificationFeatures, write_slide_store
from mmdlm.mil.config import MilConfig
from mmdlm.mil.toy import planted_bags
from mmdlm.pipeline.evaluate import cross_validate


def _cohort_with_stores(
    root: Path, n: int = 60, seed: int = 2, genes: tuple[str, ...] = (), encoder_key: str = "k"
) -> tuple[Path, Path]:
    """A manifest and feature stores of planted bags; with `genes`, 0/1 alterations in that column order
    (gene "SIG" is 1 exactly for the patients of above-median latent risk, the others are noise)."""
    from mmdlm.cohort.manifest import PATIENT_COLUMNS, RADIOLOGY_COLUMNS, SLIDE_COLUMNS, write_manifest

    records = planted_bags(n=n, dim=8, instances=(10, 30), strength=3.0, seed=seed)
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
        alterations=_alterations(records, genes, seed),
        features_info={"features": list(genes)},
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
        write_slide_store(feats / f"{r.patient_id}-s.h5", {"encoder_key": encoder_key}, parts)
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


def _alterations(records, genes: tuple[str, ...], seed: int) -> pd.DataFrame:
    if not genes:
        return pd.DataFrame({"patient_id": []})
    rng = np.random.default_rng(seed + 100)
    signal = np.array([r.bags["tile_10x"][:, :4].astype(float).mean() for r in records])
    cols = {g: (signal > np.median(signal)).astype(int) if g == "SIG" else rng.integers(0, 2, len(records))
            for g in genes}
    return pd.DataFrame({"patient_id": [r.patient_id for r in records], **cols})


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
        cross_validate(cfg, CohortPaths(cohort), run)
    assert not run.exists()
    metrics = cross_validate(cfg, CohortPaths(cohort, features=feats), run)
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


def _mil_config(tmp_path: Path, configurations: list[str]):
    cfg_file = tmp_path / "mil.yaml"
    cfg_file.write_text(yaml.safe_dump({
        "model": {"family": "mil", "width": 16},
        "mil": {"epochs_unimodal": 15, "epochs_multimodal": 5, "max_instances": 32, "attention_dim": 8},
        "cv": {"tasks": ["cox"], "folds_cox": 3, "bootstrap": 20, "configurations": configurations},
    }))
    return load_config(cfg_file)


def test_mil_fold_models_score_an_external_cohort_matched_by_gene_name(tmp_path: Path) -> None:
    from mmdlm.pipeline.evaluate import evaluate_cohort

    genes = ("SIG", "NOISE")
    cohort, feats = _cohort_with_stores(tmp_path / "train", genes=genes)
    cfg = _mil_config(tmp_path, ["histo_10x", "genomics"])
    run = tmp_path / "run"
    cross_validate(cfg, CohortPaths(cohort, features=feats), run)
    ext, ext_feats = _cohort_with_stores(tmp_path / "ext", n=40, seed=7, genes=genes)
    swapped, swapped_feats = _cohort_with_stores(tmp_path / "swap", n=40, seed=7, genes=genes[::-1])
    with pytest.raises(MmdlmError, match="--features"):
        evaluate_cohort(cfg, run, CohortPaths(ext), "ext")
    result = evaluate_cohort(cfg, run, CohortPaths(ext, features=ext_feats), "ext")
    evaluate_cohort(cfg, run, CohortPaths(swapped, features=swapped_feats), "swap")
    a = pd.read_csv(run / "external" / "ext" / "predictions.csv")
    b = pd.read_csv(run / "external" / "swap" / "predictions.csv")
    assert len(a) == 2 * 3 * 40  # configurations x fold models x patients
    pd.testing.assert_frame_equal(a, b)  # each gene reaches the model's column of that gene
    genomics = result["tasks"]["cox"]["configurations"]["genomics"]
    assert genomics["n_patients"] == 40 and genomics["ensemble"]["c_index"]["folds"][0] > 0.55
    # the fold-0 model's own predictions, recomputed from the saved model
    from mmdlm.mil.bags import load_bags
    from mmdlm.mil.saved import predict_saved

    fold0 = run / "cv" / "cox" / "fold_0" / "histo_10x" / "mil_model.pt"
    direct = predict_saved(fold0, load_bags(ext, ext_feats))
    mine = a[(a["configuration"] == "histo_10x") & (a["fold"] == 0)].set_index("patient_id")
    assert np.allclose(mine.loc[direct["patient_id"], "risk"], direct["risk"], atol=1e-6)
    # stores from another encoder are refused, naming the model file and the patient
    other, other_feats = _cohort_with_stores(tmp_path / "other", n=40, seed=7, genes=genes, encoder_key="x")
    with pytest.raises(MmdlmError, match="another encoder") as exc:
        evaluate_cohort(cfg, run, CohortPaths(other, features=other_feats), "other")
    assert exc.value.file.endswith("mil_model.pt") and exc.value.patient


def test_the_manifest_is_loaded_once_per_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cross_validate validates the manifest once and hands the loaded Manifest to every reader."""
    import mmdlm.cohort.manifest as manifest_mod
    import mmdlm.pipeline.evaluate as evaluate_mod

    cohort, feats = _cohort_with_stores(tmp_path, n=30)
    calls: list[str] = []
    real = manifest_mod.load_manifest

    def counting(path, **kw):
        calls.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(manifest_mod, "load_manifest", counting)
    monkeypatch.setattr(evaluate_mod, "load_manifest", counting)
    cfg = _mil_config(tmp_path, ["histo_10x"]).model_copy(
        update={"mil": MilConfig(epochs_unimodal=1, epochs_multimodal=1, max_instances=8)})
    cross_validate(cfg, CohortPaths(cohort, features=feats), tmp_path / "run")
    assert calls == [str(cohort)]

"""`mmdlm explain --run RUN` end to end on a small run directory: the real CMU slide tiled into a tile store,
a manifest, predictions and metrics; the checkpoint loader is a stand-in returning a small untrained model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from mmdlm.config import Config, dump_config
from mmdlm.explain import run as explain_run_module
from mmdlm.modalities import CONFIGURATIONS
from mmdlm.model import MultimodalNet
from mmdlm.slides.pipeline import tile_slides
from mmdlm.train.checkpoints import load_model

CONF = "histo_radiology_genomics"


@pytest.fixture(scope="module")
def run_dir(shared_data: Path, module_dir: Path) -> Path:
    run = module_dir / "run"
    run.mkdir()
    cfg = Config.model_validate({
        "tiling": {"tile_size": 32, "max_tiles_per_slide": 6, "workers": 1},
        "data": {"image_size": 32},
        "model": {"pretrained": "none", "width": 8},
        "cv": {"tasks": ["5yss"]},
        "explain": {"gallery_size": 1, "markup_workers": 0, "markup_slides": 1, "thumbnail_max_side": 256},
    })
    (run / "config.yaml").write_text(dump_config(cfg))
    manifest = run / "manifest"
    manifest.mkdir()
    pd.DataFrame({"patient_id": ["TCGA-SY-0001", "TCGA-SY-0002", "TCGA-SY-0003"], "time": [10.0, 80.0, 30.0],
                  "event": [1, 0, 1], "label_5y": [1, 0, 1]}).to_csv(manifest / "patients.csv", index=False)
    slide = shared_data / "slides" / "CMU-1-Small-Region.svs"
    slides = pd.DataFrame({"patient_id": ["TCGA-SY-0001"], "slide_id": ["cmu1"], "path": [str(slide)]})
    slides.to_csv(manifest / "slides.csv", index=False)
    pd.DataFrame({"patient_id": ["TCGA-SY-0001", "TCGA-SY-0002", "TCGA-SY-0003"], "VHL": [1, 0, 1],
                  "PBRM1": [0, 0, 1]}).to_csv(manifest / "alterations.csv", index=False)
    summary = tile_slides(slides, run / "tiles", cfg.tiling, seed=0, workers=1, progress=False)
    assert summary["counts"]["done"] == 1
    rows = [{"patient_id": p, "task": "5yss", "configuration": c, "fold": f, "risk": "", "p_dead_5y": s,
             "att_tile_10x": a[0], "att_tile_5x": a[1], "att_radiology": 0.0, "att_genomics": a[2]}
            for p, f, s in (("TCGA-SY-0001", 0, 0.9), ("TCGA-SY-0002", 1, 0.1), ("TCGA-SY-0003", 1, 0.5))
            for c, a in ((CONF, (0.5, 0.3, 0.2)), ("histology", (0.6, 0.4, 0.0)))]
    pd.DataFrame(rows).to_csv(run / "predictions.csv", index=False)
    metrics = {"tasks": {"5yss": {"primary_metric": "roc_auc", "configurations": {
        CONF: {"per_fold": [{"fold": 0, "roc_auc": 0.6}, {"fold": 1, "roc_auc": 0.8}]}}}}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    for fold in (0, 1):
        for conf in (CONF, "histology"):
            _write_checkpoint(run / "cv" / "5yss" / f"fold_{fold}" / conf / "model.ckpt", conf, seed=fold)
    return run


def _write_checkpoint(path: Path, configuration: str, seed: int) -> None:
    """A checkpoint as mmdlm.train writes it (Lightning layout: 'model.'-prefixed state dict, metadata in
    hyper_parameters), of a small untrained model."""
    torch.manual_seed(seed)
    net = MultimodalNet(2, task="5yss", width=8, dropout=0.0, pretrained="none")
    hp = {"task": "5yss", "configuration": configuration, "active": list(CONFIGURATIONS[configuration]),
          "n_genomic": 2, "feature_names": ["VHL", "PBRM1"], "image_size": 32,
          "model": {"width": 8, "dropout": 0.0, "backbone": "resnet18"}}
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"model.{k}": v for k, v in net.state_dict().items()}, "hyper_parameters": hp,
                "epoch": 3}, path)


def test_explain_cli_writes_everything(run_dir: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[Path] = []

    def recording_loader(checkpoint: Path):
        loaded.append(checkpoint)
        return load_model(checkpoint)  # mmdlm.train's real loader

    monkeypatch.setattr(explain_run_module, "_default_loader", lambda: recording_loader)
    code, out, err = run_cli("explain", "--run", run_dir)
    assert code == 0, err
    # each patient is explained by the model of the fold that validated it (0001: fold 0, 0002: fold 1), not
    # by the best fold's model (fold 1 by roc_auc), which trained on 0001
    assert loaded == [run_dir / "cv" / "5yss" / f"fold_{k}" / CONF / "model.ckpt" for k in (0, 1)]
    explain = run_dir / "explain"
    summary = json.loads((explain / "summary.json").read_text())
    entry = summary["tasks"]["5yss"]
    assert entry["configuration"] == CONF and entry["checkpoints"] == {
        str(k): f"cv/5yss/fold_{k}/{CONF}/model.ckpt" for k in (0, 1)}
    # gallery: highest p(dead) patient 0001 (has tiles); the lowest, 0002, has no image and is left out
    assert entry["gallery"]["patients"] == ["TCGA-SY-0001"]
    assert entry["gallery"]["folds"] == {"TCGA-SY-0001": 0}
    # the score shown is the fold-0 model's own on the explained input (not the 0.9 of predictions.csv)
    from mmdlm.cohort.paths import CohortPaths
    from mmdlm.data.records import load_records
    from mmdlm.explain.patients import patient_inputs

    model, _ = load_model(run_dir / "cv" / "5yss" / "fold_0" / CONF / "model.ckpt")
    rec = {r.patient_id: r for r in load_records(CohortPaths(run_dir / "manifest", run_dir / "tiles"),
                                                   Config.model_validate({"data": {"image_size": 32}}))}
    inputs, mask = patient_inputs(rec["TCGA-SY-0001"], CONFIGURATIONS[CONF], 32, 2, 0)
    with torch.no_grad():
        own = float(torch.softmax(model(inputs, mask).out, 1)[0, 1])
    assert entry["gallery"]["scores"]["TCGA-SY-0001"]["explained_input"] == pytest.approx(own, abs=1e-5)
    assert entry["gallery"]["scores"]["TCGA-SY-0001"]["validation_mean"] == pytest.approx(0.9)
    assert set(entry["gallery"]["overlays"]["TCGA-SY-0001"]) == {"tile_10x", "tile_5x"}
    with Image.open(explain / entry["gallery"]["overlays"]["TCGA-SY-0001"]["tile_10x"]) as img:
        assert img.size == (32, 32)
    assert (explain / entry["gallery"]["file"]).is_file()
    [markup] = entry["markup"]
    assert markup["slide_id"] == "cmu1" and markup["n_tiles"] > 100 and markup["fold"] == 0
    assert markup["tile_source"] == "slide"  # the run's store is capped (6 tiles): the slide is decoded
    assert markup["context"] == ["tile_5x", "genomics"]  # the patient's own other inputs
    geo = json.loads((explain / markup["geojson"]).read_text())
    assert len(geo["features"]) == markup["n_tiles"]
    attention = pd.read_csv(explain / "attention_summary.csv")
    fused = attention[attention["configuration"] == CONF].iloc[0]
    assert fused["mean_tile_10x"] == pytest.approx(0.5) and fused["n_patients"] == 3
    assert "cmu1 (" in out


def test_explain_cli_reports_bad_input(run_dir: Path, run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("explain", "--run", tmp_path / "nope")
    assert code == 2 and "run directory not found" in err
    code, _, err = run_cli("explain", "--run", run_dir, "--configuration", "everything")
    assert code == 2 and "unknown configuration" in err
    code, _, err = run_cli("explain", "--run", run_dir, "--patients", "TCGA-SY-0001,TCGA-XX-9999")
    assert code == 2 and "patient TCGA-XX-9999" in err
    code, _, err = run_cli("explain", "--run", run_dir, "--task", "5yss", "--slides", "missing-slide")
    assert code == 2 and "missing-slide" in err and "Traceback" not in err


def test_explain_cli_reads_markup_tiles_from_an_uncapped_store(
    run_dir: Path, run_cli, shared_data: Path, tmp_path: Path
) -> None:
    # the run's tiling without a cap, and without the blur filter (it drops 4 flat 32 px tiles of the grid)
    cfg = Config.model_validate({"tiling": {"tile_size": 32, "workers": 1, "blur_threshold": 0}})
    slides = pd.read_csv(run_dir / "manifest" / "slides.csv", dtype=str)
    summary = tile_slides(slides, tmp_path / "tiles", cfg.tiling, workers=1, progress=False)
    assert summary["counts"]["done"] == 1
    code, out, err = run_cli("explain", "--run", run_dir, "--tiles", tmp_path / "tiles")
    assert code == 0, err
    [markup] = json.loads((run_dir / "explain" / "summary.json").read_text())["tasks"]["5yss"]["markup"]
    assert markup["tile_source"] == "store" and markup["n_tiles"] > 100
    assert json.loads((run_dir / "explain" / markup["summary"]).read_text())["tile_source"] == "store"

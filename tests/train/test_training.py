"""Lightning stages: reproducible, resumable to the same weights, staged init, weights_only files."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from mmdlm.config import Config
from mmdlm.data.toy import planted_records, write_toy_stores
from mmdlm.train.checkpoints import load_model, model_state, read_checkpoint
from mmdlm.train.fit import fit_stage
from mmdlm.train.predict import predict
from mmdlm.train.staged import plan, train_fold

sys.path.insert(0, str(Path(__file__).parent))
from tiny import same_weights, tiny_config  # noqa: E402


@pytest.fixture(scope="module")
def cfg() -> Config:
    return tiny_config(32, 1, eval_batch_size=32, epochs_unimodal=2, epochs_multimodal=2)


@pytest.fixture(scope="module")
def records():
    return planted_records(n=20, size=32, images_per_patient=2, n_genomic=4, seed=2)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return model_state(read_checkpoint(path))


def test_same_seed_same_predictions_and_resume_reproduces_the_uninterrupted_run(
    cfg, records, tmp_path
) -> None:
    train, val = records[:14], records[14:]
    a = fit_stage(cfg, "cox", "histo_10x", train, val, tmp_path / "a", epochs=3)
    b = fit_stage(cfg, "cox", "histo_10x", train, val, tmp_path / "b", epochs=3)
    assert same_weights(_weights(a.model), _weights(b.model))
    pa, pb = predict(a.model, val, cfg), predict(b.model, val, cfg)
    pd.testing.assert_frame_equal(pa, pb)
    assert list(pa.columns) == [
        "patient_id",
        "risk",
        "att_tile_10x",
        "att_tile_5x",
        "att_radiology",
        "att_genomics",
    ]
    assert (pa["att_tile_10x"] == 1.0).all() and (
        pa[["att_tile_5x", "att_radiology", "att_genomics"]] == 0
    ).all().all()
    # stopped after epoch 2, then resumed from last.ckpt: the same final weights as the uninterrupted run
    c1 = fit_stage(cfg, "cox", "histo_10x", train, val, tmp_path / "c", epochs=3, max_epochs=2)
    assert read_checkpoint(c1.last)["epoch"] == 1 and not (tmp_path / "c" / "done.json").exists()
    assert not same_weights(_weights(c1.last), _weights(a.model))
    c2 = fit_stage(cfg, "cox", "histo_10x", train, val, tmp_path / "c", epochs=3)
    assert same_weights(_weights(c2.model), _weights(a.model))
    assert (tmp_path / "c" / "done.json").is_file()
    assert (tmp_path / "c" / "logs" / "csv" / "metrics.csv").is_file()
    resumed_log = (tmp_path / "c" / "logs" / "csv-resumed-2" / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in resumed_log[1:]] == ["2", "2"]  # epoch 2 only, epochs 0-1 kept
    assert any((tmp_path / "c" / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    # a different seed gives different weights (the test can fail)
    other = cfg.model_copy(update={"seed": 1})
    d = fit_stage(other, "cox", "histo_10x", train, val, tmp_path / "d", epochs=1)
    assert not same_weights(_weights(d.model), _weights(a.model))


def test_checkpoints_load_weights_only_with_plain_metadata(cfg, records, tmp_path) -> None:
    res = fit_stage(cfg, "5yss", "genomics", records[:14], records[14:], tmp_path / "g", epochs=1)
    raw = torch.load(res.model, map_location="cpu", weights_only=True)
    assert raw["hyper_parameters"]["task"] == "5yss"
    # weights only, and only the trained (unmuted) branch: no optimizer state, no image backbones
    assert "optimizer_states" not in raw
    assert raw["state_dict"] and all(not k.startswith("model.branches.tile_") for k in raw["state_dict"])
    assert any(k.startswith("model.branches.genomics.") for k in raw["state_dict"])
    model, meta = load_model(res.model)
    assert meta["configuration"] == "genomics" and meta["n_genomic"] == 4 and meta["image_size"] == 32
    assert meta["feature_names"] == [] and meta["active"] == ["genomics"]
    assert hasattr(model.branches["tile_10x"].backbone, "layer4")
    from dataclasses import replace

    val = [r for r in records[14:] if r.label_5y is not None]
    stripped = {r.patient_id for r in val[:2]}
    assert stripped and all(r.genomics is not None for r in val[:2])
    val = [replace(r, genomics=None) if r.patient_id in stripped else r for r in val]
    preds = predict(res.model, val, cfg)
    assert preds["p_dead_5y"].between(0, 1).all()
    # patients without genomics (two, made so here) get one no-evidence prediction and zero attention;
    # the others' genomic attention is 1 (the only active modality)
    no_gen = preds[preds["patient_id"].isin(stripped)]
    assert len(no_gen) == 2 and (no_gen["att_genomics"] == 0).all()
    assert no_gen["p_dead_5y"].nunique() == 1
    assert (preds.loc[~preds["patient_id"].isin(stripped), "att_genomics"] == 1).all()


def test_staged_fold_initialises_multimodal_branches_from_unimodal_checkpoints(
    cfg, records, tmp_path
) -> None:
    assert [(k, c) for k, c, _ in plan(["histology", "genomics"])] == [
        ("unimodal", "histo_10x"),
        ("unimodal", "histo_5x"),
        ("unimodal", "genomics"),
        ("multimodal", "histology"),
    ]
    one_epoch = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs_multimodal": 1})})
    out = train_fold(one_epoch, "cox", records[:14], records[14:], tmp_path, ["histo_5x", "histology"])
    assert set(out) == {"histo_5x", "histology"}
    for df in out.values():
        assert sorted(df["patient_id"]) == sorted(r.patient_id for r in records[14:])
    for conf in ("histo_10x", "histo_5x", "histology"):
        # the selected weights stay; the resume state is removed once the stage is done (keep_last_checkpoint)
        assert (tmp_path / conf / "model.ckpt").is_file() and not (tmp_path / conf / "last.ckpt").exists()
    h = out["histology"]
    assert ((h["att_tile_10x"] + h["att_tile_5x"] - 1).abs() < 1e-6).all()
    # the multimodal stage started from the unimodal branches: its initial state (rebuilt) equals them
    from mmdlm.train.fit import _init_branches
    from mmdlm.train.module import SurvivalModule

    hp = read_checkpoint(tmp_path / "histology" / "model.ckpt")["hyper_parameters"]
    module = SurvivalModule(**{**hp, "pretrained": False})
    _init_branches(
        module,
        {"tile_10x": tmp_path / "histo_10x" / "model.ckpt", "tile_5x": tmp_path / "histo_5x" / "model.ckpt"},
    )
    uni = _weights(tmp_path / "histo_10x" / "model.ckpt")
    got = module.model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in uni.items() if k.startswith("branches.tile_10x."))
    # a finished fold is reused as is (same key): no retraining, same predictions
    mtime = (tmp_path / "histology" / "model.ckpt").stat().st_mtime_ns
    again = train_fold(one_epoch, "cox", records[:14], records[14:], tmp_path, ["histo_5x", "histology"])
    assert (tmp_path / "histology" / "model.ckpt").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(again["histology"], out["histology"])


def test_cli_runs_one_stage_then_needs_it_for_the_multimodal_stage(cfg, records, tmp_path, run_cli) -> None:
    stores = write_toy_stores(records, tmp_path / "stores")
    conf = tmp_path / "tiny.yaml"
    conf.write_text(
        "data: {image_size: 32, val_images_per_modality: 1}\nmodel: {pretrained: none, width: 8}\n"
        "train: {batch_size: 8, epochs_unimodal: 1, epochs_multimodal: 1, cpu_threads: 1}\n"
    )
    args = [
        "train",
        "--cohort",
        stores.manifest,
        "--tiles",
        stores.tiles,
        "--radiology",
        stores.radiology,
        "--out",
        tmp_path / "run",
        "--configuration",
        "histo_radiology",
        "--config",
        conf,
    ]
    code, out, err = run_cli(*args, "--stage", "multimodal:histo_radiology")
    assert code == 2 and "run the unimodal stage(s) first" in err and "Traceback" not in err
    code, out, err = run_cli(*args, "--stage", "unimodal:radiology")
    assert code == 0, err
    assert (tmp_path / "run" / "radiology" / "model.ckpt").is_file()
    assert not (tmp_path / "run" / "histo_10x").exists()
    code, out, err = run_cli(*args, "--stage", "unimodal:genomics")
    assert code == 2 and "unknown stage" in err
    code, out, err = run_cli(*args[:-2], "--configuration", "tumour", "--config", conf)
    assert code == 2 and "unknown configuration" in err


def test_training_fold_without_events_is_a_one_line_error(cfg, records, tmp_path) -> None:
    from dataclasses import replace

    from mmdlm.errors import MmdlmError

    censored = [replace(r, event=0) for r in records[:14]]
    with pytest.raises(MmdlmError, match="no event among the 14 training patients"):
        fit_stage(cfg, "cox", "genomics", censored, records[14:], tmp_path / "x", epochs=1)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("keep", [True, False])
def test_stage_sets_the_allocator_only_when_the_config_asks(
    cfg, records, tmp_path, monkeypatch, keep
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr("mmdlm.train.fit.keep_freed_memory", lambda: calls.append(True) or True)
    other = cfg.model_copy(update={"train": cfg.train.model_copy(update={"malloc_keep_freed": keep})})
    fit_stage(other, "5yss", "genomics", records[:14], records[14:], tmp_path / "g", epochs=1)
    assert calls == ([True] if keep else [])


def test_logged_train_loss_is_each_epochs_sample_weighted_mean(cfg, records, tmp_path) -> None:
    import lightning as L

    class Losses(L.Callback):
        def __init__(self) -> None:
            self.by_epoch: dict[int, list[tuple[float, int]]] = {}

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            loss = float(outputs["loss"])
            self.by_epoch.setdefault(trainer.current_epoch, []).append((loss, len(batch)))

    seen = Losses()
    train = records[:13]  # 13 patients at batch 8: one full and one short batch an epoch
    fit_stage(cfg, "cox", "genomics", train, records[14:], tmp_path / "g", epochs=2, callbacks=[seen])
    logged = pd.read_csv(tmp_path / "g" / "logs" / "csv" / "metrics.csv").dropna(subset=["train_loss"])
    epochs = [pairs for _, pairs in sorted(seen.by_epoch.items())]
    expected = [sum(v * n for v, n in pairs) / sum(n for _, n in pairs) for pairs in epochs]
    assert [len(p) for p in seen.by_epoch.values()] == [2, 2]
    assert logged["train_loss"].tolist() == pytest.approx(expected, rel=1e-6)

"""The MIL family: gated-attention pooling against a direct computation, padding and order invariance,
the fusion shared with the end-to-end model, a planted signal learnt per fold, bags from feature stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from lifelines.utils import concordance_index

from mmdlm.config import Config
from mmdlm.errors import MmdlmError
from mmdlm.features.store import MagnificationFeatures, write_slide_store
from mmdlm.mil.bags import collate_bags, feature_dims, load_bags
from mmdlm.mil.config import MilConfig
from mmdlm.mil.model import Bags, MilNet
from mmdlm.mil.pooling import GatedAttentionPool
from mmdlm.mil.staged import train_fold
from mmdlm.mil.toy import planted_bags
from mmdlm.modalities import MODALITIES, TILE_5X, TILE_10X
from mmdlm.model.fusion import fuse_embeddings


@torch.no_grad()
def test_gated_attention_matches_a_direct_computation() -> None:
    torch.manual_seed(0)
    pool = GatedAttentionPool(6, 5, 4, dropout=0.0).eval()
    x = torch.randn(2, 7, 6)
    valid = torch.ones(2, 7, dtype=torch.bool)
    valid[1, 4:] = False
    z, a = pool(x, valid)
    p = {k: v.detach().double().numpy() for k, v in pool.state_dict().items()}
    for b, n in ((0, 7), (1, 4)):
        xb = x[b, :n].double().numpy()
        h = np.maximum(xb @ p["embed.0.weight"].T + p["embed.0.bias"], 0)
        v = np.tanh(h @ p["attention_v.weight"].T + p["attention_v.bias"])
        u = 1 / (1 + np.exp(-(h @ p["attention_u.weight"].T + p["attention_u.bias"])))
        s = (v * u) @ p["attention_w.weight"].T[:, 0] + p["attention_w.bias"][0]
        w = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        np.testing.assert_allclose(a[b, :n].numpy(), w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(z[b].numpy(), w @ h, rtol=1e-5, atol=1e-6)
    assert float(a[1, 4:].abs().sum()) == 0.0
    perm = torch.randperm(7)  # the bag is a set: instance order does not matter
    z_perm, _ = pool(x[:1, perm], valid[:1])
    torch.testing.assert_close(z_perm, z[:1], rtol=1e-5, atol=1e-6)
    padded = torch.cat([x[1:, :4], torch.full((1, 3, 6), float("nan"))], dim=1)  # padding cannot leak
    z_pad, _ = pool(padded, valid[1:])
    torch.testing.assert_close(z_pad, z[1:], rtol=1e-5, atol=1e-6)
    empty_z, empty_a = pool(x[:1], torch.zeros(1, 7, dtype=torch.bool))
    assert float(empty_z.abs().sum()) == 0.0 and float(empty_a.abs().sum()) == 0.0


@torch.no_grad()
def test_fusion_and_muting_are_the_end_to_end_models() -> None:
    torch.manual_seed(1)
    records = planted_bags(n=4, seed=1)
    net = MilNet(feature_dims(records), 0, "cox", width=8, attention_dim=4, dropout=0.0).eval()
    bags = collate_bags(records, (TILE_10X,), 0, feature_dims(records))
    assert bags.mask[:, MODALITIES.index(TILE_5X)].sum() == 0  # muted
    out = net(bags)
    assert float(out.model.attention[:, MODALITIES.index(TILE_10X)].min()) == 1.0
    z, _ = net.pools[TILE_10X](bags.instances[TILE_10X], bags.instance_mask[TILE_10X])
    h = torch.zeros(4, len(MODALITIES), 8)
    h[:, 0] = z
    ref = fuse_embeddings(h, bags.mask, net.score, net.modality_bias, net.head)
    torch.testing.assert_close(out.model.out, ref.out)
    none = Bags(bags.instances, bags.instance_mask, bags.genomics, torch.zeros_like(bags.mask))
    assert torch.allclose(net(none).model.out, net.head(torch.zeros(1, 8)).squeeze(-1).expand(4))


@pytest.fixture(scope="module")
def planted_fold() -> tuple[list, list, dict]:
    records = planted_bags(n=220, seed=0)
    train, val = records[:140], records[140:]
    cfg = Config(mil=MilConfig(epochs_unimodal=10, epochs_multimodal=5, max_instances=64, batch_size=32))
    return train, val, cfg


def test_planted_signal_is_learnt_with_the_staged_protocol(planted_fold, tmp_path: Path) -> None:
    train, val, cfg = planted_fold
    out = train_fold(cfg, "cox", train, val, tmp_path, ("histo_10x", "histology"))
    truth = {r.patient_id: r for r in val}
    for conf in ("histo_10x", "histology"):
        df = out[conf]
        assert sorted(df["patient_id"]) == sorted(truth) and df["risk"].notna().all()
        c = concordance_index(
            [truth[p].time for p in df["patient_id"]], -df["risk"], [truth[p].event for p in df["patient_id"]]
        )
        assert c > 0.7, (conf, c)
    fused = out["histology"]
    assert np.allclose(fused[["att_tile_10x", "att_tile_5x"]].sum(axis=1), 1.0)
    assert (fused["att_radiology"] == 0).all()
    assert (tmp_path / "histo_10x" / "mil_model.pt").is_file() and (
        tmp_path / "histo_5x" / "mil_model.pt"
    ).is_file()


def test_5yss_predicts_probabilities(planted_fold, tmp_path: Path) -> None:
    train, val, cfg = planted_fold
    cfg = cfg.model_copy(update={"mil": MilConfig(epochs_unimodal=3, epochs_multimodal=2, max_instances=32)})
    df = train_fold(cfg, "5yss", train, val, tmp_path, ("histo_5x",))["histo_5x"]
    labelled = [r.patient_id for r in val if r.label_5y is not None]
    assert sorted(df["patient_id"]) == sorted(labelled)
    assert df["p_dead_5y"].between(0, 1).all()


def test_a_fold_depends_on_the_seed_only(planted_fold, tmp_path: Path) -> None:
    """Two trainings of the same fold agree exactly whatever drew from torch's global generator before (the
    initial weights once came from that state: two identical MIL runs differed)."""
    train, val, cfg = planted_fold
    cfg = cfg.model_copy(update={"mil": MilConfig(epochs_unimodal=2, epochs_multimodal=1, max_instances=16)})
    torch.manual_seed(123)
    first = train_fold(cfg, "cox", train, val, tmp_path / "a", ("histology",))["histology"]
    torch.rand(1000)
    second = train_fold(cfg, "cox", train, val, tmp_path / "b", ("histology",))["histology"]
    pd.testing.assert_frame_equal(first, second)
    other = train_fold(cfg.model_copy(update={"seed": cfg.seed + 1}), "cox", train, val, tmp_path / "c",
                       ("histology",))["histology"]
    assert not np.allclose(first["risk"], other["risk"])


def test_a_third_task_plugs_in_through_its_task_object(planted_fold, tmp_path: Path) -> None:
    """The discrete-time task (time bins fitted on the training patients only) runs in the MIL family with
    nothing MIL-specific: its NLL trains, its risk (minus the summed survival) learns the planted signal."""
    from mmdlm.mil.explain import load_mil_model
    from mmdlm.mil.train import targets
    from mmdlm.tasks.discrete import DiscreteTask, quantile_bins
    from mmdlm.tasks.losses import discrete_survival_nll

    train, val, cfg = planted_fold
    out = train_fold(cfg, "discrete", train, val, tmp_path, ("histo_10x",))["histo_10x"]
    truth = {r.patient_id: r for r in val}
    assert sorted(out["patient_id"]) == sorted(truth) and list(out.columns[:2]) == ["patient_id", "risk"]
    c = concordance_index(
        [truth[p].time for p in out["patient_id"]], -out["risk"], [truth[p].event for p in out["patient_id"]]
    )
    assert c > 0.7, c
    model, meta = load_mil_model(tmp_path / "histo_10x" / "mil_model.pt")
    cuts = quantile_bins([r.time for r in train], [r.event for r in train], DiscreteTask().n_bins)
    assert meta["task"] == "discrete" and tuple(meta["task_params"]["cuts"]) == cuts
    assert isinstance(model.task, DiscreteTask) and model.task.cuts == cuts
    # the loss the MIL fit minimises is the task's NLL on the fitted bins
    batch = val[:16]
    bags = collate_bags(batch, ("tile_10x",), 0, feature_dims(train))
    with torch.no_grad():
        net_out = model(bags).model
        y = torch.tensor(np.searchsorted(cuts, [r.time for r in batch], side="right"))
        expected = discrete_survival_nll(net_out.out, y, targets(batch).event, model.task.alpha)
        torch.testing.assert_close(model.task.loss(net_out, targets(batch)), expected)


def _cohort(root: Path, ids: list[str]) -> Path:
    from mmdlm.cohort.manifest import PATIENT_COLUMNS, RADIOLOGY_COLUMNS, SLIDE_COLUMNS, write_manifest

    patients = pd.DataFrame({c: [""] * len(ids) for c in PATIENT_COLUMNS})
    patients["patient_id"] = ids
    patients["time"], patients["event"], patients["label_5y"] = [10.0, 70.0, 5.0], [1, 0, 1], [1, 0, 1]
    for col in ("age",):
        patients[col] = 60.0
    slides = pd.DataFrame(
        [(p, f"{p}-s", f"/x/{p}.svs") for p in ids], columns=["patient_id", "slide_id", "path"]
    )
    return write_manifest(
        root,
        patients=patients,
        slides=slides[list(SLIDE_COLUMNS)],
        radiology=pd.DataFrame(columns=list(RADIOLOGY_COLUMNS)),
        alterations=pd.DataFrame({"patient_id": []}),
        features_info={"features": []},
        summary={},
    )


def test_bags_from_feature_stores_and_their_errors(tmp_path: Path) -> None:
    ids = ["P1", "P2", "P3"]
    cohort = _cohort(tmp_path / "cohort", ids)
    feats = tmp_path / "feats"
    feats.mkdir()
    rows = []
    rng = np.random.default_rng(0)
    for k, pid in enumerate(ids[:2]):
        part = MagnificationFeatures(
            10.0,
            rng.normal(size=(3 + k, 8)).astype(np.float16),
            np.arange((3 + k) * 2).reshape(-1, 2) * 224,
            224,
            1.0,
        )
        write_slide_store(feats / f"{pid}-s.h5", {"encoder_key": "k1"}, [part])
        rows.append(
            {
                "slide_id": f"{pid}-s",
                "patient_id": pid,
                "magnification": 10.0,
                "n_tiles": 3 + k,
                "path": f"{pid}-s.h5",
            }
        )
    pd.DataFrame(rows).to_csv(feats / "index.csv", index=False)
    records = load_bags(cohort, feats)
    assert [r.patient_id for r in records] == ["P1", "P2"]  # P3 has no modality
    assert records[1].bags[TILE_10X].shape == (4, 8) and records[1].parts[TILE_10X][0].source == "P2-s"
    write_slide_store(feats / "P2-s.h5", {"encoder_key": "k2"}, [part])
    with pytest.raises(MmdlmError, match="2 different encoders"):
        load_bags(cohort, feats)
    (feats / "P2-s.h5").unlink()
    with pytest.raises(MmdlmError, match="missing") as info:
        load_bags(cohort, feats)
    assert "P2" in info.value.one_line()
    with pytest.raises(MmdlmError, match="run `mmdlm features` first"):
        load_bags(cohort, tmp_path)


def test_explain_maps_attention_and_tile_risk(planted_fold, tmp_path: Path) -> None:
    import json

    from mmdlm.explain.qupath import geojson_errors
    from mmdlm.mil.explain import explain_patient, load_mil_model, tile_maps
    from mmdlm.synth.tiff import tissue_like, write_array_tiff

    train, val, cfg = planted_fold
    cfg = cfg.model_copy(update={"mil": MilConfig(epochs_unimodal=2, epochs_multimodal=1, max_instances=32)})
    run = tmp_path / "run"
    train_fold(cfg, "cox", train, val[:20], run / "cv" / "cox" / "fold_1", ("histology",))
    (run / "folds.json").write_text(
        json.dumps(
            {
                "version": 1,
                "tasks": {
                    "cox": {
                        "folds": {**{r.patient_id: 0 for r in train}, **{r.patient_id: 1 for r in val[:20]}}
                    }
                },
            }
        )
    )
    model, meta = load_mil_model(run / "cv" / "cox" / "fold_1" / "histology" / "mil_model.pt")
    rec = val[0]
    maps = tile_maps(model, rec, tuple(meta["active"]), 0, meta["dims"])
    by_mod = {m.modality: m for m in maps}
    assert set(by_mod) == {"tile_10x", "tile_5x"}
    for m in maps:
        assert len(m.attention) == len(rec.bags[m.modality]) and abs(m.attention.sum() - 1) < 1e-5
    # a bag of one tile: the tile's own risk is the model's risk for that bag
    single = dataclasses_replace_bag(rec, "tile_10x", 3)
    with torch.no_grad():
        risk = float(model(collate_bags([single], tuple(meta["active"]), 0, meta["dims"])).model.out[0])
    assert abs(by_mod["tile_10x"].score[3] - risk) < 1e-5
    n = len(rec.bags["tile_10x"])
    slide = write_array_tiff(
        tmp_path / "s.tiff", tissue_like(256, 224 * n, seed=1), mpp=0.5, downsamples=(1,)
    )
    written = explain_patient(
        run,
        "cox",
        "histology",
        rec,
        {rec.parts["tile_10x"][0].source: str(slide)},
        tmp_path / "out",
        thumbnail_max_side=256,
    )
    geo = [p for p in written if p.suffix == ".geojson"]
    assert len(geo) == 4 and all(p.is_file() for p in written)
    obj = json.loads(geo[0].read_text())
    assert geojson_errors(obj, 224 * n, 256) == [] and len(obj["features"]) == n
    with pytest.raises(MmdlmError, match="no fold"):
        explain_patient(run, "cox", "histology", dataclasses_replace_id(rec), {}, tmp_path / "o2")


def dataclasses_replace_bag(rec, modality: str, i: int):
    from mmdlm.mil.bags import BagRecord

    out = BagRecord(rec.patient_id, rec.time, rec.event, rec.label_5y, dict(rec.bags), dict(rec.parts))
    out.bags[modality] = rec.bags[modality][i : i + 1]
    return out


def dataclasses_replace_id(rec):
    from mmdlm.mil.bags import BagRecord

    return BagRecord("NOBODY", rec.time, rec.event, rec.label_5y, rec.bags, rec.parts)

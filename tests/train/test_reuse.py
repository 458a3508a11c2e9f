"""A fold's stages share memory (initial net, resized images, handed-on weights, validation predictions)
without changing a single number: the same weights and predictions as the stages run from disk."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from mmdlm.config import Config
from mmdlm.data.cache import ImageCache
from mmdlm.data.samples import EvalSamples, TrainSamples
from mmdlm.data.toy import planted_records
from mmdlm.data.transforms import to_chw
from mmdlm.train.checkpoints import model_state, read_checkpoint
from mmdlm.train.fit import Devices, _validation_is_prediction, fit_stage, trainer_kwargs
from mmdlm.train.module import SurvivalModule
from mmdlm.train.predict import predict
from mmdlm.train.reuse import FoldReuse
from mmdlm.train.staged import train_fold

sys.path.insert(0, str(Path(__file__).parent))
from tiny import same_weights, tiny_config  # noqa: E402


@pytest.fixture(scope="module")
def cfg() -> Config:  # on the CPU, where float32 validation is the prediction
    return tiny_config(24, 2, eval_batch_size=5, epochs_unimodal=2, epochs_multimodal=1, accelerator="cpu")


@pytest.fixture(scope="module")
def records():
    return planted_records(n=18, size=32, images_per_patient=3, n_genomic=4, seed=5)


def test_image_cache_returns_the_resized_image_and_keeps_to_its_budget(records) -> None:
    source = records[0].images["tile_10x"]
    cache = ImageCache(max_bytes=3 * 24 * 24 * 2)  # room for two 24 px images
    first = cache.get(source, 1, 24)
    assert torch.equal(first, to_chw(source[1], 24)) and first.shape == (3, 24, 24)
    assert cache.get(source, 1, 24) is first and len(cache) == 1  # the second read is the kept tensor
    cache.get(source, 2, 24)
    third = cache.get(source, 0, 24)  # over budget: computed, not kept
    assert len(cache) == 2 and cache.bytes == 2 * 3 * 24 * 24
    assert torch.equal(third, to_chw(source[0], 24)) and cache.get(source, 0, 24) is not third
    # datasets with a cache give exactly the samples they give without one (augmentation drawn anew)
    shared = ImageCache(2**20)
    for kind in (TrainSamples, EvalSamples):
        args = (records, ["tile_10x", "radiology"], 24)
        plain = kind(*args, 1, 0) if kind is EvalSamples else kind(*args)
        cached = kind(*args, 1, 0, cache=shared) if kind is EvalSamples else kind(*args, cache=shared)
        for key in ([(3, 11), (3, 11), (5, 7)] if kind is TrainSamples else [0, 0, 4]):
            a, b = plain[key], cached[key]
            assert a["images"].keys() == b["images"].keys()
            assert all(torch.equal(a["images"][m], b["images"][m]) for m in a["images"])
    assert len(shared) > 0


def test_shared_fold_state_gives_the_weights_and_predictions_of_stages_run_from_disk(
    cfg, records, tmp_path
) -> None:
    train, val = records[:12], records[12:]
    confs = ("histo_10x", "genomics", "histology")
    out = train_fold(cfg, "cox", train, val, tmp_path / "fold", confs)
    # each stage's weights equal those of the stage run alone: genomics (the fold's third stage) from its
    # own seeded initial net, not a copy; histology with its inits read from disk, not handed over in memory
    fold, alone = tmp_path / "fold", tmp_path / "alone"
    fit_stage(cfg, "cox", "genomics", train, val, alone / "genomics", epochs=2)
    init = {m: fold / f"histo_{m[5:]}" / "model.ckpt" for m in ("tile_10x", "tile_5x")}
    fit_stage(cfg, "cox", "histology", train, val, alone / "histology", epochs=1, init=init)
    for conf in ("genomics", "histology"):
        a = model_state(read_checkpoint(fold / conf / "model.ckpt"))
        assert same_weights(a, model_state(read_checkpoint(alone / conf / "model.ckpt"))), conf
    # the predictions taken from the last validation epoch equal, bit for bit, those of the saved model
    for conf in confs:
        again = predict(fold / conf / "model.ckpt", val, cfg)
        pd.testing.assert_frame_equal(out[conf], again, check_exact=True)


def test_a_fold_in_a_relative_folder_reads_no_checkpoint_back_and_predicts_nothing_again(
    cfg, records, tmp_path, monkeypatch
) -> None:
    from mmdlm.train import reuse as reuse_module
    from mmdlm.train import staged

    # Lightning names the written file by its resolved path; the stages name it from the folder as given
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(reuse_module, "read_checkpoint", lambda *a, **k: pytest.fail(f"read {a[0]}"))
    monkeypatch.setattr(staged, "predict_model", lambda *a, **k: pytest.fail("predicted again"))
    out = train_fold(cfg, "cox", records[:12], records[12:], Path("fold"), ("histo_10x", "histology"))
    assert set(out) == {"histo_10x", "histology"} and len(out["histology"]) == 6
    assert (tmp_path / "fold" / "histology" / "model.ckpt").is_file()


def test_kept_checkpoint_is_the_file_and_validation_is_the_prediction_only_in_plain_float32(
    cfg, records, tmp_path
) -> None:
    train, val = records[:12], records[12:]
    reuse = FoldReuse.for_config(cfg)
    res = fit_stage(cfg, "5yss", "histo_5x", train, val, tmp_path / "a", epochs=2, reuse=reuse)
    kept = reuse.kept_checkpoint(res.model)
    disk = read_checkpoint(res.model)
    assert same_weights(model_state(kept), model_state(disk))
    assert kept["hyper_parameters"] == disk["hyper_parameters"] and kept["epoch"] == disk["epoch"] == 1
    labelled = [r for r in val if r.label_5y is not None]
    pd.testing.assert_frame_equal(reuse.kept_predictions(res.model), predict(res.model, labelled, cfg),
                                  check_exact=True)
    # a validation in bf16 or channels_last is not what predict_model computes: then the checkpoint predicts
    module = SurvivalModule(**read_checkpoint(res.model)["hyper_parameters"])
    assert _validation_is_prediction(trainer_kwargs(cfg, Devices()), module)
    assert not _validation_is_prediction(trainer_kwargs(cfg, Devices(precision="bf16-mixed")), module)
    module.hparams.channels_last = True
    assert not _validation_is_prediction(trainer_kwargs(cfg, Devices()), module)


def test_a_recycled_net_is_reset_in_place_to_the_seeded_initial_net() -> None:
    from mmdlm.train.module import build_net

    reuse = FoldReuse()
    key = {"seed": 0, "model": "tiny"}
    model = {"width": 8, "dropout": 0.25, "backbone": "resnet18", "pretrained": "none"}
    torch.manual_seed(0)
    first = reuse.initial_net(key, lambda: build_net(model, 4, "cox"))
    initial = {k: v.clone() for k, v in first.state_dict().items()}
    rng = torch.get_rng_state()
    # a stage trains it: weights and batch-norm statistics move, a branch is frozen, gradients are left
    with torch.no_grad():
        for p in first.parameters():
            p.add_(1.0)
            p.grad = torch.ones_like(p)
    first.branches["radiology"].requires_grad_(False)
    first.branches["tile_10x"].backbone.bn1.running_mean.add_(3.0)
    first.eval()
    reuse.recycle(key, first)
    torch.manual_seed(123)
    again = reuse.initial_net(key, lambda: pytest.fail("built twice"))
    assert again is first and torch.equal(torch.get_rng_state(), rng)
    assert same_weights(again.state_dict(), initial) and again.training
    assert all(p.requires_grad and p.grad is None for p in again.parameters())
    # with nothing handed back, the next stage gets a copy of the initial net
    other = reuse.initial_net(key, lambda: pytest.fail("built twice"))
    assert other is not first and same_weights(other.state_dict(), initial)


def test_folds_sharing_a_run_share_predict_as_folds_trained_alone(cfg, records, tmp_path) -> None:
    import pickle

    from mmdlm.evaluate.cv import _default_train_fold
    from mmdlm.train.reuse import RunShare

    confs = ("histo_10x", "genomics")
    splits = [(records[:12], records[12:]), (records[6:], records[:6])]
    shared = RunShare.for_config(cfg)
    together = [train_fold(cfg, "cox", tr, va, tmp_path / f"shared{k}", confs, shared=shared)
                for k, (tr, va) in enumerate(splits)]
    assert len(shared.initial) == 1 and len(shared.images) > 0  # one initial net for both folds
    alone = train_fold(cfg, "cox", *splits[1], tmp_path / "alone1", confs)
    for conf in confs:
        pd.testing.assert_frame_equal(together[1][conf], alone[conf], check_exact=True)
    # what crosses to a pool or Dask worker is an empty share of the same budget
    sent = pickle.loads(pickle.dumps(shared))
    assert sent.image_bytes == shared.image_bytes and not sent.initial and len(sent.images) == 0
    assert isinstance(_default_train_fold(cfg).keywords["shared"], RunShare)  # `mmdlm cv`'s trainer shares

"""Batch-norm statistics recomputed for the weights a stage hands on (mmdlm.train.batchnorm): the running
statistics equal the average of the batches' own statistics, layers no batch reaches keep theirs, and the
saved model of a stage predicts with statistics of its final weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from mmdlm.data.toy import planted_records
from mmdlm.model.fusion import mute
from mmdlm.train.batchnorm import recalibrate_batchnorm
from mmdlm.train.checkpoints import load_model
from mmdlm.train.fit import fit_stage
from mmdlm.train.loaders import eval_loader

sys.path.insert(0, str(Path(__file__).parent))
from tiny import same_weights, tiny_config  # noqa: E402


def test_running_statistics_are_the_average_of_the_batches_statistics() -> None:
    torch.manual_seed(0)
    used, unused = nn.BatchNorm2d(3, momentum=0.3), nn.BatchNorm1d(2)
    net = nn.ModuleDict({"conv": nn.Conv2d(3, 3, 1), "bn": used, "dropout": nn.Dropout(0.5), "other": unused})
    net.train()
    unused.running_mean.fill_(7.0)
    batches = [torch.randn(4, 3, 5, 5) * (1 + k) + k for k in range(3)]
    n = recalibrate_batchnorm(net, batches, lambda x: net["bn"](net["conv"](x)))
    assert n == 1
    with torch.no_grad():
        feats = [net["conv"](x) for x in batches]
    mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.transpose(0, 1).reshape(3, -1).var(dim=1, unbiased=True) for f in feats]).mean(0)
    torch.testing.assert_close(used.running_mean, mean)
    torch.testing.assert_close(used.running_var, var)
    assert used.momentum == 0.3 and int(used.num_batches_tracked) == 3
    assert torch.equal(unused.running_mean, torch.full((2,), 7.0))  # not reached: kept
    assert net.training and all(m.training for m in net.modules())  # modes restored


def test_a_stage_hands_on_the_statistics_of_its_final_weights(tmp_path) -> None:
    records = planted_records(n=24, size=16, images_per_patient=1, n_genomic=4, seed=4)
    train, val = records[:16], records[16:]
    cfg = tiny_config(16, 1, epochs_unimodal=2, epochs_multimodal=1, resume_every_n_epochs=0)
    off = cfg.model_copy(update={"train": cfg.train.model_copy(update={"recalibrate_batchnorm": False})})
    on_ = fit_stage(cfg, "cox", "radiology", train, val, tmp_path / "on", epochs=2)
    raw = fit_stage(off, "cox", "radiology", train, val, tmp_path / "off", epochs=2)
    a, _ = load_model(on_.model)
    b, meta = load_model(raw.model)
    trained = {k: v for k, v in a.state_dict().items()  # muted branches are not saved (random when loaded)
               if not k.startswith("branches.") or k.startswith("branches.radiology.")}
    weights = {k: v for k, v in trained.items() if "running" not in k and "num_batches" not in k}
    # the same training (the pass changes no weight), other running statistics
    assert same_weights(weights, {k: b.state_dict()[k] for k in weights})
    assert not same_weights(trained, {k: b.state_dict()[k] for k in trained})
    # recomputing them over the training patients' evaluation combinations again changes nothing
    active = tuple(meta["active"])
    loader = eval_loader(train, active, cfg, meta["n_genomic"])
    before = {k: v.clone() for k, v in trained.items()}
    n = recalibrate_batchnorm(a, loader, lambda batch: a(batch.to("cpu").inputs(), mute(batch.mask, active)))
    assert n > 0
    after = a.state_dict()
    for k, v in before.items():
        torch.testing.assert_close(after[k].float(), v.float(), rtol=1e-4, atol=1e-5, msg=k)

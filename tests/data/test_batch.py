"""The typed batch (mmdlm.data.batch.Batch): what collate fills in, `to` and `pin_memory` reach every tensor
(targets included), a DataLoader with pin_memory keeps the type, and the LightningModule moves it itself."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data._utils.pin_memory import pin_memory

from mmdlm.data.batch import Batch
from mmdlm.data.samples import EvalSamples, collate
from mmdlm.data.toy import planted_records
from mmdlm.modalities import MODALITIES
from mmdlm.tasks.targets import NO_LABEL, Targets


@pytest.fixture(scope="module")
def records():
    return planted_records(n=6, size=16, images_per_patient=2, n_genomic=3, seed=4)


@pytest.fixture(scope="module")
def batch(records) -> Batch:
    ds = EvalSamples(records, MODALITIES, 16, 1, seed=0)
    return collate([ds[i] for i in range(len(ds))], 16, 3)


def _same(a: Batch, b: Batch) -> bool:
    """Every tensor of `a` equals that of `b`."""
    return all(torch.equal(x, y) for x, y in zip(_tensors(a).values(), _tensors(b).values(), strict=True))


def _tensors(b: Batch) -> dict[str, torch.Tensor]:
    t = b.targets
    return {**{f"images.{m}": x for m, x in b.images.items()}, "genomics": b.genomics, "mask": b.mask,
            "index": b.index, "time": t.time, "event": t.event, "label": t.label}


def test_collate_fills_a_typed_batch_with_the_records_targets(records, batch) -> None:
    assert isinstance(batch, Batch) and isinstance(batch.targets, Targets)
    assert len(batch) == len(records) == len(batch.targets)  # one evaluation combination per patient
    assert batch.index.tolist() == list(range(len(records)))
    t = batch.targets
    assert (t.time.dtype, t.event.dtype, t.label.dtype) == (torch.float32, torch.float32, torch.long)
    assert t.time.tolist() == pytest.approx([r.time for r in records])
    assert t.event.tolist() == [float(r.event) for r in records]
    assert t.label.tolist() == [NO_LABEL if r.label_5y is None else r.label_5y for r in records]
    assert set(batch.images) == {"tile_10x", "tile_5x", "radiology"}
    assert all(x.dtype == torch.uint8 and x.shape == (len(records), 3, 16, 16) for x in batch.images.values())
    assert batch.mask.dtype == torch.bool and batch.genomics.shape == (len(records), 3)


def test_to_moves_every_tensor_and_keeps_the_values(batch) -> None:
    moved = batch.to("meta")
    assert isinstance(moved, Batch) and moved.images.keys() == batch.images.keys()
    assert {k: v.device.type for k, v in _tensors(moved).items()} == {k: "meta" for k in _tensors(batch)}
    assert all(v.device.type == "cpu" for v in _tensors(batch).values())  # the original is left as it was
    back = batch.to("cpu")
    assert _same(back, batch)


def test_the_dataloaders_pin_memory_pins_every_tensor_and_keeps_the_batch(batch, monkeypatch) -> None:
    pinned: list[torch.Tensor] = []

    def fake_pin(self: torch.Tensor, *args) -> torch.Tensor:  # no CUDA needed: record and copy
        pinned.append(self)
        return self.clone()

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    out = pin_memory(batch)  # what a DataLoader's pin_memory thread calls on each batch
    assert isinstance(out, Batch) and len(pinned) == len(_tensors(batch))
    assert {id(t) for t in pinned} == {id(t) for t in _tensors(batch).values()}
    assert _same(out, batch)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="page-locked memory needs CUDA")
def test_pinned_batch_reaches_the_gpu_unchanged(batch) -> None:
    pinned = batch.pin_memory()
    assert all(t.is_pinned() for t in _tensors(pinned).values())
    on_gpu = pinned.to("cuda", non_blocking=True)
    assert all(t.device.type == "cuda" for t in _tensors(on_gpu).values())
    back = on_gpu.to("cpu")
    assert _same(back, batch)


def test_the_lightning_module_moves_the_batch_with_batch_to(batch, monkeypatch) -> None:
    from mmdlm.train.module import SurvivalModule

    module = SurvivalModule(
        task="cox", configuration="genomics", active=["genomics"], n_genomic=3, feature_names=[],
        image_size=16, model={"width": 8, "dropout": 0.0, "backbone": "resnet18", "pretrained": "none"},
        optim={"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0}, pretrained=False,
    )
    calls: list[tuple] = []
    real = Batch.to

    def spy(self, device, non_blocking=False):
        calls.append((torch.device(device).type, non_blocking))
        return real(self, device, non_blocking)

    monkeypatch.setattr(Batch, "to", spy)
    moved = module.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert isinstance(moved, Batch) and calls == [("meta", True)]  # asynchronous off the CPU, as Lightning's
    assert all(v.device.type == "meta" for v in _tensors(moved).values())
    module.transfer_batch_to_device(batch, torch.device("cpu"), 0)
    assert calls[-1] == ("cpu", False)

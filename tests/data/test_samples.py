"""Records from the on-disk stores, random training draws, the fixed evaluation product, collation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mmdlm.config import Config
from mmdlm.data import EpochSampler, EvalSamples, TrainSamples, collate, load_records
from mmdlm.data.sources import TileStoreSource
from mmdlm.data.toy import planted_records, write_toy_stores
from mmdlm.modalities import MODALITIES


@pytest.fixture(scope="module")
def records():
    return planted_records(n=10, size=16, images_per_patient=4, n_genomic=4, seed=1)


def test_load_records_reads_manifest_tile_store_and_radiology_store(records, tmp_path: Path) -> None:
    stores = write_toy_stores(records, tmp_path)
    got = load_records(stores, Config())
    assert [r.patient_id for r in got] == [r.patient_id for r in records]
    for a, b in zip(got, records, strict=True):
        assert (a.time, a.event, a.label_5y) == (b.time, b.event, b.label_5y)
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_array_equal(a.images["tile_5x"][3], b.images["tile_5x"][3])
        if b.genomics is not None:
            np.testing.assert_array_equal(a.genomics, b.genomics)
            assert a.genomic_features == ("GENE0_mut", "GENE1_mut", "GENE2_mut", "GENE3_mut")
        if "radiology" in b.images:
            np.testing.assert_array_equal(a.images["radiology"][0], b.images["radiology"][0])
    # above data.preload_max_mb the tiles stay on disk and are read lazily, tile by tile
    lazy = load_records(stores, Config.model_validate({"data": {"preload_max_mb": 0}}))
    assert isinstance(lazy[0].images["tile_10x"], TileStoreSource)
    np.testing.assert_array_equal(lazy[4].images["tile_10x"][2], records[4].images["tile_10x"][2])


def test_training_draws_are_random_combinations_fixed_by_seed_and_epoch(records) -> None:
    ds = TrainSamples(records, MODALITIES, 16, augment=True)
    sampler = EpochSampler(len(ds), seed=0)
    keys0 = list(sampler)
    assert sorted(i for i, _ in keys0) == list(range(len(records)))
    assert keys0 == list(EpochSampler(len(ds), seed=0))
    sampler.set_epoch(1)
    assert list(sampler) != keys0
    a, b = ds[keys0[0]], ds[keys0[0]]
    for m in a["images"]:
        assert torch.equal(a["images"][m], b["images"][m]) and a["images"][m].dtype == torch.uint8
        assert a["images"][m].shape == (3, 16, 16)
    idx = keys0[0][0]
    draws = {
        tuple(int(ds[(idx, s)]["images"]["tile_10x"].float().sum()) for _ in range(1)) for s in range(12)
    }
    assert len(draws) > 1  # different seeds draw different tiles / augmentations


def test_evaluation_is_the_fixed_cartesian_product(records) -> None:
    ev = EvalSamples(records, MODALITIES, 16, images_per_modality=2, seed=0)
    for r_idx, rec in enumerate(records):
        n = 2 * 2 * (2 if "radiology" in rec.images else 1)
        assert sum(1 for i, _ in ev.items if i == r_idx) == n
    again = EvalSamples(records, MODALITIES, 16, images_per_modality=2, seed=0)
    assert ev.items == again.items
    assert torch.equal(ev[5]["images"]["tile_10x"], again[5]["images"]["tile_10x"])
    # muted modalities are not expanded nor read
    uni = EvalSamples(records, ("radiology",), 16, images_per_modality=2, seed=0)
    assert all(set(p) <= {"radiology"} for _, p in uni.items)
    assert len({i for i, _ in uni.items}) == len(records)  # a patient without CT still gets a (masked) row


def test_collate_fills_missing_modalities_with_zeros_and_mask_false(records) -> None:
    ds = TrainSamples(records, MODALITIES, 16, augment=False)
    missing = [i for i, r in enumerate(records) if r.genomics is None or "radiology" not in r.images]
    assert missing
    batch = collate([ds[(i, 0)] for i in range(len(records))], 16, 4)
    assert batch.mask.shape == (len(records), 4) and batch.images["tile_10x"].shape == (
        len(records),
        3,
        16,
        16,
    )
    for i, rec in enumerate(records):
        assert batch.mask[i].tolist() == rec.mask.tolist()
        if "radiology" not in rec.images:
            assert torch.all(batch.images["radiology"][i] == 0)
        if rec.genomics is None:
            assert torch.all(batch.genomics[i] == 0)


def test_a_batch_is_prepared_on_one_torch_thread_and_equals_its_items(records, monkeypatch) -> None:
    import mmdlm.data.samples as samples

    threads: list[int] = []
    original = samples._sample

    def sample(*args):
        threads.append(torch.get_num_threads())
        return original(*args)

    monkeypatch.setattr(samples, "_sample", sample)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train = TrainSamples(records, MODALITIES, 16, augment=True, jitter=0.1)
        keys = list(EpochSampler(len(train), seed=3))[:4]
        batch = train.__getitems__(keys)  # what the DataLoader calls for a batch
        assert threads == [1] * 4 and torch.get_num_threads() == 2  # one thread inside, put back after
        for got, key in zip(batch, keys, strict=True):
            want = train[key]  # the same draw prepared on two threads: the same pixels
            assert got["images"].keys() == want["images"].keys()
            assert all(torch.equal(got["images"][m], want["images"][m]) for m in want["images"])
        evaluation = EvalSamples(records, MODALITIES, 16, 2, seed=0)
        picked = evaluation.__getitems__([0, 3, 5])
        for got, i in zip(picked, [0, 3, 5], strict=True):
            want = evaluation[i]
            assert got["index"] == want["index"]
            assert all(torch.equal(got["images"][m], want["images"][m]) for m in want["images"])
        assert collate(batch, 16, 4).images["tile_10x"].shape[0] == 4 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)

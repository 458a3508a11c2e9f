"""DataLoaders for training (seeded random combinations) and evaluation (fixed Cartesian product)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch.utils.data import BatchSampler, DataLoader

from mmdlm.data.cache import ImageCache
from mmdlm.data.records import PatientRecord
from mmdlm.data.samples import EpochSampler, EvalSamples, TrainSamples, collate


class TrainBatchSampler(BatchSampler):
    """Batches of EpochSampler keys; a trailing batch of one sample is dropped (batch-norm and the Cox
    likelihood need at least two)."""

    def __iter__(self):
        for batch in super().__iter__():
            if len(batch) > 1:
                yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size + (1 if n % self.batch_size > 1 else 0)


def _loader_kwargs(num_workers: int, pin_memory: bool) -> dict:
    return {"num_workers": num_workers, "pin_memory": pin_memory, "persistent_workers": num_workers > 0}


def train_loader(
    records: Sequence[PatientRecord],
    active: Sequence[str],
    cfg,
    n_genomic: int,
    pin_memory: bool = False,
    cache: ImageCache | None = None,
) -> DataLoader:
    """Random combinations with augmentation, reshuffled per epoch from (seed, epoch); `cache`: resized
    images shared with the fold's other loaders."""
    data = cfg.data
    ds = TrainSamples(records, active, data.image_size, data.augment, data.colour_jitter, cache)
    sampler = EpochSampler(len(ds), cfg.seed, cfg.data.draws_per_patient)
    return DataLoader(
        ds,
        batch_sampler=TrainBatchSampler(sampler, cfg.train.batch_size, drop_last=False),
        collate_fn=partial(collate, image_size=cfg.data.image_size, n_genomic=n_genomic),
        **_loader_kwargs(cfg.data.num_workers, pin_memory),
    )


def eval_loader(
    records: Sequence[PatientRecord],
    active: Sequence[str],
    cfg,
    n_genomic: int,
    pin_memory: bool = False,
    persistent: bool = True,
    cache: ImageCache | None = None,
) -> DataLoader:
    """The fixed Cartesian product of the fixed per-patient image lists, in order."""
    data = cfg.data
    ds = EvalSamples(records, active, data.image_size, data.val_images_per_modality, cfg.seed, cache)
    kwargs = _loader_kwargs(cfg.data.num_workers, pin_memory)
    kwargs["persistent_workers"] = kwargs["persistent_workers"] and persistent
    return DataLoader(
        ds,
        batch_size=cfg.train.eval_batch_size,
        shuffle=False,
        collate_fn=partial(collate, image_size=cfg.data.image_size, n_genomic=n_genomic),
        **kwargs,
    )

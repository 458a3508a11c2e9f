"""Patient-level samples: random combinations for training, the fixed Cartesian product for evaluation.

A sample is one image per present image modality, the genomic vector and the modality mask over MODALITIES.
Modalities outside `active` are muted (mask False, nothing read). Images stay uint8 until the batch is on the
device (see mmdlm.data.transforms.normalise), which keeps loader->device copies 4x smaller.
"""

from __future__ import annotations

import itertools
import logging
import math
import zlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from mmdlm.data.batch import Batch
from mmdlm.data.cache import ImageCache
from mmdlm.data.records import PatientRecord
from mmdlm.data.threads import torch_threads
from mmdlm.data.transforms import (
    augment_radiology,
    augment_tile,
    colour_jitter_batch,
    flip_rotate,
    jitter_factors,
    to_chw,
)
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES, RADIOLOGY
from mmdlm.tasks.targets import NO_LABEL, Targets

log = logging.getLogger("mmdlm.data")


def _active_mask(active: Sequence[str]) -> np.ndarray:
    return np.array([m in active for m in MODALITIES], dtype=bool)


def _sample(
    rec: PatientRecord,
    index: int,
    picks: dict[str, int],
    mask: np.ndarray,
    size: int,
    rng: np.random.Generator | None,
    jitter: float,
    cache: ImageCache | None = None,
    jitters: list[tuple[str, tuple[float, float, float, float]]] | None = None,
) -> dict:
    """One sample; with `jitters`, a tile's colour jitter is drawn but not applied: its (modality, factors)
    are appended there for the batch to apply (colour_jitter_batch), the random draws in the same order."""
    images = {}
    for m, i in picks.items():
        t = to_chw(rec.images[m][i], size) if cache is None else cache.get(rec.images[m], i, size)
        if rng is not None and m == RADIOLOGY:
            t = augment_radiology(t, rng)
        elif rng is not None and jitters is not None and jitter > 0:
            t = flip_rotate(t, rng)
            jitters.append((m, jitter_factors(rng, jitter)))
        elif rng is not None:
            t = augment_tile(t, rng, jitter)
        images[m] = t
    g = rec.genomics if mask[MODALITIES.index(GENOMICS)] else None
    return {
        "index": index,
        "images": images,
        "genomics": None if g is None else torch.from_numpy(g),
        "mask": torch.from_numpy(mask.copy()),
        "time": rec.time,
        "event": rec.event,
        "label": NO_LABEL if rec.label_5y is None else rec.label_5y,
    }


class TrainSamples(Dataset):
    """Each item draws a random image per present active modality (with augmentation when `augment`).

    Indexed by (record index, draw seed) pairs from EpochSampler, so a draw depends only on the seed, the
    epoch and its position: identical across runs, workers and resumes. `cache`: resized images shared
    with other datasets of the same records (the augmentation is drawn anew every time).
    """

    def __init__(
        self,
        records: Sequence[PatientRecord],
        active: Sequence[str],
        image_size: int,
        augment: bool = True,
        jitter: float = 0.1,
        cache: ImageCache | None = None,
    ) -> None:
        keep = _active_mask(active)
        self.records = [r for r in records if (r.mask & keep).any()]
        self.skipped = len(records) - len(self.records)
        if self.skipped:
            log.warning(
                "%d training patient(s) have none of %s: not used in this stage", self.skipped, list(active)
            )
        self.active_mask = keep
        self.image_size = image_size
        self.augment = augment
        self.jitter = jitter
        self.cache = cache

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        return self._draw(key)

    def _draw(self, key: tuple[int, int], jitters: list | None = None) -> dict:
        index, seed = key
        rec = self.records[index]
        rng = np.random.default_rng(seed)
        mask = rec.mask & self.active_mask
        picks = {
            m: int(rng.integers(len(rec.images[m]))) for m in IMAGE_MODALITIES if mask[MODALITIES.index(m)]
        }
        rng = rng if self.augment else None
        return _sample(rec, index, picks, mask, self.image_size, rng, self.jitter, self.cache, jitters)

    def __getitems__(self, keys: Sequence[tuple[int, int]]) -> list[dict]:
        """A batch's samples (what the DataLoader asks for; exactly `[self[k] for k in keys]`), prepared on
        one torch thread, the tiles' colour jitter applied per modality to the whole batch at once."""
        with torch_threads(1):
            samples, pending = [], {}
            for n, key in enumerate(keys):
                jitters: list = []
                samples.append(self._draw(key, jitters))
                for m, factors in jitters:
                    pending.setdefault(m, []).append((n, factors))
            for m, items in pending.items():
                stacked = torch.stack([samples[n]["images"][m] for n, _ in items])
                jittered = colour_jitter_batch(stacked, [f for _, f in items])
                for (n, _), image in zip(items, jittered, strict=True):
                    samples[n]["images"][m] = image
            return samples


def fixed_images(rec: PatientRecord, modality: str, k: int, seed: int) -> list[int]:
    """The patient's fixed evaluation list for one modality: k image indices chosen by (seed, patient,
    modality)."""
    n = len(rec.images[modality])
    if n <= k:
        return list(range(n))
    key = [seed, zlib.crc32(rec.patient_id.encode()), MODALITIES.index(modality)]
    return sorted(int(i) for i in np.random.default_rng(key).choice(n, size=k, replace=False))


class EvalSamples(Dataset):
    """The fixed Cartesian product of each patient's fixed image lists (no augmentation), identical every run.

    A patient without any active modality still gets one sample (mask all False: the model's no-evidence
    output).
    """

    def __init__(
        self,
        records: Sequence[PatientRecord],
        active: Sequence[str],
        image_size: int,
        images_per_modality: int,
        seed: int,
        cache: ImageCache | None = None,
    ) -> None:
        self.cache = cache
        self.records = list(records)
        self.active_mask = _active_mask(active)
        self.image_size = image_size
        self.items: list[tuple[int, dict[str, int]]] = []
        for r_idx, rec in enumerate(self.records):
            mask = rec.mask & self.active_mask
            mods = [m for m in IMAGE_MODALITIES if mask[MODALITIES.index(m)]]
            lists = [fixed_images(rec, m, images_per_modality, seed) for m in mods]
            for combo in itertools.product(*lists):
                self.items.append((r_idx, dict(zip(mods, combo, strict=True))))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        r_idx, picks = self.items[i]
        rec = self.records[r_idx]
        mask = rec.mask & self.active_mask
        return _sample(rec, r_idx, picks, mask, self.image_size, None, 0.0, self.cache)

    def __getitems__(self, indices: Sequence[int]) -> list[dict]:
        """A batch's samples (what the DataLoader asks for), prepared on one torch thread."""
        with torch_threads(1):
            return [self[i] for i in indices]


class EpochSampler(Sampler):
    """Yields (record index, draw seed) pairs: a seeded permutation per epoch, sharded over DDP ranks.

    Lightning calls `set_epoch` every epoch; the order depends only on (seed, epoch), so resuming at epoch k
    replays exactly what an uninterrupted run would have drawn.
    """

    def __init__(self, n: int, seed: int, draws_per_item: int = 1, shuffle: bool = True) -> None:
        self.n, self.seed, self.draws, self.shuffle = n, seed, draws_per_item, shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @staticmethod
    def _world() -> tuple[int, int]:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def __len__(self) -> int:
        return math.ceil(self.n * self.draws / self._world()[1])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rank, world = self._world()
        rng = np.random.default_rng([self.seed, self.epoch])
        order = np.tile(np.arange(self.n), self.draws)
        if self.shuffle:
            order = rng.permutation(order)
        seeds = rng.integers(0, 2**62, size=len(order))
        total = math.ceil(len(order) / world) * world
        pad = total - len(order)
        order, seeds = np.concatenate([order, order[:pad]]), np.concatenate([seeds, seeds[:pad]])
        for i in range(rank, total, world):
            yield int(order[i]), int(seeds[i])


def collate(samples: list[dict], image_size: int, n_genomic: int) -> Batch:
    """Stack samples into a Batch (on one torch thread); a modality missing from a sample is zeros with mask
    False."""
    with torch_threads(1):
        return _collate(samples, image_size, n_genomic)


def _collate(samples: list[dict], image_size: int, n_genomic: int) -> Batch:
    batch = len(samples)
    images = {}
    for m in IMAGE_MODALITIES:
        if any(m in s["images"] for s in samples):
            out = torch.zeros(batch, 3, image_size, image_size, dtype=torch.uint8)
            for i, s in enumerate(samples):
                if m in s["images"]:
                    out[i] = s["images"][m]
            images[m] = out
    genomics = torch.zeros(batch, max(n_genomic, 1), dtype=torch.float32)
    for i, s in enumerate(samples):
        if s["genomics"] is not None:
            genomics[i, :n_genomic] = s["genomics"]
    return Batch(
        images=images,
        genomics=genomics,
        mask=torch.stack([s["mask"] for s in samples]),
        index=torch.tensor([s["index"] for s in samples], dtype=torch.long),
        targets=Targets.of([s["time"] for s in samples], [s["event"] for s in samples],
                           [s["label"] for s in samples]),
    )

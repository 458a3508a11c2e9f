"""Bags with a planted survival signal in a minority of instances (tests and benches of the MIL family)."""

from __future__ import annotations

import numpy as np

from mmdlm.data.toy import latent_survival
from mmdlm.mil.bags import BagPart, BagRecord
from mmdlm.modalities import TILE_5X, TILE_10X


def planted_bags(
    n: int = 160,
    dim: int = 16,
    instances: tuple[int, int] = (20, 80),
    key_fraction: float = 0.2,
    strength: float = 1.5,
    seed: int = 0,
) -> list[BagRecord]:
    """Patients with latent log-hazard z ~ N(0, 1), exponential times (rate exp(z)) censored at random; in
    each bag (10x and 5x) a `key_fraction` of instances carry `strength` * z on their first 4 features, the
    rest is N(0, 1) noise. 5x bags are a quarter the size of 10x bags; genomics are absent."""
    rng = np.random.default_rng(seed)
    z, time, event, label = latent_survival(rng, n)
    records = []
    for i in range(n):
        rec = BagRecord(f"TCGA-MI-{i:04d}", float(time[i]), int(event[i]), label[i])
        for modality, scale in ((TILE_10X, 1), (TILE_5X, 4)):
            size = max(2, int(rng.integers(*instances)) // scale)
            x = rng.normal(size=(size, dim)).astype(np.float32)
            key = rng.random(size) < key_fraction
            x[key, :4] += strength * z[i]
            rec.bags[modality] = x.astype(np.float16)
            coords = np.stack([np.arange(size) * 224, np.zeros(size, np.int64)], axis=1).astype(np.int64)
            rec.parts[modality] = [BagPart(f"slide-{i}", 0, size, coords, 224)]
        records.append(rec)
    return records

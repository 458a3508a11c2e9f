"""Bags of instance features per patient, read from the feature stores of `mmdlm features`, and padded
batches of them (a seeded subsample of each bag while training, every instance when predicting)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from mmdlm.errors import MmdlmError
from mmdlm.features.store import read_attrs, read_magnification, read_radiology
from mmdlm.mil.model import Bags
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES, RADIOLOGY, magnification_modality

if TYPE_CHECKING:
    from mmdlm.cohort.manifest import Manifest

log = logging.getLogger("mmdlm.mil")


@dataclass(frozen=True)
class BagPart:
    """Where a run of a bag's instances came from: a slide (with its tiles' level-0 coords) or radiology."""

    source: str  # slide_id, or "radiology"
    start: int
    stop: int
    coords: np.ndarray | None = None  # int64 [stop - start, 2] level-0 (x, y) for tiles
    level0_size: int = 0  # a tile's side in level-0 px (tiles only)


@dataclass(eq=False)
class BagRecord:
    """One patient: labels, a bag of float16 features per image modality, genomics (None if absent) with its
    entries' names, and the identity of the encoder that made the features."""

    patient_id: str
    time: float
    event: int
    label_5y: int | None = None
    bags: dict[str, np.ndarray] = field(default_factory=dict)
    parts: dict[str, list[BagPart]] = field(default_factory=dict)
    genomics: np.ndarray | None = None
    genomic_features: tuple[str, ...] = ()  # names of the genomic vector's entries (the cohort's list)
    encoder_key: str = ""  # the feature stores' encoder identity (mmdlm features)

    @property
    def mask(self) -> np.ndarray:
        """Availability over MODALITIES (bool [M])."""
        return np.array(
            [
                self.genomics is not None if m == GENOMICS else (m in self.bags and len(self.bags[m]) > 0)
                for m in MODALITIES
            ],
            dtype=bool,
        )

    def has_any(self, active: tuple[str, ...]) -> bool:
        """Whether the patient has at least one of the `active` modalities."""
        mask = self.mask
        return any(mask[MODALITIES.index(m)] for m in active)


def _index(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, dtype={"slide_id": str, "patient_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MmdlmError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None


def _slide_bags(feats_dir: Path, ids: set[str], keys: set[str]) -> dict[str, dict[str, list]]:
    index = _index(feats_dir / "index.csv")
    if index is None:
        raise MmdlmError("feature index not found (run `mmdlm features` first)", file=feats_dir / "index.csv")
    out: dict[str, dict[str, list]] = {}
    for row in index.itertuples(index=False):
        modality = magnification_modality(float(row.magnification))
        if modality not in IMAGE_MODALITIES or str(row.patient_id) not in ids:
            continue
        path = feats_dir / str(row.path)
        if not path.is_file():
            raise MmdlmError(
                "feature store listed in the index is missing; rerun `mmdlm features`",
                file=path,
                patient=str(row.patient_id),
                field="path",
            )
        keys.add(str(read_attrs(path).get("encoder_key")))
        part = read_magnification(path, float(row.magnification))
        if part is None or len(part.coords) != int(row.n_tiles):
            raise MmdlmError(
                f"store disagrees with index.csv at {row.magnification:g}x; rerun `mmdlm features`",
                file=path,
                patient=str(row.patient_id),
            )
        out.setdefault(str(row.patient_id), {}).setdefault(modality, []).append(
            (str(row.slide_id), part.features, part.coords, part.level0_size)
        )
    return out


def _radiology_bags(feats_dir: Path, ids: set[str], keys: set[str]) -> dict[str, np.ndarray]:
    index = _index(feats_dir / "radiology" / "index.csv")
    out: dict[str, np.ndarray] = {}
    for row in [] if index is None else index.itertuples(index=False):
        if str(row.patient_id) in ids:
            path = feats_dir / str(row.path)
            keys.add(str(read_attrs(path).get("encoder_key")))
            out[str(row.patient_id)] = read_radiology(path)[1]
    return out


def load_bags(cohort_dir: str | Path | Manifest, feats_dir: str | Path) -> list[BagRecord]:
    """Records of the manifest's patients with a known outcome and at least one modality (bags from FEATS,
    genomics from the manifest); all stores must come from one encoder."""
    from mmdlm.cohort.manifest import as_manifest

    feats_dir = Path(feats_dir)
    manifest = as_manifest(cohort_dir)  # a loaded Manifest is used as it is
    ids = set(manifest.patients["patient_id"].astype(str))
    keys: set[str] = set()
    slides, rad = _slide_bags(feats_dir, ids, keys), _radiology_bags(feats_dir, ids, keys)
    if len(keys) > 1:
        raise MmdlmError(
            f"feature stores from {len(keys)} different encoders; rerun `mmdlm features`", file=feats_dir
        )
    features = list(manifest.features)
    genomic = manifest.genomic_vectors()
    encoder_key = next(iter(keys), "")
    records = []
    for row in manifest.patients.itertuples(index=False):
        pid = str(row.patient_id)
        if pd.isna(row.time) or pd.isna(row.event):
            continue
        rec = BagRecord(
            pid,
            float(row.time),
            int(row.event),
            None if pd.isna(row.label_5y) else int(row.label_5y),
            genomics=genomic.get(pid),
            genomic_features=tuple(features) if pid in genomic else (),
            encoder_key=encoder_key,
        )
        for modality, pieces in slides.get(pid, {}).items():
            start, parts = 0, []
            for slide_id, _, coords, level0_size in pieces:
                parts.append(BagPart(slide_id, start, start + len(coords), coords, level0_size))
                start += len(coords)
            rec.bags[modality] = np.concatenate([piece[1] for piece in pieces])
            rec.parts[modality] = parts
        if pid in rad and len(rad[pid]):
            rec.bags[RADIOLOGY] = rad[pid]
            rec.parts[RADIOLOGY] = [BagPart(RADIOLOGY, 0, len(rad[pid]))]
        if rec.mask.any():
            records.append(rec)
    if not records:
        raise MmdlmError(
            "no patient has an outcome and at least one modality in the feature stores", file=feats_dir
        )
    return records


def feature_dims(records: list[BagRecord]) -> dict[str, int]:
    """Feature width per image modality present in `records`."""
    return {m: int(r.bags[m].shape[1]) for r in records for m in r.bags}


def collate_bags(
    records: list[BagRecord],
    active: tuple[str, ...],
    n_genomic: int,
    dims: dict[str, int],
    rng: np.random.Generator | None = None,
    max_instances: int | None = None,
) -> Bags:
    """Padded tensors of `records` with the mask muted to `active`; with `rng`, each bag is a seeded
    subsample of at most `max_instances` instances (training), otherwise all of them (prediction)."""
    batch = len(records)
    instances, inst_mask = {}, {}
    for m in IMAGE_MODALITIES:
        if m not in active or m not in dims:
            continue
        chosen = []
        for r in records:
            bag = r.bags.get(m)
            if bag is None or len(bag) == 0:
                chosen.append(np.zeros((0, dims[m]), np.float16))
            elif rng is not None and max_instances is not None and len(bag) > max_instances:
                chosen.append(bag[np.sort(rng.choice(len(bag), max_instances, replace=False))])
            else:
                chosen.append(bag)
        n = max(1, max(len(c) for c in chosen))
        x = np.zeros((batch, n, dims[m]), np.float32)
        valid = np.zeros((batch, n), bool)
        for i, c in enumerate(chosen):
            x[i, : len(c)] = c
            valid[i, : len(c)] = True
        instances[m], inst_mask[m] = torch.from_numpy(x), torch.from_numpy(valid)
    genomics = np.zeros((batch, max(n_genomic, 1)), np.float32)
    for i, r in enumerate(records):
        if r.genomics is not None:
            genomics[i, : len(r.genomics)] = r.genomics
    keep = np.array([m in active for m in MODALITIES])
    mask = np.stack([r.mask for r in records]) & keep
    return Bags(instances, inst_mask, torch.from_numpy(genomics), torch.from_numpy(mask))

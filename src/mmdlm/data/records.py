"""Patient records: survival labels, image sources per modality, genomic vector, availability mask."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmdlm.data.sources import ArraySource, ImageSource, TileStoreSource, png_images
from mmdlm.errors import MmdlmError
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES, RADIOLOGY, magnification_modality

if TYPE_CHECKING:
    from mmdlm.cohort.manifest import Manifest
    from mmdlm.cohort.paths import CohortPaths

log = logging.getLogger("mmdlm.data")


@dataclass(eq=False)
class PatientRecord:
    """One patient: labels, images per image modality (only those present), genomics (None if absent)."""

    patient_id: str
    time: float
    event: int
    label_5y: int | None = None
    images: dict[str, ImageSource] = field(default_factory=dict)
    genomics: np.ndarray | None = None
    genomic_features: tuple[
        str, ...
    ] = ()  # names of the genomic vector's entries (the cohort's feature list)

    @property
    def mask(self) -> np.ndarray:
        """Availability over MODALITIES (bool [M])."""
        return np.array(
            [
                (m in self.images and len(self.images[m]) > 0) if m != GENOMICS else self.genomics is not None
                for m in MODALITIES
            ],
            dtype=bool,
        )

    def has_any(self, active: tuple[str, ...]) -> bool:
        """Whether the patient has at least one of the `active` modalities."""
        mask = self.mask
        return any(mask[MODALITIES.index(m)] for m in active)


@dataclass(frozen=True)
class RecordSummary:
    """What load_records kept and skipped (each skip is also a logged warning)."""

    patients: int
    skipped_no_outcome: int
    skipped_no_modality: int
    per_modality: dict[str, int]
    n_genomic: int
    feature_names: tuple[str, ...]
    skipped_ids: tuple[str, ...] = ()  # patients skipped (no outcome or no modality), for the run log


def _label(value) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return int(value)


def _tile_sources(
    tiles_dir: Path | None, ids: set[str], preload_max_mb: float
) -> dict[str, dict[str, ImageSource]]:
    if tiles_dir is None:
        return {}
    from mmdlm.slides.store import read_index

    index = read_index(tiles_dir)
    parts: dict[tuple[str, str], list[tuple[str, int]]] = {}
    mags: dict[str, float] = {}
    unknown = 0
    for row in index.itertuples(index=False):
        modality = magnification_modality(float(row.magnification))
        if modality not in IMAGE_MODALITIES or int(row.n_tiles) <= 0:
            continue
        if str(row.patient_id) not in ids:
            unknown += 1
            continue
        if not Path(row.path).is_file():
            raise MmdlmError(
                f"tile store listed in the index is missing; rebuild it with "
                f"`mmdlm tile --cohort COHORT --out {tiles_dir}`",
                file=row.path,
                patient=str(row.patient_id),
                field="path",
            )
        parts.setdefault((str(row.patient_id), modality), []).append((str(row.path), int(row.n_tiles)))
        mags[modality] = float(row.magnification)
    if unknown:
        log.warning("tile index: %d slide row(s) of patients not in the manifest ignored", unknown)
    sources = {key: TileStoreSource(p, mags[key[1]]) for key, p in parts.items()}
    total = sum(s.nbytes() for s in sources.values()) / 2**20
    out: dict[str, dict[str, ImageSource]] = {}
    for (pid, modality), src in sources.items():
        out.setdefault(pid, {})[modality] = src.load() if total <= preload_max_mb else src
    return out


def _radiology_sources(rad_dir: Path | None, ids: set[str]) -> dict[str, ImageSource]:
    if rad_dir is None:
        return {}
    from mmdlm.radiology.store import read_index

    index = read_index(rad_dir)
    out: dict[str, ImageSource] = {}
    for pid, rows in index.groupby("patient_id", sort=True):
        if str(pid) not in ids:
            continue
        paths = [p for p in rows.sort_values("plane")["path"]]
        try:
            out[str(pid)] = png_images(paths)
        except (OSError, ValueError) as exc:
            raise MmdlmError(
                f"damaged or unreadable radiology image ({exc.__class__.__name__}); rebuild the store with "
                f"`mmdlm radiology --cohort COHORT --out {rad_dir} --force`",
                file=getattr(exc, "filename", None) or paths[0],
                patient=str(pid),
                field="path",
            ) from None
    return out


def load_records(cohort: CohortPaths, cfg, manifest: Manifest | None = None) -> list[PatientRecord]:
    """Records of the manifest's patients with a known outcome and at least one modality (others skipped,
    warned), images from the cohort's tile and radiology stores.

    `cfg` is the full Config (data.preload_max_mb decides in-memory vs lazy tile reads); `manifest`: the
    cohort's manifest when the caller has already loaded it (else it is loaded from `cohort.manifest`).
    """
    records, _ = load_records_with_summary(cohort, cfg, manifest)
    return records


def load_records_with_summary(
    cohort: CohortPaths, cfg, manifest: Manifest | None = None
) -> tuple[list[PatientRecord], RecordSummary]:
    """load_records plus the counts of what was kept and skipped."""
    from mmdlm.cohort.manifest import load_manifest

    manifest = manifest if manifest is not None else load_manifest(cohort.manifest)
    patients = manifest.patients
    ids = set(patients["patient_id"].astype(str))
    tiles = _tile_sources(cohort.tiles, ids, cfg.data.preload_max_mb)
    rad = _radiology_sources(cohort.radiology, ids)
    features = list(manifest.features)
    genomic = manifest.genomic_vectors()
    records: list[PatientRecord] = []
    no_outcome = no_modality = 0
    skipped: list[str] = []
    for row in patients.itertuples(index=False):
        pid = str(row.patient_id)
        if pd.isna(row.time) or pd.isna(row.event):
            no_outcome += 1
            skipped.append(pid)
            continue
        if float(row.time) < 0:
            raise MmdlmError(
                "negative survival time", file=manifest.root / "patients.csv", patient=pid, field="time"
            )
        images = dict(tiles.get(pid, {}))
        if pid in rad:
            images[RADIOLOGY] = rad[pid]
        rec = PatientRecord(
            pid,
            float(row.time),
            int(row.event),
            _label(row.label_5y),
            images,
            genomic.get(pid),
            tuple(features),
        )
        if not rec.mask.any():
            no_modality += 1
            skipped.append(pid)
            log.info("patient %s has no tiles, radiology or genomics: skipped", pid)
            continue
        records.append(rec)
    if no_outcome:
        log.warning("%d patient(s) without a known time/event skipped", no_outcome)
    if no_modality:
        log.warning("%d patient(s) without any modality (tiles, radiology or genomics) skipped", no_modality)
    if not records:
        raise MmdlmError("no patient has an outcome and at least one modality", file=manifest.root)
    per_modality = {m: int(sum(r.mask[i] for r in records)) for i, m in enumerate(MODALITIES)}
    summary = RecordSummary(
        len(records), no_outcome, no_modality, per_modality, len(features), tuple(features), tuple(skipped)
    )
    return records, summary


def records_from_arrays(
    patient_ids, times, events, images: dict[str, list], genomics=None, labels_5y=None
) -> list[PatientRecord]:
    """Records from in-memory arrays (small cohorts, tests): images[m][i] is a uint8 stack or None."""
    out = []
    for i, pid in enumerate(patient_ids):
        imgs = {m: ArraySource(v[i]) for m, v in images.items() if v[i] is not None}
        g = None if genomics is None or genomics[i] is None else np.asarray(genomics[i], dtype=np.float32)
        lab = None if labels_5y is None else _label(labels_5y[i])
        out.append(PatientRecord(str(pid), float(times[i]), int(events[i]), lab, imgs, g))
    return out


def n_genomic(records: list[PatientRecord]) -> int:
    """Length of the genomic vector (0 when no patient has one); all records must agree."""
    sizes = {len(r.genomics) for r in records if r.genomics is not None}
    if len(sizes) > 1:
        raise MmdlmError(f"genomic vectors of different lengths {sorted(sizes)}", field="genomics")
    return sizes.pop() if sizes else 0

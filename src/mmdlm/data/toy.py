"""A small in-memory cohort with a planted survival signal in every modality (tests and benches)."""

from __future__ import annotations

import numpy as np

from mmdlm.cohort.paths import CohortPaths
from mmdlm.data.records import PatientRecord, records_from_arrays
from mmdlm.modalities import RADIOLOGY, TILE_5X, TILE_10X


def latent_survival(
    rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int | None]]:
    """Latent log-hazards z ~ N(0, 1), exponential event times (rate exp(z), months) censored uniformly in
    20-150 months: (z, time, event, 5-year label: 1 dead before 60, 0 alive at 60, None censored earlier)."""
    z = rng.normal(size=n)
    t_event = rng.exponential(1.0 / np.exp(z)) * 60.0
    t_cens = rng.uniform(20.0, 150.0, size=n)
    time = np.round(np.minimum(t_event, t_cens) + 0.1, 1)
    event = (t_event <= t_cens).astype(int)
    label = [1 if (e and t < 60) else (0 if t >= 60 else None) for t, e in zip(time, event, strict=True)]
    return z, time, event, label

def planted_records(
    n: int = 48,
    size: int = 32,
    images_per_patient: int = 3,
    n_genomic: int = 6,
    noise: float = 0.6,
    p_missing: float = 0.15,
    seed: int = 0,
) -> list[PatientRecord]:
    """Patients with latent log-hazard z; each modality sees z + independent noise (so fusion helps).

    10x tiles: red-channel brightness; 5x tiles: size of a bright square; radiology: size of a bright disc;
    genomics: 0/1 bits switched on with probability sigmoid(z + noise). Radiology and genomics are missing for
    about `p_missing` of the patients. Times are exponential with rate exp(z), censored at random.
    """
    rng = np.random.default_rng(seed)
    z, time, event, label = latent_survival(rng, n)
    yy, xx = np.mgrid[0:size, 0:size]
    centre = (size - 1) / 2

    def view() -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(z[:, None] + noise * rng.normal(size=(n, images_per_patient)))))

    v10, v5, vr = view(), view(), view()
    tiles10, tiles5, rad, gen = [], [], [], []
    for i in range(n):
        base = rng.integers(90, 140, size=(images_per_patient, size, size, 3)).astype(np.float32)
        t10 = base.copy()
        t10[..., 0] += 110 * v10[i][:, None, None]
        tiles10.append(np.clip(t10, 0, 255).astype(np.uint8))
        t5 = rng.integers(60, 100, size=(images_per_patient, size, size, 3)).astype(np.float32)
        for k in range(images_per_patient):
            half = 2 + v5[i, k] * (size / 2 - 3)
            sq = (np.abs(yy - centre) <= half) & (np.abs(xx - centre) <= half)
            t5[k][sq] += 120
        tiles5.append(np.clip(t5, 0, 255).astype(np.uint8))
        if rng.random() < p_missing:
            rad.append(None)
        else:
            planes = rng.integers(0, 40, size=(3, size, size)).astype(np.float32)
            for k in range(3):
                radius = 2 + vr[i, k % images_per_patient] * (size / 2 - 3)
                planes[k][(yy - centre) ** 2 + (xx - centre) ** 2 <= radius**2] += 180
            rad.append(np.clip(planes, 0, 255).astype(np.uint8))
        if rng.random() < p_missing:
            gen.append(None)
        else:
            p = 1.0 / (1.0 + np.exp(-(z[i] + noise * rng.normal(size=n_genomic))))
            gen.append((rng.random(n_genomic) < p).astype(np.float32))
    ids = [f"TCGA-TY-{i:04d}" for i in range(n)]
    return records_from_arrays(
        ids, time, event, {TILE_10X: tiles10, TILE_5X: tiles5, RADIOLOGY: rad}, gen, label
    )


def write_toy_stores(records: list[PatientRecord], root) -> CohortPaths:
    """Write `records` as a manifest, an HDF5 tile store and a radiology PNG store under `root` (the
    documented formats, docs/formats.md sections 2-4); returns their paths."""
    import json
    from pathlib import Path

    import h5py
    import pandas as pd
    from PIL import Image

    from mmdlm.slides.store import FORMAT_VERSION

    root = Path(root)
    cohort, tiles, rad = root / "cohort", root / "tiles", root / "radiology"
    for d in (cohort, tiles, rad):
        d.mkdir(parents=True, exist_ok=True)
    n_gen = max((len(r.genomics) for r in records if r.genomics is not None), default=0)
    features = [f"GENE{i}_mut" for i in range(n_gen)]
    pd.DataFrame(
        {
            "patient_id": [r.patient_id for r in records],
            "time": [r.time for r in records],
            "event": [r.event for r in records],
            "endpoint": "DSS",
            "label_5y": ["" if r.label_5y is None else r.label_5y for r in records],
        }
    ).to_csv(cohort / "patients.csv", index=False)
    alt = [
        {"patient_id": r.patient_id, **dict(zip(features, r.genomics.astype(int).tolist(), strict=True))}
        for r in records
        if r.genomics is not None
    ]
    pd.DataFrame(alt, columns=["patient_id", *features]).to_csv(cohort / "alterations.csv", index=False)
    (cohort / "features.json").write_text(json.dumps({"features": features, "rule": "toy"}))
    index, rad_index = [], []
    for r in records:
        slide_id = f"{r.patient_id}-01Z-00-DX1"
        path = tiles / f"{slide_id}.h5"
        with h5py.File(path, "w") as fh:
            fh.attrs.update(
                {"slide_id": slide_id, "patient_id": r.patient_id, "format_version": FORMAT_VERSION}
            )
            for modality, mag in ((TILE_10X, 10.0), (TILE_5X, 5.0)):
                if modality not in r.images:
                    continue
                arr = np.stack([r.images[modality][i] for i in range(len(r.images[modality]))])
                g = fh.create_group(f"mag_{mag:g}x")
                g.create_dataset("tiles", data=arr, chunks=(1, *arr.shape[1:]))
                g.create_dataset("coords", data=np.zeros((len(arr), 2), dtype=np.int64))
                g.attrs.update({"magnification": mag, "tile_size": arr.shape[1]})
                index.append(
                    {
                        "slide_id": slide_id,
                        "patient_id": r.patient_id,
                        "magnification": mag,
                        "n_tiles": len(arr),
                        "path": path.name,
                    }
                )
        if RADIOLOGY in r.images:
            (rad / r.patient_id).mkdir(exist_ok=True)
            for k, plane in enumerate(("axial", "coronal", "sagittal")[: len(r.images[RADIOLOGY])]):
                Image.fromarray(r.images[RADIOLOGY][k]).save(rad / r.patient_id / f"{plane}.png")
                rad_index.append(
                    {
                        "patient_id": r.patient_id,
                        "plane": plane,
                        "path": f"{r.patient_id}/{plane}.png",
                        "modality": "CT",
                        "diameter_mm": 40.0,
                        "slice_index": 0,
                    }
                )
    pd.DataFrame(index).to_csv(tiles / "index.csv", index=False)
    pd.DataFrame(
        rad_index, columns=["patient_id", "plane", "path", "modality", "diameter_mm", "slice_index"]
    ).to_csv(rad / "index.csv", index=False)
    return CohortPaths(cohort, tiles, rad)

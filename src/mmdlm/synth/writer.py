"""`write_synthetic_cohort`: the synthetic cohort folder, built in a temp sibling, renamed at the end."""

from __future__ import annotations

import csv
import multiprocessing
import os
import time
import uuid
from pathlib import Path

import numpy as np

from mmdlm.atomic import atomic_path
from mmdlm.errors import MmdlmError
from mmdlm.executor.local import EagerProcessPool
from mmdlm.synth.config import SynthConfig
from mmdlm.synth.genomics import simulate_genomics
from mmdlm.synth.truth import PatientTruth, patient_id, patient_rng, simulate_truth

STREAM_SLIDE, STREAM_RADIOLOGY = 1, 2


def slide_uuid(cfg: SynthConfig, index: int) -> str:
    """The GDC-style file UUID of patient `index`'s diagnostic slide (deterministic)."""
    bits = int.from_bytes(np.random.default_rng([cfg.seed, 3, index]).bytes(16), "big")
    return str(uuid.UUID(int=bits, version=4))


def slide_relpath(cfg: SynthConfig, p: PatientTruth) -> Path:
    """slides/<file-uuid>/<PATIENT>-01Z-00-DX1.<FILE-UUID>.tiff (GDC layout)."""
    u = slide_uuid(cfg, p.index)
    return Path("slides") / u / f"{p.patient_id}-01Z-00-DX1.{u.upper()}.tiff"


def write_patient_images(root: Path, cfg: SynthConfig, p: PatientTruth) -> dict[str, object]:
    """Write one patient's slide, DICOM series and tumour mask under `root`; returns their relative paths."""
    from mmdlm.synth.dicom_series import identity, write_mask, write_series
    from mmdlm.synth.histology import HistologyParams, render_tissue
    from mmdlm.synth.phantom import Grid, render_volume
    from mmdlm.synth.tiff import slide_levels, write_pyramid_tiff

    texture_mpp = 1.0  # render at 10x, the finest magnification the pipeline reads
    rng = patient_rng(cfg, p.index, STREAM_SLIDE)
    shape = (
        round(cfg.slide_height * cfg.slide_mpp / texture_mpp),
        round(cfg.slide_width * cfg.slide_mpp / texture_mpp),
    )
    texture = render_tissue(
        rng, shape, HistologyParams(p.grade_score, p.necrosis_fraction, p.haemorrhage_fraction)
    )
    levels = slide_levels(texture, texture_mpp, cfg.slide_mpp, cfg.slide_downsamples)
    slide = root / slide_relpath(cfg, p)
    slide.parent.mkdir(parents=True, exist_ok=True)
    write_pyramid_tiff(slide, levels, cfg.slide_mpp, cfg.slide_tile, cfg.jpeg_quality)

    rng = patient_rng(cfg, p.index, STREAM_RADIOLOGY)
    mr = p.modality == "MR"
    pixel = cfg.ct_pixel_mm * (1.1 if mr else 1.0)
    thickness = cfg.ct_slice_mm + (1.0 if mr else 0.0)
    slices = cfg.ct_slices if not mr else max(8, round(cfg.ct_slices * cfg.ct_slice_mm / thickness))
    table = float(rng.uniform(-20, 20))
    grid = Grid(
        rows=cfg.ct_matrix,
        columns=cfg.ct_matrix,
        slices=slices,
        pixel_mm=pixel,
        slice_mm=thickness,
        origin=(
            -(cfg.ct_matrix - 1) / 2 * pixel,
            -(cfg.ct_matrix - 1) / 2 * pixel + table,
            -(slices - 1) / 2 * thickness - 300.0 + table,
        ),
    )
    volume, mask = render_volume(rng, grid, p.tumour_axes_mm, p.tumour_side, p.modality)
    folder = root / "radiology" / p.patient_id
    ident = identity(p.index, p.patient_id, p.age, p.sex, cfg.seed)
    series = write_series(folder, volume, grid, p.modality, ident, cfg.seed, p.index)
    write_mask(folder / "tumour_mask.nii.gz", mask, grid)
    return {
        "patient_id": p.patient_id,
        "slide": str(slide.relative_to(root)),
        "series": str(series.folder.relative_to(root)),
        "mask": str((folder / "tumour_mask.nii.gz").relative_to(root)),
        "modality": p.modality,
        "mask_voxels": int(mask.sum()),
    }


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _fmt(v: object) -> object:
    return f"{v:.6g}" if isinstance(v, float) else v


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise MmdlmError("output exists and is not a folder", file=out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise MmdlmError("output folder exists and is not empty (use --force to replace it)", file=out)


def _folder_size(root: Path) -> tuple[int, int]:
    total = files = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            total += os.path.getsize(os.path.join(dirpath, name))
            files += 1
    return total, files


def write_synthetic_cohort(out: Path, cfg: SynthConfig, workers: int = 1, force: bool = False) -> dict:
    """Write the synthetic ccRCC cohort of docs/formats.md section 1 to `out`; returns a summary dict."""
    from mmdlm.synth.study import write_study

    out = Path(out)
    if workers < 1:
        raise MmdlmError(f"workers must be >= 1, got {workers}", field="workers")
    _check_target(out, force)
    start = time.perf_counter()
    sample_ids = [f"{patient_id(i, cfg.site_code)}-01" for i in range(cfg.patients)]
    genomics = simulate_genomics(cfg, sample_ids)
    patients = simulate_truth(cfg, genomics.effect)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        write_study(tmp / "study", patients, genomics)
        truth_rows = [p.truth_row() for p in patients]
        header = list(truth_rows[0])
        _write_csv(tmp / "truth.csv", header, [[_fmt(r[c]) for c in header] for r in truth_rows])
        _write_csv(
            tmp / "truth_alterations.csv",
            ["patient_id", *genomics.features],
            [[p.patient_id, *map(int, genomics.matrix[i])] for i, p in enumerate(patients)],
        )
        if workers == 1 or cfg.patients == 1:
            images = [write_patient_images(tmp, cfg, p) for p in patients]
        else:
            ctx = multiprocessing.get_context("spawn")  # safe even if the caller holds threads (torch)
            with EagerProcessPool(max_workers=min(workers, cfg.patients), mp_context=ctx) as pool:
                images = list(
                    pool.map(write_patient_images, [tmp] * len(patients), [cfg] * len(patients), patients)
                )
        size, n_files = _folder_size(tmp)
    return {
        "out": str(out),
        "patients": cfg.patients,
        "seed": cfg.seed,
        "dss_events": sum(p.dss_event for p in patients),
        "os_events": sum(p.os_event for p in patients),
        "ct": sum(p.modality == "CT" for p in patients),
        "mr": sum(p.modality == "MR" for p in patients),
        "features": list(genomics.features),
        "mutation_rows": len(genomics.maf_rows),
        "files": n_files,
        "bytes": size,
        "seconds": round(time.perf_counter() - start, 2),
        "workers": workers,
        "images": images,
    }

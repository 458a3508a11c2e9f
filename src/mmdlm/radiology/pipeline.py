"""Cohort runner: every patient's radiology rows -> RAD/<patient>/ planes, index.csv and summary.json."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmdlm.errors import MmdlmError
from mmdlm.executor import ExecutorConfig, WorkerLost
from mmdlm.names import id_path
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.dicom import MODALITY_KEY, SERIES_UID_KEY, read_dicom_series
from mmdlm.radiology.images import read_ready_image
from mmdlm.radiology.orient import PLANE_AXIS, lps_axes, lps_spacing
from mmdlm.radiology.planes import intensity_range, max_diameter_planes
from mmdlm.radiology.store import (
    FORMAT_VERSION,
    SUMMARY_NAME,
    check_patient_id,
    index_rows,
    read_meta,
    write_index,
    write_patient,
)
from mmdlm.radiology.volume import read_volume
from mmdlm.radiology.warn import RadiologyWarning, warn
from mmdlm.stores.freshness import input_signature
from mmdlm.stores.runner import ItemResult, StoreStage, run_store_stage

RADIOLOGY_COLUMNS: tuple[str, ...] = ("patient_id", "path", "kind", "modality", "plane", "mask_path")
VOLUME_KINDS: tuple[str, ...] = ("dicom_series", "nifti")


def _signature(path: str) -> str:
    """The store stages' freshness signature of an input file or folder (mmdlm.stores.freshness); a missing
    or unreadable input signs as such (extraction then reports it)."""
    if not path:
        return ""
    try:
        return input_signature(path, "radiology input")
    except MmdlmError:
        return "unreadable"


def params_hash(rows: pd.DataFrame, cfg: RadiologyConfig) -> str:
    """Hash of the config, the patient's manifest rows and their inputs' signatures (the freshness rule)."""
    items = [
        {
            **{c: str(r.get(c, "")) for c in RADIOLOGY_COLUMNS},
            "files": _signature(str(r.get("path", ""))),
            "mask_files": _signature(str(r.get("mask_path", ""))),
        }
        for r in rows.to_dict("records")
    ]
    blob = json.dumps(
        {"v": FORMAT_VERSION, "cfg": cfg.model_dump(mode="json"), "rows": items}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _volume_meta(
    patient_id: str, row: dict[str, Any], cfg: RadiologyConfig
) -> tuple[dict[str, np.ndarray], dict]:
    import SimpleITK as sitk

    path, kind = row["path"], row["kind"]
    if kind == "dicom_series":
        image = read_dicom_series(
            path, patient_id, multi_series=cfg.multi_series, max_gap_factor=cfg.max_gap_factor
        )
    else:
        image = read_volume(path, patient_id)
    listed = (row.get("modality") or "").strip().upper()
    stored = image.GetMetaData(MODALITY_KEY).strip().upper() if image.HasMetaDataKey(MODALITY_KEY) else ""
    if stored:
        if stored not in ("CT", "MR"):
            raise MmdlmError(
                f"series modality {stored!r} is not CT or MR", file=path, patient=patient_id, field="Modality"
            )
        if listed and listed != stored:
            warn(
                f"manifest modality {listed} differs from the DICOM Modality {stored}; using {stored}",
                file=path,
                patient=patient_id,
            )
        modality = stored
    elif listed in ("CT", "MR"):
        modality = listed
    else:
        raise MmdlmError(
            f"modality {listed or '(empty)'!r} is not CT or MR",
            file=path,
            patient=patient_id,
            field="modality",
        )
    mask = read_volume(row["mask_path"], patient_id)
    planes = max_diameter_planes(
        image,
        mask,
        cfg,
        modality=modality,
        patient_id=patient_id,
        mask_file=row["mask_path"],
        image_file=row["path"],
    )
    series_uid = image.GetMetaData(SERIES_UID_KEY) if image.HasMetaDataKey(SERIES_UID_KEY) else ""
    if modality == "CT":
        intensity = {"kind": "ct_window", "width": cfg.ct_window_width, "level": cfg.ct_window_level}
    else:
        lo, hi = intensity_range(sitk.GetArrayViewFromImage(image), modality, cfg)
        intensity = {"kind": "mr_percentiles", "percentiles": list(cfg.mri_percentiles), "values": [lo, hi]}
    spacing = lps_spacing(image)
    meta = {
        "source_kind": kind,
        "series_uid": series_uid or None,
        "modality": modality,
        "orientation": "LPS: slice indices count along S (axial), P (coronal), L (sagittal)",
        "spacing_mm": {"S": spacing[0], "P": spacing[1], "L": spacing[2]},
        "volume_shape": {
            ax: int(image.GetSize()[2 - a]) for ax, a in zip("SPL", lps_axes(image)[0], strict=True)
        },
        "mask_labels": list(cfg.mask_labels),
        "crop": cfg.crop,
        "field_of_view_mm": cfg.field_of_view_mm if cfg.crop == "fixed_fov" else None,
        "mm_per_pixel": round(cfg.field_of_view_mm / cfg.image_size, 6) if cfg.crop == "fixed_fov" else None,
        "intensity": intensity,
        "planes": {
            p.plane: {
                "file": f"{p.plane}.png",
                "slice_index": p.slice_index,
                "diameter_mm": round(p.diameter_mm, 4),
                "pixel_spacing_mm": [float(v) for v in p.pixel_spacing_mm],
                "crop_box": p.crop_box,
                "mm_per_pixel": p.crop_box["output_pixel_mm"],
            }
            for p in planes
        },
    }
    return {p.plane: p.pixels for p in planes}, meta


def _images_meta(patient_id: str, rows: list[dict[str, Any]], cfg: RadiologyConfig) -> tuple[dict, dict]:
    images, planes = {}, {}
    for row in rows:
        plane = (row.get("plane") or "").strip().lower()
        if plane not in PLANE_AXIS:
            raise MmdlmError(
                f"an image row needs a plane (axial, coronal or sagittal), got {plane or '(empty)'!r}",
                file=row["path"],
                patient=patient_id,
                field="plane",
            )
        if plane in images:
            raise MmdlmError(
                f"two images for the {plane} plane ({planes[plane]['_path']} and this one)",
                file=row["path"],
                patient=patient_id,
                field="plane",
            )
        pixels, info = read_ready_image(
            row["path"], cfg, modality=row.get("modality") or None, patient_id=patient_id
        )
        images[plane] = pixels
        planes[plane] = {
            "file": f"{plane}.png",
            "slice_index": None,
            "diameter_mm": None,
            "modality": info.get("modality") or (row.get("modality") or "").upper(),
            **info,
            "_path": row["path"],
        }
    for info in planes.values():
        info.pop("_path")
    modalities = {p["modality"] for p in planes.values() if p["modality"]}
    meta = {
        "source_kind": "image",
        "series_uid": None,
        "modality": "/".join(sorted(modalities)),
        "planes": {p: planes[p] for p in PLANE_AXIS if p in planes},
    }
    return {p: images[p] for p in PLANE_AXIS if p in images}, meta


def extract_patient(
    patient_id: str,
    rows: pd.DataFrame,
    out_dir: str | Path,
    cfg: RadiologyConfig,
    *,
    params: str | None = None,
) -> dict[str, Any]:
    """Write RAD/<patient_id>/ from the patient's radiology rows; returns {status, planes, source_kind}.

    A volume row with a mask gives the three planes of maximum tumour diameter; otherwise kind=image rows
    give ready planes; a volume without a mask is skipped with a warning (status 'no_mask').
    Bad input raises MmdlmError naming the patient and file.
    """
    check_patient_id(patient_id)
    records = [{c: ("" if pd.isna(v) else str(v)) for c, v in r.items()} for r in rows.to_dict("records")]
    volumes = [r for r in records if r["kind"] in VOLUME_KINDS]
    with_mask = [r for r in volumes if r.get("mask_path")]
    images = [r for r in records if r["kind"] == "image"]
    unknown = [r for r in records if r["kind"] not in (*VOLUME_KINDS, "image")]
    if unknown:
        raise MmdlmError(
            f"unknown kind {unknown[0]['kind']!r} (dicom_series, nifti or image)",
            file=unknown[0]["path"],
            patient=patient_id,
            field="kind",
        )
    if with_mask:
        if len(with_mask) > 1:
            warn(
                f"{len(with_mask)} volumes with a mask; using the first",
                file=with_mask[0]["path"],
                patient=patient_id,
            )
        if images:
            warn(f"{len(images)} ready image row(s) ignored: a masked volume is used", patient=patient_id)
        pictures, meta = _volume_meta(patient_id, with_mask[0], cfg)
    elif images:
        if volumes:
            warn(
                f"{len(volumes)} volume(s) without a tumour mask ignored: ready images are used",
                file=volumes[0]["path"],
                patient=patient_id,
            )
        pictures, meta = _images_meta(patient_id, images, cfg)
    elif volumes:
        warn(
            "volume without a tumour mask: planes of maximum diameter cannot be chosen; patient skipped "
            "(give mask_path, or kind=image rows with a plane)",
            file=volumes[0]["path"],
            patient=patient_id,
        )
        return {"status": "no_mask", "planes": 0, "source_kind": volumes[0]["kind"]}
    else:
        raise MmdlmError("no radiology rows", patient=patient_id)
    meta = {
        "format_version": FORMAT_VERSION,
        "patient_id": patient_id,
        **meta,
        "image_size": cfg.image_size,
        "margin_mm": cfg.margin_mm,
        "params_hash": params or params_hash(rows, cfg),
    }
    write_patient(Path(out_dir), patient_id, pictures, meta)
    return {"status": "done", "planes": len(pictures), "source_kind": meta["source_kind"]}


def check_radiology_table(radiology: pd.DataFrame) -> pd.DataFrame:
    """The radiology table as strings with every column present (plane, mask_path may be missing/empty)."""
    missing = [c for c in ("patient_id", "path", "kind") if c not in radiology.columns]
    if missing:
        raise MmdlmError("radiology table lacks columns", field=",".join(missing))
    table = radiology.copy()
    for col in RADIOLOGY_COLUMNS:
        if col not in table.columns:
            table[col] = ""
    table = table[list(RADIOLOGY_COLUMNS)].fillna("").astype(str)
    for i, pid in enumerate(table["patient_id"]):
        if not pid.strip():
            raise MmdlmError("empty patient_id", row=i + 2, field="patient_id")
        check_patient_id(pid)
    return table


def _run_one(
    pid: str, rows: pd.DataFrame, out_dir: Path, cfg: RadiologyConfig, force: bool
) -> dict[str, Any]:
    ph = params_hash(rows, cfg)
    meta = read_meta(id_path(out_dir, pid, field="patient_id"))
    if not force and meta is not None and meta.get("params_hash") == ph:
        return {
            "patient_id": pid,
            "status": "fresh",
            "planes": len(meta.get("planes", {})),
            "source_kind": meta.get("source_kind"),
            "warnings": [],
        }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RadiologyWarning)
        try:
            res = extract_patient(pid, rows, out_dir, cfg, params=ph)
        except MmdlmError as exc:
            res = {"status": "failed", "planes": 0, "reason": exc.one_line()}
    res["warnings"] = [str(w.message) for w in caught if issubclass(w.category, RadiologyWarning)]
    return {"patient_id": pid, **res}


def _patient_job(args: tuple[str, pd.DataFrame, Path, RadiologyConfig, bool]) -> ItemResult:
    """One executor task: a patient's planes (what _run_one returns) as the store stage's typed result."""
    res = _run_one(*args)
    fields = {k: v for k, v in res.items() if k not in ("patient_id", "status", "reason", "warnings")}
    return ItemResult(res["patient_id"], res["status"], res.get("reason"), res["warnings"], fields=fields)


def _patient_lost(
    job: tuple[str, pd.DataFrame, Path, RadiologyConfig, bool], error: WorkerLost
) -> ItemResult:
    pid = job[0]
    return ItemResult(pid, "failed", f"patient {pid}: radiology process died ({error})", fields={"planes": 0})


def _patient_key(job: tuple[str, pd.DataFrame, Path, RadiologyConfig, bool]) -> str:
    return job[0]


#: Plane extraction as a store stage (mmdlm.stores.runner): one job per patient.
RADIOLOGY_STAGE: StoreStage = StoreStage(
    label="radiology",
    title="radiology",
    what="radiology folder",
    run=_patient_job,
    key=_patient_key,
    lost=_patient_lost,
)


def extract_cohort(
    radiology: pd.DataFrame,
    out_dir: str | Path,
    cfg: RadiologyConfig,
    *,
    progress: bool = False,
    force: bool = False,
    executor: ExecutorConfig | None = None,
) -> dict[str, Any]:
    """Extract every patient of a radiology table (manifest radiology.csv) into the store `out_dir`.

    Patients whose inputs and config are unchanged since the last run are kept (status 'fresh') unless
    `force`. Per-patient input problems are recorded as failures (with reasons) and warnings; the summary
    (also RAD/summary.json) holds counts, failures and warnings. Patients run on `executor` (None: here, one
    after another).
    """
    out_dir = Path(out_dir)
    table = check_radiology_table(radiology)
    groups = {pid: g for pid, g in table.groupby("patient_id", sort=False)}
    jobs = [(pid, rows, out_dir, cfg, force) for pid, rows in groups.items()]

    def finish(results: list[ItemResult], ran_on: dict[str, Any], seconds: float) -> dict[str, Any]:
        index: list[dict[str, Any]] = []
        for res in results:
            if res.kept:
                meta = read_meta(out_dir / res.key)
                if meta is not None:
                    index.extend(index_rows(meta))
        write_index(out_dir, index)
        return _summarise(results, index, cfg, seconds)

    resources = executor.resources.radiology if executor is not None else None
    return run_store_stage(
        RADIOLOGY_STAGE, out_dir, jobs, finish, summary_name=SUMMARY_NAME, executor=executor,
        resources=resources, progress=progress,
    )


def _summarise(
    results: list[ItemResult], index: list[dict[str, Any]], cfg: RadiologyConfig, seconds: float
) -> dict[str, Any]:
    """RAD/summary.json (docs/formats/radiology.md)."""
    kept = [r for r in results if r.kept]
    return {
        "format_version": FORMAT_VERSION,
        "patients": len(results),
        "counts": {s: sum(r.status == s for r in results) for s in ("done", "fresh", "no_mask", "failed")},
        "images": len(index),
        "planes": {p: sum(r["plane"] == p for r in index) for p in PLANE_AXIS},
        "from_volume": sum(r.fields.get("source_kind") in VOLUME_KINDS for r in kept),
        "from_images": sum(r.fields.get("source_kind") == "image" for r in kept),
        "failed": [{"patient_id": r.key, "reason": r.reason} for r in results if r.status == "failed"],
        "warnings": [w for r in results for w in r.warnings],
        "config": cfg.model_dump(mode="json"),
        "seconds": round(seconds, 3),
    }

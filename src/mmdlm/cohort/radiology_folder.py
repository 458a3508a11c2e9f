"""Radiology folder -> radiology table, TCIA layout (patient/study/series/*.dcm) or NIfTI / image files.

A folder that directly holds DICOM files is one series candidate; only headers are read (pydicom,
`stop_before_pixels`), never pixels, and no identifying attribute leaves this module (PatientID is used
only to match a patient when the path does not). A NIfTI file named `tumour_mask.nii.gz` /
`tumor_mask.nii.gz`, or containing `mask` or `seg`, is the patient's tumour mask (`mask_path` on each
of that patient's rows).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.cohort.matching import Mapping, match_patient
from mmdlm.cohort.walk import link_warnings, walk_files
from mmdlm.errors import MmdlmError

RADIOLOGY_COLUMNS: tuple[str, ...] = ("patient_id", "path", "kind", "modality", "plane", "mask_path")
KINDS: tuple[str, ...] = ("dicom_series", "nifti", "image")
IMAGE_MODALITIES: tuple[str, ...] = ("CT", "MR")
PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")
PREFERRED_MASK_NAMES: tuple[str, ...] = (
    "tumour_mask.nii.gz",
    "tumor_mask.nii.gz",
    "tumour_mask.nii",
    "tumor_mask.nii",
)
_IMAGE_EXT = (".png", ".jpg", ".jpeg")
_HEADER_TAGS = ("Modality", "SeriesInstanceUID", "ImageOrientationPatient", "PatientID")


@dataclass
class RadiologyScan:
    """Result of scanning a radiology folder."""

    table: pd.DataFrame
    unmatched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_modalities: dict[str, int] = field(default_factory=dict)


def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def is_mask_name(path: Path) -> bool:
    """True for tumour_mask.nii(.gz) and NIfTI names containing 'mask' or 'seg'."""
    name = path.name.lower()
    return _is_nifti(path) and (name in PREFERRED_MASK_NAMES or "mask" in name or "seg" in name)


def _looks_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:  # any other name (TCIA 1-001.dcm, bare UIDs, 'CT.1.2.840...'): DICOM Part 10 preamble + 'DICM'
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def plane_from_orientation(iop: object) -> str:
    """Plane of a slice from ImageOrientationPatient (row and column direction cosines): the axis of the
    slice normal decides (z axial, y coronal, x sagittal); '' when absent or degenerate."""
    try:
        v = np.asarray([float(x) for x in iop], dtype=float)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return ""
    if v.shape != (6,):
        return ""
    normal = np.abs(np.cross(v[:3], v[3:]))
    if not np.isfinite(normal).all() or normal.max() < 1e-6:
        return ""
    return ("sagittal", "coronal", "axial")[int(np.argmax(normal))]


def _read_series_header(files: list[Path]) -> tuple[str, str, str, int]:
    """(modality, plane, patient id tag, distinct SeriesInstanceUIDs) from the headers of the folder's first,
    middle and last file (sorted by name): ingest stays O(folders) on a TCIA download of 100k slices."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    uids: set[str] = set()
    modality = plane = pid = ""
    sample = files if len(files) <= 3 else [files[0], files[len(files) // 2], files[-1]]
    for f in sample:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=list(_HEADER_TAGS))
        except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
            raise MmdlmError(f"unreadable DICOM header ({exc.__class__.__name__})", file=f) from None
        uids.add(str(ds.get("SeriesInstanceUID", "")))
        if not modality:
            modality = str(ds.get("Modality", "")).upper()
            plane = plane_from_orientation(ds.get("ImageOrientationPatient"))
            pid = str(ds.get("PatientID", ""))
    return modality, plane, pid, len(uids)


def _nifti_modality(path: Path, default: str) -> tuple[str, bool]:
    tokens = path.name.lower().replace("-", "_").replace(".", "_").split("_")
    if any(t in ("mr", "mri", "t1", "t2", "t1w", "t2w", "flair", "dwi") for t in tokens):
        return "MR", False
    if "ct" in tokens:
        return "CT", False
    return default, True


def _image_plane(path: Path) -> str:
    name = path.name.lower()
    for plane, words in (
        ("axial", ("axial", "transversal", "transverse")),
        ("coronal", ("coronal",)),
        ("sagittal", ("sagittal",)),
    ):
        if any(w in name for w in words):
            return plane
    return ""


def _choose_mask(masks: list[Path]) -> Path | None:
    preferred = [m for m in masks if m.name.lower() in PREFERRED_MASK_NAMES]
    if len(preferred) == 1:
        return preferred[0]
    if len(masks) == 1:
        return masks[0]
    return None


def scan_radiology(
    root: str | Path, patients: set[str], mapping: Mapping | None = None, nifti_default_modality: str = "CT"
) -> RadiologyScan:
    """Series candidates and masks below `root`, matched to patients (path components first, then the
    mapping, then the DICOM PatientID); non-CT/MR DICOM series are skipped and counted."""
    root = Path(root)
    if not root.is_dir():
        raise MmdlmError("radiology folder not found", file=root)
    dicom_dirs: dict[Path, list[Path]] = {}
    volumes: list[Path] = []
    images: list[Path] = []
    masks: list[Path] = []
    walk = walk_files(root)
    for path in walk.files:
        rel = path.relative_to(root)
        if any(p.startswith(".") for p in rel.parts) or not path.is_file():
            continue
        if _is_nifti(path):
            (masks if is_mask_name(path) else volumes).append(path)
        elif path.suffix.lower() in _IMAGE_EXT:
            images.append(path)
        elif _looks_dicom(path):
            dicom_dirs.setdefault(path.parent, []).append(path)

    rows: list[dict[str, str]] = []
    unmatched: list[str] = []
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    assumed = 0
    for folder, files in sorted(dicom_dirs.items()):
        rel = folder.relative_to(root).as_posix()
        modality, plane, tag_pid, n_series = _read_series_header(files)
        pid = match_patient(rel, patients, mapping, extra=(tag_pid,))
        if pid is None:
            unmatched.append(os.path.abspath(folder))
            continue
        if modality not in IMAGE_MODALITIES:
            skipped[modality or "(none)"] += 1
            continue
        if n_series > 1:
            warnings.append(f"{folder}: one folder holds {n_series} DICOM series (kept as one candidate)")
        rows.append(
            {
                "patient_id": pid,
                "path": os.path.abspath(folder),
                "kind": "dicom_series",
                "modality": modality,
                "plane": plane,
                "mask_path": "",
            }
        )
    for path in volumes + images:
        pid = match_patient(path.relative_to(root).as_posix(), patients, mapping)
        if pid is None:
            unmatched.append(os.path.abspath(path))
            continue
        modality, was_assumed = _nifti_modality(path, nifti_default_modality)
        assumed += was_assumed
        volume = path in volumes  # a 3D volume, else a 2D image of one plane
        rows.append({"patient_id": pid, "path": os.path.abspath(path), "kind": "nifti" if volume else "image",
                     "modality": modality, "plane": "" if volume else _image_plane(path), "mask_path": ""})
    if assumed:
        warnings.append(
            f"{assumed} NIfTI/image file(s) name neither CT nor MR: modality "
            f"{nifti_default_modality} assumed (ingest.nifti_default_modality)"
        )

    by_patient: dict[str, list[Path]] = {}
    for m in masks:
        pid = match_patient(m.relative_to(root).as_posix(), patients, mapping)
        if pid is None:
            unmatched.append(os.path.abspath(m))
            continue
        by_patient.setdefault(pid, []).append(m)
    table = pd.DataFrame(rows, columns=list(RADIOLOGY_COLUMNS))
    with_images = set(table["patient_id"])
    for pid, found in sorted(by_patient.items()):
        chosen = _choose_mask(found)
        if chosen is None:
            warnings.append(
                f"patient {pid}: {len(found)} candidate masks, none named tumour_mask.nii.gz; "
                "mask_path left empty"
            )
            continue
        if pid not in with_images:
            warnings.append(f"patient {pid}: tumour mask {chosen} but no image series")
            continue
        table.loc[table["patient_id"] == pid, "mask_path"] = os.path.abspath(chosen)
    if skipped:
        warnings.append(
            "DICOM series of other modalities skipped: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
        )
    if unmatched:
        warnings.append(
            f"{len(unmatched)} radiology file(s)/series match no patient (listed under unmatched.radiology)"
        )
    warnings += link_warnings(walk, "radiology")
    if table.empty and not unmatched:
        warnings.append(f"no DICOM series or NIfTI volumes found in {root}")
    return RadiologyScan(
        table=table, unmatched=sorted(unmatched), warnings=warnings, skipped_modalities=dict(skipped)
    )

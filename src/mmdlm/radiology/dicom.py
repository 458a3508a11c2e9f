"""DICOM series and single DICOM slices -> SimpleITK images in physical units (HU for CT).

pydicom reads and decodes the files (JPEG 2000 via pylibjpeg-openjpeg); the geometry comes from
ImagePositionPatient / ImageOrientationPatient / PixelSpacing. Only two non-identifying attributes travel
with the image (SeriesInstanceUID, Modality) as SimpleITK metadata; nothing identifying is ever copied.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import InvalidDicomError

from mmdlm.errors import MmdlmError
from mmdlm.radiology.warn import warn

#: SimpleITK metadata keys (DICOM tags) that read_dicom_series sets; nothing else is carried over.
SERIES_UID_KEY = "0020|000e"
MODALITY_KEY = "0008|0060"


@dataclass(frozen=True)
class _Slice:
    path: Path
    series_uid: str
    position: np.ndarray  # ImagePositionPatient (mm)
    orientation: np.ndarray  # ImageOrientationPatient (6 direction cosines)
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing) in mm
    shape: tuple[int, int]  # (Rows, Columns)


def _is_candidate(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.name.upper() != "DICOMDIR"


def _float_list(ds: pydicom.Dataset, keyword: str, n: int, path: Path, patient: str | None) -> np.ndarray:
    value = ds.get(keyword)
    try:
        arr = np.asarray([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise MmdlmError(
            f"missing or malformed {keyword} (need {n} numbers)", file=path, patient=patient, field=keyword
        )
    return arr


def _read_header(path: Path, patient: str | None) -> _Slice | None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, OSError, ValueError):
        if path.suffix.lower() == ".dcm":
            raise MmdlmError("not a readable DICOM file", file=path, patient=patient) from None
        warn("not a DICOM file; ignored", file=path, patient=patient)
        return None
    if "Rows" not in ds and "ImagePositionPatient" not in ds:  # (stop_before_pixels: no PixelData here)
        warn("DICOM file without an image (e.g. a report or DICOMDIR); ignored", file=path, patient=patient)
        return None
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        raise MmdlmError(
            "multi-frame DICOM is not supported; export the series as one file per slice",
            file=path,
            patient=patient,
            field="NumberOfFrames",
        )
    spacing = _float_list(ds, "PixelSpacing", 2, path, patient)
    if np.any(spacing <= 0):
        raise MmdlmError("PixelSpacing must be positive", file=path, patient=patient, field="PixelSpacing")
    return _Slice(
        path=path,
        series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        position=_float_list(ds, "ImagePositionPatient", 3, path, patient),
        orientation=_float_list(ds, "ImageOrientationPatient", 6, path, patient),
        pixel_spacing=(float(spacing[0]), float(spacing[1])),
        shape=(int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)),
    )


def _choose_series(
    groups: dict[str, list[_Slice]], folder: Path, patient: str | None, rule: str
) -> list[_Slice]:
    if len(groups) == 1:
        return next(iter(groups.values()))
    described = "; ".join(f"{uid or '(no SeriesInstanceUID)'}: {len(s)} files" for uid, s in groups.items())
    if rule != "largest":
        raise MmdlmError(
            f"folder holds {len(groups)} DICOM series ({described}); point the manifest at one series folder "
            "or set radiology.multi_series: largest",
            file=folder,
            patient=patient,
            field="SeriesInstanceUID",
        )
    uid, chosen = max(groups.items(), key=lambda kv: (len(kv[1]), kv[0]))
    warn(
        f"folder holds {len(groups)} DICOM series ({described}); using the largest, {uid}",
        file=folder,
        patient=patient,
    )
    return chosen


def _pixels(path: Path, patient: str | None) -> tuple[np.ndarray, pydicom.Dataset]:
    """Decoded pixels of one file with the modality LUT (RescaleSlope/Intercept) applied, as float32."""
    from pydicom.pixels import apply_modality_lut

    try:
        ds = pydicom.dcmread(path)
        raw = ds.pixel_array
    except Exception as exc:  # decoders raise many types; the user's file is at fault
        raise MmdlmError(
            f"cannot decode pixel data ({exc.__class__.__name__}: {exc})".splitlines()[0],
            file=path,
            patient=patient,
            field="PixelData",
        ) from None
    return np.asarray(apply_modality_lut(raw, ds), dtype=np.float32), ds


def read_dicom_series(
    folder: str | Path,
    patient_id: str | None = None,
    *,
    multi_series: str = "error",
    max_gap_factor: float = 1.5,
) -> sitk.Image:
    """Read the one DICOM series in `folder` (searched recursively) as a 3D image in HU / scanner units.

    Slices are sorted by ImagePositionPatient projected on the slice normal; RescaleSlope/Intercept are
    applied; spacing, origin and direction come from the headers. Several series, missing slices (a gap over
    `max_gap_factor` x the median spacing) or inconsistent slices raise MmdlmError naming patient and file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MmdlmError("DICOM series folder not found", file=folder, patient=patient_id, field="path")
    headers = [
        h for p in sorted(folder.rglob("*")) if _is_candidate(p) and (h := _read_header(p, patient_id))
    ]
    if not headers:
        raise MmdlmError("no DICOM image files in folder", file=folder, patient=patient_id, field="path")
    groups: dict[str, list[_Slice]] = defaultdict(list)
    for h in headers:
        groups[h.series_uid].append(h)
    slices = _choose_series(dict(groups), folder, patient_id, multi_series)

    first = slices[0]
    for s in slices[1:]:
        for field, a, b in (
            ("ImageOrientationPatient", s.orientation, first.orientation),
            ("PixelSpacing", np.asarray(s.pixel_spacing), np.asarray(first.pixel_spacing)),
        ):
            if not np.allclose(a, b, atol=1e-4):
                raise MmdlmError(
                    f"{field} differs from {first.path.name} within one series",
                    file=s.path,
                    patient=patient_id,
                    field=field,
                )
        if s.shape != first.shape:
            raise MmdlmError(
                f"Rows/Columns {s.shape} differ from {first.shape} of {first.path.name}",
                file=s.path,
                patient=patient_id,
                field="Rows",
            )
    row_dir, col_dir = first.orientation[:3], first.orientation[3:]
    normal = np.cross(row_dir, col_dir)
    if not np.isclose(np.linalg.norm(normal), 1.0, atol=1e-3):
        raise MmdlmError(
            "ImageOrientationPatient is not two orthogonal unit vectors",
            file=first.path,
            patient=patient_id,
            field="ImageOrientationPatient",
        )
    slices = sorted(slices, key=lambda s: float(s.position @ normal))
    depth = np.array([float(s.position @ normal) for s in slices])
    if len(slices) > 1:
        gaps = np.diff(depth)
        for i in np.flatnonzero(gaps < 1e-3):
            raise MmdlmError(
                f"two slices at the same position ({slices[i].path.name} and {slices[i + 1].path.name})",
                file=slices[i + 1].path,
                patient=patient_id,
                field="ImagePositionPatient",
            )
        spacing_z = float(np.median(gaps))
        for i in np.flatnonzero(gaps > max_gap_factor * spacing_z):
            raise MmdlmError(
                f"missing slice(s): gap of {gaps[i]:.3g} mm before this slice, "
                f"median spacing {spacing_z:.3g} mm",
                file=slices[i + 1].path,
                patient=patient_id,
                field="ImagePositionPatient",
            )
    else:
        spacing_z = 1.0
        warn("series has a single slice", file=first.path, patient=patient_id)

    volume = np.empty((len(slices), *first.shape), dtype=np.float32)
    modality = ""
    for i, s in enumerate(slices):
        arr, ds = _pixels(s.path, patient_id)
        if arr.shape != first.shape:
            raise MmdlmError(
                f"pixel data shape {arr.shape} is not Rows x Columns",
                file=s.path,
                patient=patient_id,
                field="PixelData",
            )
        volume[i] = arr
        modality = modality or str(ds.get("Modality", "") or "")
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((first.pixel_spacing[1], first.pixel_spacing[0], spacing_z))
    image.SetOrigin(tuple(float(v) for v in slices[0].position))
    image.SetDirection(tuple(float(v) for v in np.column_stack([row_dir, col_dir, normal]).ravel()))
    image.SetMetaData(SERIES_UID_KEY, first.series_uid)
    image.SetMetaData(MODALITY_KEY, modality)
    return image


@dataclass(frozen=True)
class Slice2D:
    """One 2D image: pixels (HU for CT), spacing (row, column) in mm, modality, MONOCHROME1 flag."""

    pixels: np.ndarray
    spacing: tuple[float, float]
    modality: str
    inverted: bool = False


def read_dicom_slice(path: str | Path, patient_id: str | None = None) -> Slice2D:
    """One single-frame DICOM image with its modality LUT applied (HU for CT)."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("DICOM file not found", file=path, patient=patient_id, field="path")
    try:
        pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, OSError, ValueError):
        raise MmdlmError("not a readable DICOM file", file=path, patient=patient_id, field="path") from None
    arr, ds = _pixels(path, patient_id)
    if arr.ndim == 3 and str(ds.get("PhotometricInterpretation", "")).startswith(("RGB", "YBR")):
        arr = arr[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if arr.ndim != 2:
        raise MmdlmError(
            f"expected one 2D slice, got pixel data of shape {arr.shape}",
            file=path,
            patient=patient_id,
            field="NumberOfFrames",
        )
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing") or (1.0, 1.0)
    return Slice2D(
        pixels=arr,
        spacing=(float(spacing[0]), float(spacing[1])),
        modality=str(ds.get("Modality", "") or ""),
        inverted=str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1",
    )

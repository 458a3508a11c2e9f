"""Fixtures for mmdlm.radiology: small DICOM series written with pydicom, phantoms, masks, tiny cohorts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

#: Identifying attributes written into test DICOM files; none may reach any output.
IDENTITY = {
    "PatientName": "Doe^Jane^Quincy",
    "PatientID": "HOSPMRN-4455-77",
    "PatientBirthDate": "19610203",
    "PatientAddress": "12 Secretive Lane, Springfield",
    "InstitutionName": "Saint Example Hospital",
    "OtherPatientIDs": "OTHERID-998877",
}


def write_series(
    folder: Path,
    hu_zyx: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (2.0, 1.5, 3.0),  # (column/x, row/y, slice) mm
    origin: tuple[float, float, float] = (-40.0, -30.0, 100.0),
    series_uid: str | None = None,
    modality: str = "CT",
    slope: float = 1.0,
    intercept: float = -1024.0,
    identity: dict[str, str] | None = None,
    skip: tuple[int, ...] = (),
    names: str = "shuffled",
) -> str:
    """Write a volume (numpy [z, y, x], HU) as one uncompressed DICOM file per slice; returns the series UID.

    Axial, identity orientation; slice k at origin_z + k * spacing[2]. Files are named in shuffled order so
    the reader must sort by position. Slices in `skip` are left out (a missing slice).
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid(entropy_srcs=[str(folder), "series"])
    study_uid = generate_uid(entropy_srcs=[str(folder), "study"])
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    stored = np.round((hu_zyx - intercept) / slope).astype(np.int16)
    order = (
        np.random.default_rng(0).permutation(len(stored)) if names == "shuffled" else np.arange(len(stored))
    )
    for k in range(len(stored)):
        if k in skip:
            continue
        sop_uid = generate_uid(entropy_srcs=[series_uid, str(k)])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.Modality = modality
        for key, value in (identity or {}).items():
            setattr(ds, key, value)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.SliceThickness = spacing[2]
        ds.InstanceNumber = k + 1
        ds.Rows, ds.Columns = stored.shape[1:]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = stored[k].tobytes()
        ds.save_as(folder / f"IM{order[k]:04d}.dcm", enforce_file_format=True)
    return series_uid


def phantom(shape: tuple[int, int, int] = (20, 40, 48), centre=(9.0, 18.0, 25.0), radii=(5.0, 9.0, 12.0)):
    """(HU, tumour mask) numpy [z, y, x]: soft-tissue body, an ellipsoidal 120 HU tumour (radii in voxels)."""
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((y - shape[1] / 2) / (shape[1] * 0.48)) ** 2 + ((x - shape[2] / 2) / (shape[2] * 0.48)) ** 2 <= 1
    tumour = sum(((a - c) / r) ** 2 for a, c, r in zip((z, y, x), centre, radii, strict=True)) <= 1
    hu = np.where(body, 40.0, -1000.0) + np.where(tumour, 80.0, 0.0)
    hu = np.broadcast_to(hu, shape).astype(np.float32)
    return hu, np.broadcast_to(tumour, shape).astype(np.uint8)


def mask_image(mask_zyx: np.ndarray, spacing, origin, label: int = 1) -> sitk.Image:
    """The mask as a SimpleITK image with the given axial geometry (identity direction)."""
    img = sitk.GetImageFromArray((mask_zyx > 0).astype(np.uint8) * label)
    img.SetSpacing(tuple(float(s) for s in spacing))
    img.SetOrigin(tuple(float(o) for o in origin))
    return img


@pytest.fixture
def series_writer() -> Callable[..., str]:
    """write_series (see its docstring)."""
    return write_series


@pytest.fixture
def make_phantom() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """phantom(shape, centre, radii) -> (HU, mask)."""
    return phantom


@pytest.fixture
def make_mask_image() -> Callable[..., sitk.Image]:
    """mask_image(mask_zyx, spacing, origin, label)."""
    return mask_image


@pytest.fixture
def identity() -> dict[str, str]:
    """Identifying DICOM attributes that must never reach an output."""
    return dict(IDENTITY)


@pytest.fixture
def write_cohort() -> Callable[[Path, list[dict[str, str]]], Path]:
    """Write COHORT/patients.csv (one row per patient) and COHORT/radiology.csv from radiology rows."""

    def _write(cohort: Path, rows: list[dict[str, str]]) -> Path:
        import pandas as pd

        cohort.mkdir(parents=True, exist_ok=True)
        ids = list(dict.fromkeys(r["patient_id"] for r in rows))
        pd.DataFrame(
            {
                "patient_id": ids,
                "time": [12.0] * len(ids),
                "event": [1] * len(ids),
                "endpoint": ["DSS"] * len(ids),
            }
        ).to_csv(cohort / "patients.csv", index=False)
        cols = ["patient_id", "path", "kind", "modality", "plane", "mask_path"]
        pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows], columns=cols).to_csv(
            cohort / "radiology.csv", index=False
        )
        return cohort

    return _write

"""A phantom as a DICOM series (TCIA layout) and its tumour mask as NIfTI on exactly the series' grid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

from mmdlm.synth.phantom import Grid

#: Fake identifying attributes written into every file (outputs of later stages must never contain them).
INSTITUTION = "Synthetic Hospital"
CT_INTERCEPT = -1024.0


@dataclass(frozen=True)
class SeriesInfo:
    """Identity and geometry of a written series."""

    study_uid: str
    series_uid: str
    folder: Path
    files: tuple[Path, ...]
    modality: str


def uid(seed: int, *parts: object) -> str:
    """A DICOM UID that depends only on the cohort seed and `parts`."""
    return generate_uid(entropy_srcs=["mmdlm-synth", str(seed), *map(str, parts)])


def identity(index: int, patient_id: str, age: int, sex: str, seed: int) -> dict[str, object]:
    """The fake identifying attributes of patient `index` (deterministic)."""
    rng = np.random.default_rng([seed, 2, index])
    study = dt.date(2004, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3650)))
    birth = study - dt.timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
    return {
        "PatientName": f"SYNTH^{index + 1}",
        "PatientID": patient_id,
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "PatientSex": "M" if sex == "Male" else "F",
        "PatientAge": f"{age:03d}Y",
        "PatientAddress": f"{index + 1} Synthetic Street, Nowhere",
        "OtherPatientIDs": f"MRN{9000000 + index + 1}",
        "InstitutionName": INSTITUTION,
        "StudyDate": study.strftime("%Y%m%d"),
        "StudyTime": f"{8 + int(rng.integers(0, 9)):02d}{int(rng.integers(0, 60)):02d}00",
        "AccessionNumber": f"SYN{index + 1:06d}",
    }


def write_series(
    folder_root: Path,
    volume: np.ndarray,
    grid: Grid,
    modality: str,
    ident: dict[str, object],
    seed: int,
    index: int,
) -> SeriesInfo:
    """Write `volume` ([z, y, x]; HU for CT) as one DICOM file per slice in root/<StudyUID>/<SeriesUID>/."""
    pid = str(ident["PatientID"])
    study_uid = uid(seed, pid, "study")
    series_uid = uid(seed, pid, "series", modality)
    frame_uid = uid(seed, pid, "frame")
    folder = folder_root / study_uid / series_uid
    folder.mkdir(parents=True, exist_ok=True)
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    if modality == "CT":
        stored = np.clip(np.rint(volume - CT_INTERCEPT), 0, 4095).astype(np.uint16)
        bits = 12
    else:
        stored = np.clip(np.rint(volume), 0, 65535).astype(np.uint16)
        bits = 16
    ds = _template(grid, modality, ident, sop_class, bits)
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    files = []
    n = grid.slices
    for k in range(n):
        # InstanceNumber 1 is the most superior slice, as many scanners write it
        z_index = n - 1 - k
        sop_uid = uid(seed, pid, "sop", modality, k)
        ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.SOPInstanceUID = sop_uid
        ds.InstanceNumber = k + 1
        position = (grid.origin[0], grid.origin[1], grid.origin[2] + z_index * grid.slice_mm)
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.SliceLocation = _ds(position[2])
        ds.PixelData = stored[z_index].tobytes()
        path = folder / f"{k + 1}.dcm"
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        files.append(path)
    return SeriesInfo(study_uid, series_uid, folder, tuple(files), modality)


def _ds(v: float) -> str:
    """A DICOM decimal string (at most 16 characters)."""
    return f"{v:.4f}".rstrip("0").rstrip(".")


def _template(
    grid: Grid, modality: str, ident: dict[str, object], sop_class: str, bits: int
) -> pydicom.Dataset:
    """The attributes shared by every slice of a series."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = sop_class
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ident["StudyDate"]
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ident["StudyTime"]
    ds.AccessionNumber = ident["AccessionNumber"]
    ds.Modality = modality
    ds.Manufacturer = "mmdlm synthetic"
    ds.InstitutionName = ident["InstitutionName"]
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "CT ABDOMEN PELVIS W CONTRAST" if modality == "CT" else "MRI ABDOMEN"
    ds.SeriesDescription = "NEPHROGRAPHIC 5mm" if modality == "CT" else "AX T1 SE"
    for key in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "PatientAge",
        "PatientAddress",
        "OtherPatientIDs",
    ):
        setattr(ds, key, ident[key])
    ds.BodyPartExamined = "ABDOMEN"
    ds.SliceThickness = _ds(grid.slice_mm)
    ds.PatientPosition = "HFS"
    ds.StudyID = "1"
    ds.SeriesNumber = 2 if modality == "CT" else 5
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = grid.rows, grid.columns
    ds.PixelSpacing = [_ds(grid.pixel_mm), _ds(grid.pixel_mm)]
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.KVP = "120"
        ds.ContrastBolusAgent = "IV CONTRAST"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.RescaleIntercept = _ds(CT_INTERCEPT)
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
    else:
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = "500"
        ds.EchoTime = "10"
        ds.MagneticFieldStrength = "1.5"
        ds.SpacingBetweenSlices = _ds(grid.slice_mm)
        ds.EchoTrainLength = "1"
    return ds


def grid_image(array_zyx: np.ndarray, grid: Grid) -> sitk.Image:
    """A SimpleITK image of `array_zyx` on the series' grid (origin, spacing, direction from the DICOM)."""
    img = sitk.GetImageFromArray(array_zyx)
    img.SetOrigin(tuple(float(v) for v in grid.origin))
    img.SetSpacing((float(grid.pixel_mm), float(grid.pixel_mm), float(grid.slice_mm)))
    row, col = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])  # ImageOrientationPatient
    normal = np.cross(row, col)
    img.SetDirection(tuple(np.column_stack([row, col, normal]).ravel().tolist()))
    return img


def write_mask(path: Path, mask_zyx: np.ndarray, grid: Grid) -> None:
    """Write the tumour mask as NIfTI via SimpleITK (it converts LPS to the file's RAS)."""
    sitk.WriteImage(grid_image(mask_zyx.astype(np.uint8), grid), str(path), useCompression=True)

"""mmdlm.radiology: DICOM series / NIfTI volumes and tumour masks -> the axial, coronal and sagittal images at
the tumour's maximum diameter (or user-chosen 2D images), in the radiology store (docs/formats/radiology.md).

Public API (imported lazily so `mmdlm.config` stays light):
    read_dicom_series(folder, patient_id=None, *, multi_series="error", max_gap_factor=1.5) -> SimpleITK.Image
    read_dicom_slice(path, patient_id=None) -> Slice2D
    read_volume(path, patient_id=None) -> SimpleITK.Image      (NIfTI/NRRD/MHA file or DICOM folder)
    fit_mask(mask, image, *, labels=(), patient_id=None, mask_file=None, min_fraction=0.5) -> SimpleITK.Image
    mask_diameter_planes(mask, labels=()) -> list[PlaneDiameter]          (mask only, no image)
    max_diameter_planes(image, mask, cfg, *, modality=None, patient_id=None, mask_file=None)
        -> list[PlaneImage]
    max_feret_diameter(region2d, spacing) -> float
    read_ready_image(path, cfg, *, modality=None, patient_id=None) -> (uint8 [S, S], info)
    extract_patient(patient_id, rows, out_dir, cfg) -> dict
    extract_cohort(radiology, out_dir, cfg, *, progress=False, force=False) -> summary dict
    read_index(rad_dir) -> DataFrame
"""

from __future__ import annotations

from mmdlm.lazy import lazy_exports

_EXPORTS = {
    "read_dicom_series": "dicom",
    "read_dicom_slice": "dicom",
    "Slice2D": "dicom",
    "read_volume": "volume",
    "fit_mask": "volume",
    "tumour_mask": "volume",
    "mask_diameter_planes": "planes",
    "max_diameter_planes": "planes",
    "PlaneDiameter": "planes",
    "PlaneImage": "planes",
    "max_feret_diameter": "feret",
    "read_ready_image": "images",
    "extract_patient": "pipeline",
    "extract_cohort": "pipeline",
    "read_index": "store",
    "RadiologyWarning": "warn",
    "RadiologyConfig": "config",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, {name: f"mmdlm.radiology.{module}" for name, module in _EXPORTS.items()})

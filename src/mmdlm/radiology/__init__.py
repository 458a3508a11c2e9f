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

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {
    "dicom": "read_dicom_series read_dicom_slice Slice2D", "volume": "read_volume fit_mask tumour_mask",
    "planes": "mask_diameter_planes max_diameter_planes PlaneDiameter PlaneImage",
    "feret": "max_feret_diameter", "images": "read_ready_image", "pipeline": "extract_patient extract_cohort",
    "store": "read_index",
    "warn": "RadiologyWarning", "config": "RadiologyConfig",
})

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)

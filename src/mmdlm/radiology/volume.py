"""Volumes and tumour masks: read (NIfTI or DICOM), select tumour labels, fit a mask onto its image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from mmdlm.errors import MmdlmError
from mmdlm.radiology.dicom import read_dicom_series
from mmdlm.radiology.warn import warn

_GEOMETRY_TOL = 1e-4


def read_volume(path: str | Path, patient_id: str | None = None) -> sitk.Image:
    """A 3D volume from a NIfTI/NRRD/MHA file (SimpleITK) or a DICOM series folder."""
    path = Path(path)
    if path.is_dir():
        return read_dicom_series(path, patient_id)
    if not path.is_file():
        raise MmdlmError("volume file not found", file=path, patient=patient_id, field="path")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise MmdlmError(
            f"cannot read volume ({first[:160]})", file=path, patient=patient_id, field="path"
        ) from None
    if image.GetDimension() == 4 and image.GetSize()[3] == 1:
        image = image[:, :, :, 0]
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise MmdlmError(
            f"expected a 3D scalar volume, got {image.GetDimension()}D with "
            f"{image.GetNumberOfComponentsPerPixel()} component(s)",
            file=path,
            patient=patient_id,
        )
    return image


def select_labels(values: np.ndarray, labels: Sequence[int] = ()) -> np.ndarray:
    """Boolean array: voxels whose value is one of `labels`, or any nonzero voxel when `labels` is empty."""
    if not len(labels):
        return values != 0
    sel = values == labels[0]
    for label in labels[1:]:
        sel |= values == label
    return sel


def tumour_mask(mask: sitk.Image, labels: Sequence[int] = ()) -> sitk.Image:
    """0/1 uint8 image (same geometry) of the voxels whose value is in `labels` (any nonzero when empty)."""
    arr = sitk.GetArrayViewFromImage(mask)
    out = sitk.GetImageFromArray(select_labels(arr, labels).astype(np.uint8))
    out.CopyInformation(mask)
    return out


def same_geometry(a: sitk.Image, b: sitk.Image) -> bool:
    """True when both images share size, spacing, origin and direction (within 1e-4)."""
    return (
        a.GetSize() == b.GetSize()
        and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=_GEOMETRY_TOL)
        and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=_GEOMETRY_TOL)
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=_GEOMETRY_TOL)
    )


#: Beyond these a mask's grid is not a resampling of its image's grid (another patient's, another series):
#: spacing by more than 1 % relative, origin by more than one image voxel, extent by more than one voxel.
SPACING_REL_TOL = 0.01


def geometry_difference(mask: sitk.Image, image: sitk.Image) -> str:
    """'' when the mask's grid matches the image's within tolerance, else what differs (origin, spacing,
    extent, direction) in mm, for a warning."""
    ms, im = np.asarray(mask.GetSpacing()), np.asarray(image.GetSpacing())
    voxel = float(im.max())
    extent_m = ms * np.asarray(mask.GetSize())
    extent_i = im * np.asarray(image.GetSize())
    origin_gap = float(np.linalg.norm(np.asarray(mask.GetOrigin()) - np.asarray(image.GetOrigin())))
    parts = []
    if origin_gap > voxel:
        parts.append(f"origins {origin_gap:.1f} mm apart")
    if np.any(np.abs(ms - im) > SPACING_REL_TOL * im):
        parts.append(f"spacing {np.round(ms, 3).tolist()} vs {np.round(im, 3).tolist()} mm")
    if np.any(np.abs(extent_m - extent_i) > voxel):
        parts.append(f"extent {np.round(extent_m, 1).tolist()} vs {np.round(extent_i, 1).tolist()} mm")
    if not np.allclose(mask.GetDirection(), image.GetDirection(), atol=1e-3):
        parts.append("direction differs")
    return ", ".join(parts)


def _physical_corners(image: sitk.Image, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
    """The 8 physical corners (voxel edges, not centres) of the index box [lo, hi] (inclusive)."""
    corners = []
    for ix in (lo[0] - 0.5, hi[0] + 0.5):
        for iy in (lo[1] - 0.5, hi[1] + 0.5):
            for iz in (lo[2] - 0.5, hi[2] + 0.5):
                corners.append(image.TransformContinuousIndexToPhysicalPoint((ix, iy, iz)))
    return np.asarray(corners)


def fit_mask(
    mask: sitk.Image,
    image: sitk.Image,
    *,
    labels: Sequence[int] = (),
    patient_id: str | None = None,
    mask_file: str | Path | None = None,
    min_fraction: float = 0.5,
    image_file: str | Path | None = None,
) -> sitk.Image:
    """The tumour (selected labels) of `mask` on `image`'s voxel grid, as 0/1 uint8.

    Same geometry: used as is. Otherwise resampled (nearest neighbour); a mask whose tumour lies outside the
    image is refused, one partly outside is refused below `min_fraction` of its tumour volume and
    warned above.
    An empty tumour raises MmdlmError naming patient and file.
    """
    if mask.GetDimension() != 3:
        raise MmdlmError(f"mask must be 3D, got {mask.GetDimension()}D", file=mask_file, patient=patient_id)
    tumour = tumour_mask(mask, labels)
    which = f"labels {list(labels)}" if len(labels) else "nonzero voxels"
    n_tumour = int(sitk.GetArrayViewFromImage(tumour).sum())
    if n_tumour == 0:
        raise MmdlmError(
            f"mask has no tumour ({which})", file=mask_file, patient=patient_id, field="mask_path"
        )
    if same_geometry(tumour, image):
        return tumour
    nz = np.argwhere(sitk.GetArrayViewFromImage(tumour))[:, ::-1]  # (x, y, z) indices
    t_corners = _physical_corners(tumour, nz.min(0).tolist(), nz.max(0).tolist())
    size = image.GetSize()
    i_corners = _physical_corners(image, (0, 0, 0), [s - 1 for s in size])
    # Overlap test in the image's index space: where do the tumour box corners fall?
    idx = np.asarray([image.TransformPhysicalPointToContinuousIndex(tuple(c)) for c in t_corners])
    if np.any(idx.max(0) < -0.5) or np.any(idx.min(0) > np.asarray(size) - 0.5):
        raise MmdlmError(
            "mask does not overlap its image: tumour box "
            f"{np.round(t_corners.min(0), 1).tolist()}..{np.round(t_corners.max(0), 1).tolist()} mm, image "
            f"{np.round(i_corners.min(0), 1).tolist()}..{np.round(i_corners.max(0), 1).tolist()} mm",
            file=mask_file,
            patient=patient_id,
            field="mask_path",
        )
    differs = geometry_difference(tumour, image)
    if differs:
        warn(
            f"mask geometry differs from its image ({differs}): resampled onto the image grid; check "
            f"that the mask belongs to this image{f' ({image_file})' if image_file else ''}",
            file=mask_file,
            patient=patient_id,
        )
    resampled = sitk.Resample(tumour, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    # Fraction kept, in physical volume (voxel sizes differ between the grids).
    kept_mm3 = float(sitk.GetArrayViewFromImage(resampled).sum()) * float(np.prod(image.GetSpacing()))
    total_mm3 = n_tumour * float(np.prod(tumour.GetSpacing()))
    fraction = kept_mm3 / total_mm3
    if kept_mm3 == 0 or fraction < min_fraction:
        raise MmdlmError(
            f"mask does not fit its image: only {fraction:.0%} of the tumour volume falls inside the "
            "image grid",
            file=mask_file,
            patient=patient_id,
            field="mask_path",
        )
    if fraction < 0.95:
        warn(
            f"{1 - fraction:.0%} of the tumour volume lies outside the image and is ignored",
            file=mask_file,
            patient=patient_id,
        )
    return resampled

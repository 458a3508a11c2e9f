"""The axial, coronal and sagittal slices of maximum tumour diameter, and their rendered crops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from mmdlm.errors import MmdlmError
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.dicom import MODALITY_KEY
from mmdlm.radiology.feret import max_feret_diameter
from mmdlm.radiology.orient import PLANE_AXIS, lps_axes, lps_spacing, lps_view, plane_spacing
from mmdlm.radiology.render import crop_square, normalise_range, sample_square, window_ct
from mmdlm.radiology.volume import fit_mask, select_labels
from mmdlm.radiology.warn import warn

#: Planes whose displayed rows are flipped so that superior is at the top.
_FLIP_ROWS = {"axial": False, "coronal": True, "sagittal": True}


@dataclass(frozen=True)
class PlaneDiameter:
    """One plane's slice of maximum tumour diameter; slice_index counts along the LPS-ordered axis."""

    plane: str
    slice_index: int
    diameter_mm: float
    pixel_spacing_mm: tuple[float, float]  # (row, column) spacing of that slice


@dataclass(frozen=True)
class PlaneImage:
    """A rendered plane: 8-bit square pixels (radiological display conventions) and its meta."""

    plane: str
    slice_index: int
    diameter_mm: float
    pixel_spacing_mm: tuple[float, float]
    pixels: np.ndarray
    crop_box: dict[str, Any] = field(default_factory=dict)


def _bbox(sel: np.ndarray) -> tuple[list[int], list[int]]:
    """Inclusive index bounding box of the True voxels of a 3D array."""
    lo, hi = [], []
    for ax in range(3):
        hit = np.flatnonzero(sel.any(axis=tuple(a for a in range(3) if a != ax)))
        lo.append(int(hit[0]))
        hi.append(int(hit[-1]))
    return lo, hi


def tumour_box_lps(sel_zyx: np.ndarray, image: sitk.Image) -> tuple[np.ndarray, list[int]]:
    """The tumour's bounding-box crop of a selection (numpy [z, y, x] of `image`), ordered [S, P, L], and the
    LPS index of the crop's first voxel (cropping first keeps large masks fast)."""
    lo, hi = _bbox(sel_zyx)
    crop = sel_zyx[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1]
    order, flips = lps_axes(image)
    shape = sel_zyx.shape
    start = [shape[n] - 1 - hi[n] if flip else lo[n] for n, flip in zip(order, flips, strict=True)]
    return np.ascontiguousarray(lps_view(crop, image)), start


def _diameters(
    crop_spl: np.ndarray, start: Sequence[int], spacing_spl: tuple[float, float, float]
) -> list[PlaneDiameter]:
    """Per plane, the first slice whose tumour cross-section has the largest max Feret diameter."""
    out = []
    for plane, axis in PLANE_AXIS.items():
        sp = plane_spacing(spacing_spl, plane)
        diam = [max_feret_diameter(np.take(crop_spl, k, axis=axis), sp) for k in range(crop_spl.shape[axis])]
        best = int(np.argmax(diam))
        out.append(PlaneDiameter(plane, int(start[axis]) + best, float(diam[best]), sp))
    return out


def mask_diameter_planes(mask: sitk.Image, labels: Sequence[int] = ()) -> list[PlaneDiameter]:
    """Mask only (no image needed): per plane the slice of maximum in-plane tumour diameter (mm).

    `labels` select the tumour (empty = any nonzero). Slice indices count along the [S, P, L] axes.
    """
    arr = sitk.GetArrayViewFromImage(mask)
    sel = select_labels(arr, labels)
    if not sel.any():
        which = f"labels {list(labels)}" if len(labels) else "nonzero voxels"
        raise MmdlmError(f"mask has no tumour ({which})", field="mask_path")
    crop, start = tumour_box_lps(sel, mask)
    return _diameters(crop, start, lps_spacing(mask))


def image_modality(image: sitk.Image, modality: str | None = None) -> str:
    """CT or MR: the given one, else the image's DICOM Modality (read_dicom_series sets it)."""
    mod = (modality or "").strip().upper()
    if not mod and image.HasMetaDataKey(MODALITY_KEY):
        mod = image.GetMetaData(MODALITY_KEY).strip().upper()
    mod = {"MRI": "MR", "PT": "PT"}.get(mod, mod)
    if mod not in ("CT", "MR"):
        raise MmdlmError(f"modality {mod or '(empty)'!r} is not CT or MR", field="modality")
    return mod


def intensity_range(volume: np.ndarray, modality: str, cfg: RadiologyConfig) -> tuple[float, float]:
    """The values mapped to 0 and 255: the CT window, or the MRI percentiles of the whole volume."""
    if modality == "CT":
        return (
            cfg.ct_window_level - cfg.ct_window_width / 2.0,
            cfg.ct_window_level + cfg.ct_window_width / 2.0,
        )
    lo, hi = np.percentile(volume, cfg.mri_percentiles)
    return float(lo), float(hi)


def to_uint8(
    values: np.ndarray, modality: str, value_range: tuple[float, float], cfg: RadiologyConfig
) -> np.ndarray:
    """Window (CT) or normalise (MR) to 8-bit."""
    if modality == "CT":
        return window_ct(values, cfg.ct_window_width, cfg.ct_window_level)
    return normalise_range(values, *value_range)


def max_diameter_planes(
    image: sitk.Image,
    mask: sitk.Image,
    cfg: RadiologyConfig,
    *,
    modality: str | None = None,
    patient_id: str | None = None,
    mask_file: str | Path | None = None,
    image_file: str | Path | None = None,
) -> list[PlaneImage]:
    """Axial, coronal and sagittal crops at the slices of maximum tumour diameter, rendered to 8-bit squares.

    The mask is fitted onto the image grid (resampled if needed; refused if it does not overlap); the crop is
    a square of cfg.field_of_view_mm centred on the tumour in that slice (cfg.crop fixed_fov, the default) or
    the tumour's bounding box plus cfg.margin_mm (bbox), at cfg.image_size pixels.
    """
    try:
        mod = image_modality(image, modality)
    except MmdlmError as exc:
        raise MmdlmError(exc.message, patient=patient_id, field="modality") from None
    tumour = fit_mask(
        mask,
        image,
        labels=cfg.mask_labels,
        patient_id=patient_id,
        mask_file=mask_file,
        image_file=image_file,
        min_fraction=cfg.min_tumour_fraction_in_image,
    )
    volume = lps_view(sitk.GetArrayViewFromImage(image), image)
    tumour_zyx = sitk.GetArrayViewFromImage(tumour).astype(bool)
    tumour_spl = lps_view(tumour_zyx, tumour)
    spacing = lps_spacing(image)
    value_range = intensity_range(volume, mod, cfg)
    fill = -1024.0 if mod == "CT" else value_range[0]
    out = []
    for pd in _diameters(*tumour_box_lps(tumour_zyx, tumour), spacing):
        axis = PLANE_AXIS[pd.plane]
        slice2d = np.take(volume, pd.slice_index, axis=axis)
        mask2d = np.take(tumour_spl, pd.slice_index, axis=axis)
        centre, side, box = crop_square(mask2d, pd.pixel_spacing_mm, cfg)
        if not box["tumour_fits"]:
            warn(
                f"{pd.plane} tumour extent {box['tumour_extent_mm']:.0f} mm exceeds field_of_view_mm "
                f"{side:.0f} mm: the tumour is cut at the crop's edge",
                file=mask_file,
                patient=patient_id,
            )
        values = sample_square(slice2d, pd.pixel_spacing_mm, centre, side, cfg.image_size, fill)
        pixels = to_uint8(values, mod, value_range, cfg)
        if _FLIP_ROWS[pd.plane]:
            pixels = pixels[::-1]
        box["output_pixel_mm"] = round(float(side) / cfg.image_size, 6)
        out.append(
            PlaneImage(
                pd.plane,
                pd.slice_index,
                pd.diameter_mm,
                pd.pixel_spacing_mm,
                np.ascontiguousarray(pixels),
                box,
            )
        )
    return out

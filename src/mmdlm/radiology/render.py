"""2D rendering: a square crop around the tumour (fixed field of view or bounding box) at a fixed output size,
CT windowing, MRI normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage


def window_ct(hu: np.ndarray, width: float, level: float) -> np.ndarray:
    """HU -> uint8 with the window [level - width/2, level + width/2] mapped to 0..255."""
    lo = level - width / 2.0
    return np.round(np.clip((np.asarray(hu, dtype=np.float64) - lo) / width, 0.0, 1.0) * 255.0).astype(
        np.uint8
    )


def normalise_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Intensities -> uint8 with [lo, hi] mapped to 0..255 (a flat image gives 0)."""
    if not hi > lo:
        return np.zeros(np.shape(values), dtype=np.uint8)
    scaled = (np.asarray(values, dtype=np.float64) - lo) / (hi - lo)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)


def sample_square(
    slice2d: np.ndarray,
    spacing: tuple[float, float],
    centre_mm: tuple[float, float],
    side_mm: float,
    size: int,
    fill: float,
) -> np.ndarray:
    """Resample the square of `side_mm` centred at `centre_mm` (row, col mm from pixel 0) to size x size.

    Linear interpolation at square output pixels; outside the slice reads `fill`; a Gaussian pre-filter
    avoids aliasing when the output pixel is larger than the input pixel.
    """
    out_px = side_mm / size
    step = np.array([out_px / spacing[0], out_px / spacing[1]])  # input pixels per output pixel
    src = np.asarray(slice2d, dtype=np.float32)
    sigma = np.maximum(0.0, (step - 1.0) / 2.0)
    if np.any(sigma > 0):
        src = ndimage.gaussian_filter(src, sigma=sigma, mode="nearest")
    offsets = (np.arange(size) + 0.5) * out_px - side_mm / 2.0
    rows = (centre_mm[0] + offsets) / spacing[0]
    cols = (centre_mm[1] + offsets) / spacing[1]
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return ndimage.map_coordinates(src, [rr, cc], order=1, mode="constant", cval=fill)


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def _tumour_box(mask2d: np.ndarray, spacing: tuple[float, float]) -> tuple[tuple[int, int, int, int],
                                                                             tuple[float, float], float]:
    """(r0, c0, r1, c1) inclusive tumour pixel box, its centre (mm from pixel 0), its larger extent (mm)."""
    nz = np.argwhere(mask2d)
    (r0, c0), (r1, c1) = nz.min(0), nz.max(0)
    extent = max((r1 - r0 + 1) * spacing[0], (c1 - c0 + 1) * spacing[1])
    centre = ((r0 + r1) / 2.0 * spacing[0], (c0 + c1) / 2.0 * spacing[1])
    return (int(r0), int(c0), int(r1), int(c1)), centre, float(extent)


def _box_meta(box: tuple[int, int, int, int], centre: tuple[float, float], side: float,
              spacing: tuple[float, float], crop: str, extent: float) -> dict[str, Any]:
    r0, c0, r1, c1 = box
    return {
        "crop": crop,
        "row_min": _r(centre[0] / spacing[0] - side / 2.0 / spacing[0], 3),
        "row_max": _r(centre[0] / spacing[0] + side / 2.0 / spacing[0], 3),
        "col_min": _r(centre[1] / spacing[1] - side / 2.0 / spacing[1], 3),
        "col_max": _r(centre[1] / spacing[1] + side / 2.0 / spacing[1], 3),
        "side_mm": _r(side, 4),
        "tumour_rows": [r0, r1],
        "tumour_cols": [c0, c1],
        "tumour_extent_mm": _r(extent, 4),
        "tumour_fits": bool(extent <= side + 1e-9),
    }


def tumour_crop(
    mask2d: np.ndarray, spacing: tuple[float, float], margin_mm: float
) -> tuple[tuple[float, float], float, dict[str, Any]]:
    """Centre (mm), side (mm) and crop box (pixel indices, may extend past the slice) of a square crop holding
    the tumour's bounding box plus `margin_mm` on every side (output pixel size varies with the tumour)."""
    box, centre, extent = _tumour_box(mask2d, spacing)
    side = extent + 2.0 * margin_mm
    return centre, side, _box_meta(box, centre, side, spacing, "bbox", extent)


def fixed_fov_crop(
    mask2d: np.ndarray, spacing: tuple[float, float], field_of_view_mm: float
) -> tuple[tuple[float, float], float, dict[str, Any]]:
    """Centre (mm), side (mm) and crop box of a square of `field_of_view_mm` centred on the tumour's bounding
    box: every patient gets the same mm per output pixel, so the tumour's size in pixels is proportional to
    its size in mm (box["tumour_fits"] is False when the tumour is larger than the field of view)."""
    box, centre, extent = _tumour_box(mask2d, spacing)
    side = float(field_of_view_mm)
    return centre, side, _box_meta(box, centre, side, spacing, "fixed_fov", extent)


def crop_square(
    mask2d: np.ndarray, spacing: tuple[float, float], cfg: Any
) -> tuple[tuple[float, float], float, dict[str, Any]]:
    """The crop `cfg.crop` names (a RadiologyConfig): fixed_fov (field_of_view_mm) or bbox (margin_mm)."""
    return _CROPS[cfg.crop](mask2d, spacing, cfg)


_CROPS = {
    "fixed_fov": lambda m, s, cfg: fixed_fov_crop(m, s, cfg.field_of_view_mm),
    "bbox": lambda m, s, cfg: tumour_crop(m, s, cfg.margin_mm),
}

"""Config section owned by mmdlm.radiology: plane extraction."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mmdlm.config_base import StrictModel


class RadiologyConfig(StrictModel):
    """Planes of maximum tumour diameter: crop (fixed field of view or bounding box), output size, CT window,
    MRI normalisation."""

    #: fixed_fov: a square of `field_of_view_mm` centred on the tumour, so that pixel size is the same for
    #: every patient and tumour size stays visible (the default); bbox: the tumour's bounding box plus
    #: `margin_mm`, resized to image_size (every tumour fills the frame alike: size is erased)
    crop: Literal["fixed_fov", "bbox"] = "fixed_fov"
    #: side of the fixed field of view (mm): 160 mm holds a 14 cm tumour (beyond the 95th percentile of ccRCC
    #: at nephrectomy) with 1 cm of context on each side; a larger tumour is cut at the edge, with a warning
    field_of_view_mm: float = Field(160.0, gt=0.0)
    margin_mm: float = Field(10.0, ge=0.0)  # bbox crop: context kept around the tumour on every side
    image_size: int = Field(224, ge=8)  # side of the square 8-bit output image, in pixels
    ct_window_width: float = Field(400.0, gt=0.0)  # soft-tissue window W400 / L40 (HU)
    ct_window_level: float = 40.0
    mri_percentiles: tuple[float, float] = (1.0, 99.0)  # MR intensities -> 0..255 between these percentiles
    mask_labels: tuple[int, ...] = ()  # mask values that count as tumour; empty = any nonzero (KiTS: [2])
    multi_series: Literal["error", "largest"] = "error"  # a folder with several series: refuse, or take the
    #                                                     one with most slices (with a warning)
    max_gap_factor: float = Field(1.5, gt=1.0)  # slice gap > factor x median spacing = a missing slice
    min_tumour_fraction_in_image: float = Field(0.5, ge=0.0, le=1.0)  # a mask partly outside its image is
    #                                         refused below this fraction of its tumour voxels, warned above

    @model_validator(mode="after")
    def _check_percentiles(self) -> RadiologyConfig:
        lo, hi = self.mri_percentiles
        if not 0.0 <= lo < hi <= 100.0:
            raise ValueError("mri_percentiles must satisfy 0 <= low < high <= 100")
        return self

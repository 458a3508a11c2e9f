"""Config section owned by mmdlm.synth."""

from __future__ import annotations

from pydantic import Field, field_validator

from mmdlm.config_base import StrictModel


class SynthConfig(StrictModel):
    """Synthetic demo cohort: size, seed, image sizes and the ground-truth effect sizes."""

    patients: int = Field(120, ge=1)
    seed: int = Field(0, ge=0)
    #: Tissue-source-site code of the TCGA-style barcodes (TCGA-<site>-0001): cohorts drawn for different
    #: purposes (the demo's external test cohort) get their own, so no patient ID is shared by accident.
    site_code: str = Field("SY", pattern=r"^[A-Z0-9]{2}$")
    #: Fraction of patients imaged with MRI (T1) instead of CT (paper: 31 of 230).
    mri_fraction: float = Field(31 / 230, ge=0.0, le=1.0)

    # --- slides ---
    #: Level-0 size (px at `slide_mpp`); tissue covers roughly half of it.
    slide_width: int = Field(3200, ge=256)
    slide_height: int = Field(2400, ge=256)
    slide_mpp: float = Field(0.5, gt=0)
    #: Downsample of each pyramid level (level 0 first); OpenSlide needs one top-level page each.
    slide_downsamples: tuple[int, ...] = (1, 4, 16)
    slide_tile: int = Field(256, ge=16)
    jpeg_quality: int = Field(80, ge=10, le=100)

    # --- radiology ---
    ct_matrix: int = Field(96, ge=32)  # rows = columns
    ct_pixel_mm: float = Field(3.5, gt=0)
    ct_slices: int = Field(40, ge=8)
    ct_slice_mm: float = Field(5.0, gt=0)

    # --- survival ground truth (log-hazard = sum of weight x standardised component) ---
    weight_fine_histology: float = 1.25  # nuclear size / pleomorphism / hyperchromasia (grade), ~10x
    weight_coarse_histology: float = 1.1  # necrosis + haemorrhage fraction, ~5x
    weight_tumour_volume: float = 1.15  # log tumour volume on CT / MRI
    #: Baseline disease-specific hazard per month (tuned for ~30% DSS events).
    baseline_hazard: float = Field(0.0040, gt=0)
    max_follow_up_months: float = Field(120.0, gt=60)

    @field_validator("slide_downsamples")
    @classmethod
    def _downsamples(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or value[0] != 1 or any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("slide_downsamples must start at 1 and increase strictly")
        return value

"""Config section owned by mmdlm.radiology: plane extraction."""

from __future__ import annotations

from mmdlm.config_base import StrictModel


class RadiologyConfig(StrictModel):
    """Planes of maximum tumour diameter: crop margin, output size, CT window, MRI normalisation."""

    margin_mm: float = 10.0
    image_size: int = 224
    ct_window_width: float = 400.0
    ct_window_level: float = 40.0
    mri_percentiles: tuple[float, float] = (1.0, 99.0)

"""Config section owned by mmdlm.data: samples, augmentation, loaders."""

from __future__ import annotations

from pydantic import Field

from mmdlm.config_base import StrictModel


class DataConfig(StrictModel):
    """Patient-level multimodal samples: image size, fixed validation lists, augmentation, loaders."""

    image_size: int = Field(224, ge=8)  # every image is resized to image_size x image_size
    val_images_per_modality: int = Field(3, ge=1)  # fixed per-patient list size; 3 -> up to 27 combinations
    draws_per_patient: int = Field(1, ge=1)  # random combinations drawn per patient per training epoch
    augment: bool = True
    colour_jitter: float = Field(0.1, ge=0.0, le=0.5)  # brightness/contrast/saturation +- this, hue +- this/4
    num_workers: int = Field(0, ge=0)
    preload_max_mb: float = Field(512.0, ge=0.0)  # tile stores smaller than this (all together) are read into
    #                                               memory once; bigger cohorts are read lazily per draw

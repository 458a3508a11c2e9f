"""Config section owned by mmdlm.data: samples, augmentation, loaders."""

from __future__ import annotations

from mmdlm.config_base import StrictModel


class DataConfig(StrictModel):
    """Patient-level multimodal samples."""

    image_size: int = 224
    val_images_per_modality: int = 3
    augment: bool = True
    num_workers: int = 0

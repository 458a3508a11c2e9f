"""Config section owned by mmdlm.model."""

from __future__ import annotations

from pathlib import Path

from mmdlm.config_base import StrictModel


class ModelConfig(StrictModel):
    """Branches, fusion width, initialisation."""

    backbone: str = "resnet18"
    pretrained: str = "imagenet"  # "imagenet" or "none"
    pretrained_path: Path | None = None
    width: int = 128
    dropout: float = 0.25

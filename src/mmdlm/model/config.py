"""Config section owned by mmdlm.model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel
from mmdlm.encoders.config import EncoderConfig


class ModelConfig(StrictModel):
    """Branches, fusion width, initialisation."""

    backbone: str = "resnet18"
    pretrained: str = "imagenet"  # "imagenet" or "none"
    pretrained_path: Path | None = None
    width: int = 128
    dropout: float = 0.25
    #: `end_to_end`: the paper's ResNet trained on tile images; `mil`: attention MIL over the feature stores
    #: of `mmdlm features` (encoder below)
    family: Literal["end_to_end", "mil"] = "end_to_end"
    #: the image encoder of the feature stores (mmdlm features) and the MIL family
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)

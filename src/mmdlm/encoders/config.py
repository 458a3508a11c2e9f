"""Config section `model.encoder` (owned by mmdlm.encoders): which image encoder, with which weights."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel

#: Values of `weights` that are not a file: the torchvision ImageNet file from the torch cache, or a seeded
#: random initialisation (tests, benchmarks, the demo: nothing to download, numbers not a foundation model's).
NAMED_WEIGHTS = ("imagenet", "random")


class EncoderConfig(StrictModel):
    """An image encoder: its family (registry key), architecture, weights and input preparation.

    Examples (docs/formats/features.md): UNI is `{family: timm, name: vit_large_patch16_224, weights:
    /models/uni/pytorch_model.bin, kwargs: {init_values: 1.0e-5, dynamic_img_size: true}}`.
    """

    #: registry key: `torchvision` (ResNet family classifiers) or `timm` (any timm architecture)
    family: Literal["torchvision", "timm"] = "torchvision"
    #: the architecture, as the family names it (resnet18, vit_large_patch16_224, ...)
    name: str = "resnet18"
    #: a local weights file (state dict: .pth/.bin/.safetensors), `imagenet` (torchvision: the torch cache
    #: file) or `random` (seeded random initialisation; nothing is downloaded in any case)
    weights: Literal["imagenet", "random"] | Path = "imagenet"
    #: seed of a `random` initialisation
    seed: int = 0
    #: side of the encoder's input (tiles are resized to it); None: the family's default (224)
    input_size: int | None = Field(None, ge=8, le=4096)
    #: input normalisation (0-1 RGB); None: ImageNet's mean and std
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    #: extra keyword arguments of the architecture (timm.create_model), e.g. init_values, dynamic_img_size;
    #: `mlp_layer` / `act_layer` name a timm.layers or torch.nn class (Virchow2: SwiGLUPacked, SiLU)
    kwargs: dict[str, float | int | str | bool] = Field(default_factory=dict)
    #: how a ViT's tokens become one vector: the model's own pooling, or class token + mean patch token
    #: concatenated (Virchow2's tile embedding)
    pool: Literal["model", "cls_mean"] = "model"
    #: a short label for reports (None: the architecture name)
    label: str | None = None

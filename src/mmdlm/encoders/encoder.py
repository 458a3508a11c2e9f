"""A built image encoder: the network, its input preparation and its identity (what makes features
comparable)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class EncoderIdentity:
    """What determines an encoder's features: written into every feature store, compared on resume."""

    family: str
    name: str
    label: str
    weights: str  # the file, `imagenet (torch cache: FILE)` or `random (seed N)`
    weights_hash: str  # sha256 of the weights file (hex), or `random-<seed>`
    width: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pool: str
    kwargs_json: str

    def as_attrs(self) -> dict[str, object]:
        """The identity as flat HDF5/JSON attributes (tuples as lists)."""
        return {f"encoder_{k}": (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @property
    def key(self) -> str:
        """Hash of everything but the file's location: two runs with the same key give the same features."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("weights", "label")}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


class Encoder(nn.Module):
    """`net` maps a normalised float [B, 3, S, S] batch to features [B, width]; `embed` takes uint8 tiles."""

    def __init__(self, net: nn.Module, identity: EncoderIdentity) -> None:
        super().__init__()
        self.net = net
        self.identity = identity
        self.register_buffer("mean", torch.tensor(identity.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(identity.std).view(1, 3, 1, 1), persistent=False)

    @property
    def width(self) -> int:
        """Feature width."""
        return self.identity.width

    def prepare(self, images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        """uint8 [B, 3, H, W] -> float32 [B, 3, S, S]: resized (antialiased bilinear) to the input size and
        normalised with the encoder's mean and std, on the tensor's device."""
        x = images.to(self.mean.device).float().div_(255.0)
        size = self.identity.input_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features [B, width] of an already prepared float batch."""
        return self.net(x)

    @torch.inference_mode()
    def embed(self, images: torch.Tensor, *, channels_last: bool = False, bf16: bool = False) -> torch.Tensor:
        """Features [B, width] (float32) of uint8 [B, 3, H, W] images; bf16 autocast on CUDA when asked."""
        x = self.prepare(images, channels_last)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = self.net(x)
        return out.float()

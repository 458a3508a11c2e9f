"""Image backbones from torchvision; ImageNet weights from the torch cache or a named file (no download)."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

from mmdlm.errors import MmdlmError


def imagenet_weights_file(backbone: str) -> Path:
    """Where torchvision would cache the ImageNet weights of `backbone` (no download is attempted)."""
    weights = torchvision.models.get_model_weights(backbone).DEFAULT
    filename = Path(weights.url).name
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def build_backbone(backbone: str, pretrained: str, pretrained_path: Path | None) -> tuple[nn.Module, int]:
    """A torchvision classifier without its final layer, and its feature width.

    `pretrained` is "imagenet" (weights from `pretrained_path` or the torch cache) or "none".
    """
    try:
        net = torchvision.models.get_model(backbone, weights=None)
    except ValueError:
        raise MmdlmError(f"unknown torchvision backbone '{backbone}'", field="model.backbone") from None
    if not hasattr(net, "fc"):
        raise MmdlmError(
            f"backbone '{backbone}' has no 'fc' head (use a ResNet family model)", field="model.backbone"
        )
    if pretrained == "imagenet":
        path = Path(pretrained_path) if pretrained_path is not None else imagenet_weights_file(backbone)
        if not path.is_file():
            raise MmdlmError(
                f"ImageNet weights for {backbone} not found; nothing is downloaded at run time. Put the "
                f"torchvision file at {imagenet_weights_file(backbone)} "
                "(or name it in model.pretrained_path), "
                "or set model.pretrained: none",
                file=path,
                field="model.pretrained",
            )
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - any unreadable or mismatched file is the user's input
            raise MmdlmError(
                f"cannot load {backbone} ImageNet weights ({exc.__class__.__name__}: {exc})"[:300],
                file=path,
                field="model.pretrained_path",
            ) from None
    elif pretrained != "none":
        raise MmdlmError(f"must be 'imagenet' or 'none', got '{pretrained}'", field="model.pretrained")
    width = net.fc.in_features
    net.fc = nn.Identity()
    return net, width

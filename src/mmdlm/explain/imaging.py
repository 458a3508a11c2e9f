"""Image tensors <-> RGB arrays: ImageNet normalisation (torchvision's ResNet presets) and its inverse."""

from __future__ import annotations

import numpy as np
import torch
import torchvision


def imagenet_stats() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per RGB channel of torchvision's ImageNet ResNet preprocessing."""
    preset = torchvision.models.ResNet18_Weights.DEFAULT.transforms()
    return tuple(preset.mean), tuple(preset.std)


def rgb_to_tensor(rgb: np.ndarray, mean: tuple[float, ...] | None = None,
                  std: tuple[float, ...] | None = None) -> torch.Tensor:
    """uint8 [H, W, 3] (or [H, W] grayscale) -> float [3, H, W], scaled to [0, 1] and normalised."""
    if mean is None or std is None:
        mean, std = imagenet_stats()
    arr = np.asarray(rgb)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    x = torch.from_numpy(np.array(arr[..., :3], dtype=np.uint8)).permute(2, 0, 1)
    x = x.to(torch.float32).div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return x.sub_(m).div_(s)


def tensor_to_rgb(image: torch.Tensor, mean: tuple[float, ...] | None = None,
                  std: tuple[float, ...] | None = None) -> np.ndarray:
    """Normalised float [3, H, W] -> uint8 [H, W, 3] (the inverse of `rgb_to_tensor`, clipped)."""
    if mean is None or std is None:
        mean, std = imagenet_stats()
    x = image.detach().to("cpu", torch.float32)
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    x = (x * s + m).clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return x.permute(1, 2, 0).numpy()

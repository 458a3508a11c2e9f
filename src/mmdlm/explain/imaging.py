"""Model tensors back to viewable RGB: the inverse of mmdlm.data's ImageNet normalisation."""

from __future__ import annotations

import numpy as np
import torch

from mmdlm.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def tensor_to_rgb(image: torch.Tensor) -> np.ndarray:
    """Normalised float [3, H, W] (mmdlm.data.transforms.normalise) -> uint8 [H, W, 3], clipped."""
    x = image.detach().to("cpu", torch.float32)
    m = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)
    x = (x * s + m).clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return x.permute(1, 2, 0).numpy()

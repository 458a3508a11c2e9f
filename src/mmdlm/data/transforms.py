"""Image preparation: uint8 HWC -> uint8 [3, S, S], augmentation (tiles: flips, 90-degree rotations, colour
jitter; radiology: flips), and ImageNet normalisation (done on the batch, on the device)."""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_chw(image: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [H, W, 3] or [H, W] -> uint8 [3, size, size] (grayscale repeated, antialiased resize)."""
    array = np.ascontiguousarray(image)
    if not array.flags.writeable:  # e.g. decoded from a read-only buffer; torch needs a writable array
        array = array.copy()
    t = torch.from_numpy(array)
    if t.ndim == 2:
        t = t.unsqueeze(0).expand(3, -1, -1)
    else:
        t = t[..., :3].permute(2, 0, 1)
    if t.shape[1] != size or t.shape[2] != size:
        t = TF.resize(t, [size, size], antialias=True)
    return t.contiguous()


def augment_tile(t: torch.Tensor, rng: np.random.Generator, jitter: float) -> torch.Tensor:
    """Random flips, a random multiple of 90 degrees, light colour jitter (uint8 in, uint8 out)."""
    if rng.random() < 0.5:
        t = t.flip(-1)
    k = int(rng.integers(4))
    if k:
        t = torch.rot90(t, k, dims=(-2, -1))
    if jitter > 0:
        b, c, s = (1.0 + rng.uniform(-jitter, jitter, size=3)).tolist()
        t = TF.adjust_brightness(t, b)
        t = TF.adjust_contrast(t, c)
        t = TF.adjust_saturation(t, s)
        t = TF.adjust_hue(t, float(rng.uniform(-jitter / 4, jitter / 4)))
    return t.contiguous()


def augment_radiology(t: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random left-right and up-down flips."""
    if rng.random() < 0.5:
        t = t.flip(-1)
    if rng.random() < 0.5:
        t = t.flip(-2)
    return t.contiguous()


def normalise(images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """uint8 [B, 3, H, W] -> float32 ImageNet-normalised (on the tensor's device)."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    out = (images.float() / 255.0 - mean) / std
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out

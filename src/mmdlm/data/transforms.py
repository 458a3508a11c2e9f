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


def flip_rotate(t: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """A random horizontal flip, then a random multiple of 90 degrees (a tile's geometric augmentation)."""
    if rng.random() < 0.5:
        t = t.flip(-1)
    k = int(rng.integers(4))
    if k:
        t = torch.rot90(t, k, dims=(-2, -1))
    return t


def jitter_factors(rng: np.random.Generator, jitter: float) -> tuple[float, float, float, float]:
    """(brightness, contrast, saturation, hue) factors of a light colour jitter: 1 +- jitter, hue +-
    jitter/4."""
    b, c, s = (1.0 + rng.uniform(-jitter, jitter, size=3)).tolist()
    return b, c, s, float(rng.uniform(-jitter / 4, jitter / 4))


def colour_jitter(t: torch.Tensor, factors: tuple[float, float, float, float]) -> torch.Tensor:
    """Brightness, contrast, saturation, then hue of one uint8 image [3, H, W] by `factors`."""
    b, c, s, h = factors
    t = TF.adjust_brightness(t, b)
    t = TF.adjust_contrast(t, c)
    t = TF.adjust_saturation(t, s)
    return TF.adjust_hue(t, h)


def augment_tile(t: torch.Tensor, rng: np.random.Generator, jitter: float) -> torch.Tensor:
    """Random flips, a random multiple of 90 degrees, light colour jitter (uint8 in, uint8 out)."""
    t = flip_rotate(t, rng)
    if jitter > 0:
        t = colour_jitter(t, jitter_factors(rng, jitter))
    return t.contiguous()


def _factor(values, n: int, dims: int) -> torch.Tensor:
    """Per-image factors as float32 (each rounded from its double, as a Python scalar is) shaped to
    broadcast over [N, ...] with `dims` trailing dimensions."""
    return torch.tensor(values, dtype=torch.float64).to(torch.float32).view(n, *([1] * dims))


def _blend_each(images: torch.Tensor, other: torch.Tensor, ratios: list[float]) -> torch.Tensor:
    """uint8 images blended with `other` (float) image by image: images * r + other * (1 - r), clamped."""
    out = images.mul(_factor(ratios, len(ratios), 3))
    for i, r in enumerate(ratios):  # torchvision's blend takes a scalar alpha: the same rounding, per image
        out[i].add_(other[i], alpha=1.0 - float(r))
    return out.clamp_(0, 255).to(torch.uint8)


Factors = tuple[float, float, float, float]


def colour_jitter_batch(images: torch.Tensor, factors: list[Factors]) -> torch.Tensor:
    """`colour_jitter` of each uint8 image of a batch [N, 3, H, W] by its own factors, in a few batched tensor
    ops instead of some sixty per image: exactly the same pixels (every step is per pixel, or a blend whose
    per-image scalar is applied image by image; tests/data compares them with colour_jitter)."""
    from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

    n = len(factors)
    b, c, s, h = (list(col) for col in zip(*factors, strict=True))
    x = images.mul(_factor(b, n, 3)).clamp_(0, 255).to(torch.uint8)
    # contrast: towards the mean of the floored grayscale (the uint8 grayscale is its floor)
    gray = TF.rgb_to_grayscale_image(x).to(torch.float32)
    x = _blend_each(x, torch.mean(gray, dim=(-3, -2, -1), keepdim=True), c)
    x = _blend_each(x, TF.rgb_to_grayscale_image(x).to(torch.float32), s)
    hue, sat, val = _rgb_to_hsv(TF.to_dtype_image(x, torch.float32, scale=True)).unbind(dim=-3)
    hue.add_(_factor(h, n, 2)).remainder_(1.0)
    return TF.to_dtype_image(_hsv_to_rgb(torch.stack((hue, sat, val), dim=-3)), torch.uint8, scale=True)


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

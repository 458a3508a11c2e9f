"""A tiny training config (small random ResNets, one CPU thread) and a weight comparison, shared by the
training tests."""

from __future__ import annotations

import torch

from mmdlm.config import Config


def tiny_config(image_size: int, val_images: int, **train: object) -> Config:
    """The paper's protocol shrunk to width-8 random ResNets at `image_size`; `train` overrides the train
    section (epochs, batch sizes)."""
    return Config.model_validate({
        "data": {"image_size": image_size, "val_images_per_modality": val_images},
        "model": {"pretrained": "none", "width": 8, "dropout": 0.25},
        "train": {"batch_size": 8, "cpu_threads": 1, **train},
    })


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Whether two state dicts hold the same tensors under the same names, to the bit."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

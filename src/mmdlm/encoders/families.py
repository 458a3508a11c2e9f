"""Encoder families: how an architecture is built and where its weights come from (one class per family)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from mmdlm.encoders.config import EncoderConfig
from mmdlm.encoders.encoder import Encoder, EncoderIdentity
from mmdlm.encoders.weights import file_hash, load_weights, missing_weights
from mmdlm.errors import MmdlmError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT_SIZE = 224


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Random initialisation under `seed` without disturbing the caller's random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _identity(
    cfg: EncoderConfig, weights: str, weights_hash: str, width: int, input_size: int
) -> EncoderIdentity:
    return EncoderIdentity(
        family=cfg.family,
        name=cfg.name,
        label=cfg.label or cfg.name,
        weights=weights,
        weights_hash=weights_hash,
        width=int(width),
        input_size=int(input_size),
        mean=tuple(float(v) for v in (cfg.mean or IMAGENET_MEAN)),
        std=tuple(float(v) for v in (cfg.std or IMAGENET_STD)),
        pool=cfg.pool,
        kwargs_json=json.dumps(dict(cfg.kwargs), sort_keys=True),
    )


class TorchvisionFamily:
    """torchvision ResNet-family classifiers without their `fc` head (mmdlm.model.backbones builds them)."""

    key = "torchvision"

    def build(self, cfg: EncoderConfig) -> Encoder:
        """The backbone with ImageNet weights (torch cache or file) or a seeded random initialisation."""
        from mmdlm.model.backbones import build_backbone, imagenet_weights_file

        if cfg.kwargs or cfg.pool != "model":
            raise MmdlmError("torchvision encoders take no kwargs or pool", field="model.encoder.kwargs")
        if cfg.weights == "random":
            with _seeded(cfg.seed):
                net, width = build_backbone(cfg.name, "none", None)
            weights, digest = f"random (seed {cfg.seed})", f"random-{cfg.seed}"
        elif (
            cfg.weights == "imagenet"
        ):  # torchvision's own file from the torch cache, as the end-to-end model
            path = imagenet_weights_file(cfg.name)
            net, width = build_backbone(cfg.name, "imagenet", path)
            weights, digest = f"imagenet (torch cache: {path})", file_hash(path)
        else:  # a local file: a whole classifier's state dict, or one without its `fc` head
            net, width = build_backbone(cfg.name, "none", None)
            path = Path(cfg.weights)
            source = (
                f"a torchvision {cfg.name} state dict "
                f"(e.g. torchvision's ImageNet file {imagenet_weights_file(cfg.name).name})"
            )
            digest = load_weights(net, path, cfg.name, source, drop_prefix="fc.")
            weights = str(path)
        return Encoder(net, _identity(cfg, weights, digest, width, cfg.input_size or DEFAULT_INPUT_SIZE))


def _resolve_layer(value: object) -> object:
    """A class named in kwargs (mlp_layer: SwiGLUPacked, act_layer: SiLU) from timm.layers or torch.nn."""
    import timm.layers

    for module in (timm.layers, torch.nn):
        if isinstance(value, str) and hasattr(module, value):
            return getattr(module, value)
    raise MmdlmError(f"no layer class {value!r} in timm.layers or torch.nn", field="model.encoder.kwargs")


class ClsMeanPool(nn.Module):
    """A ViT's class token and mean patch token concatenated (Virchow2's tile embedding)."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.vit.forward_features(x)
        prefix = int(getattr(self.vit, "num_prefix_tokens", 1))
        return torch.cat([tokens[:, 0], tokens[:, prefix:].mean(dim=1)], dim=-1)


class TimmFamily:
    """Any timm architecture, built with `pretrained=False` and its weights loaded from a local file."""

    key = "timm"

    def build(self, cfg: EncoderConfig) -> Encoder:
        """timm.create_model(name, num_classes=0, **kwargs), weights from cfg.weights (a file) or random."""
        import timm

        if not timm.is_model(cfg.name):
            raise MmdlmError(f"unknown timm architecture {cfg.name!r}", field="model.encoder.name")
        if cfg.weights == "imagenet":
            raise MmdlmError(
                "timm encoders need a weights file (or `random`); `imagenet` is the torchvision family's",
                field="model.encoder.weights",
            )
        kwargs = {
            k: (_resolve_layer(v) if k in ("mlp_layer", "act_layer") else v) for k, v in cfg.kwargs.items()
        }
        kwargs.setdefault("num_classes", 0)
        if cfg.input_size is not None and "img_size" not in kwargs:
            kwargs["img_size"] = cfg.input_size
        if cfg.weights != "random" and not Path(cfg.weights).is_file():  # before building a large model
            raise missing_weights(Path(cfg.weights), cfg.name, self.source_hint(cfg))
        try:
            with _seeded(cfg.seed):
                net = timm.create_model(cfg.name, pretrained=False, **kwargs)
        except TypeError as exc:
            raise MmdlmError(f"{cfg.name}: {exc}"[:300], field="model.encoder.kwargs") from None
        if cfg.weights == "random":
            weights, digest = f"random (seed {cfg.seed})", f"random-{cfg.seed}"
        else:
            digest = load_weights(net, Path(cfg.weights), cfg.name, self.source_hint(cfg))
            weights = str(cfg.weights)
        width = int(net.num_features)
        if cfg.pool == "cls_mean":
            net, width = ClsMeanPool(net), 2 * width
        size = cfg.input_size or int(kwargs.get("img_size", DEFAULT_INPUT_SIZE))
        return Encoder(net, _identity(cfg, weights, digest, width, size))

    @staticmethod
    def source_hint(cfg: EncoderConfig) -> str:
        """Where such weights come from."""
        return (
            f"download the {cfg.label or cfg.name} weights once from the model's Hugging Face page "
            "(e.g. MahmoodLab/UNI, paige-ai/Virchow2, bioptimus/H-optimus-0, prov-gigapath/prov-gigapath), "
            "under its licence, and name the file in model.encoder.weights"
        )

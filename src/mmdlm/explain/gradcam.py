"""Grad-CAM per image branch of the fused model, with captum's LayerGradCam (no hand-written hooks).

The target is the model's scalar output per sample: the risk (cox) or the log-odds of 'deceased' (5yss,
logit[1] - logit[0], monotone in p(dead)). The image tensors are the attributed inputs (a tuple), the genomic
vector and the modality mask are held fixed.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn

from mmdlm.errors import MmdlmError
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES
from mmdlm.model.fusion import ModelOutput
from mmdlm.tasks.registry import get_task


def scalar_target(output: ModelOutput, task: str) -> torch.Tensor:
    """Per-sample scalar explained and ranked (the task's scalar_target): risk [B] (cox, discrete) or
    log-odds of deceased (5yss)."""
    return get_task(task).scalar_target(output)


class ImageTupleForward(nn.Module):
    """Forward wrapper for captum: image tensors as positional inputs (IMAGE_MODALITIES order), genomics and
    mask as fixed extra arguments; returns the scalar target [B]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        tile_10x: torch.Tensor,
        tile_5x: torch.Tensor,
        radiology: torch.Tensor,
        genomics: torch.Tensor | None,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        inputs = {"tile_10x": tile_10x, "tile_5x": tile_5x, "radiology": radiology}
        if genomics is not None:
            inputs[GENOMICS] = genomics
        return scalar_target(self.model(inputs, mask), self.model.task)


def target_layer(model: nn.Module, modality: str, layer: str = "layer4") -> nn.Module:
    """A convolutional block of an image branch (default the last: `layer4` of a torchvision ResNet)."""
    if modality not in IMAGE_MODALITIES:
        raise MmdlmError(
            f"Grad-CAM needs an image modality ({list(IMAGE_MODALITIES)}), got '{modality}'", field="modality"
        )
    backbone = model.branches[modality].backbone
    if not hasattr(backbone, layer):
        raise MmdlmError(
            f"backbone has no '{layer}' block (use a ResNet family model)", field="explain.cam_layer"
        )
    return getattr(backbone, layer)


def _placeholder(reference: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(reference)


def normalise_cam(cam: torch.Tensor) -> torch.Tensor:
    """ReLU, then scale each map [B, H, W] to [0, 1] by its maximum (an all-zero map stays zero)."""
    cam = torch.relu(cam)
    peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return cam / peak


def gradcam(
    model: nn.Module,
    inputs: Mapping[str, torch.Tensor],
    mask: torch.Tensor,
    modalities: tuple[str, ...] | None = None,
    layer: str = "layer4",
) -> dict[str, torch.Tensor]:
    """Grad-CAM maps [B, H, W] in [0, 1] (upsampled to each input's size) per present image modality.

    `layer`: the block attributed (layer4, the last, by default; an earlier one when inputs are so small that
    layer4 is 1x1, as in the demo's 32 px images).
    `inputs`: modality -> batch tensor (images [B, 3, H, W], genomics [B, G]); `mask` [B, M] over MODALITIES.
    A modality is explained only if it is in `inputs` and present in the mask for some sample.
    """
    model.eval()
    mask = mask.to(torch.bool).clone()
    for m_idx, name in enumerate(MODALITIES):
        if name not in inputs:
            mask[:, m_idx] = False  # never feed a placeholder to the model as if it were present
    present = [m for m in IMAGE_MODALITIES if m in inputs and bool(mask[:, MODALITIES.index(m)].any())]
    wanted = present if modalities is None else [m for m in modalities if m in present]
    if not wanted:
        raise MmdlmError("no present image modality to explain", field="modalities")
    ref = inputs[present[0]]
    images = tuple(inputs[m] if m in inputs else _placeholder(ref) for m in IMAGE_MODALITIES)
    if any(img.shape[0] != ref.shape[0] for img in images):
        raise MmdlmError("image inputs differ in batch size", field="inputs")
    forward = ImageTupleForward(model)
    extra = (inputs.get(GENOMICS), mask)
    maps: dict[str, torch.Tensor] = {}
    for modality in wanted:
        layer_cam = LayerGradCam(forward, target_layer(model, modality, layer))
        with torch.enable_grad():
            attr = layer_cam.attribute(images, additional_forward_args=extra)
        size = tuple(inputs[modality].shape[-2:])
        up = LayerAttribution.interpolate(attr.detach(), size, interpolate_mode="bilinear")
        maps[modality] = normalise_cam(up[:, 0])
    return maps

"""The multimodal model: one image backbone per image modality, a dense genomic branch, attention fusion."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from mmdlm.errors import MmdlmError
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES
from mmdlm.model.backbones import build_backbone
from mmdlm.tasks.registry import get_task


class ModelOutput(NamedTuple):
    """`out`: [B] for a one-unit head (cox risk), else [B, head width] (5yss logits, discrete hazard logits);
    `attention`: [B, M] weights over MODALITIES."""

    out: torch.Tensor
    attention: torch.Tensor


class ImageBranch(nn.Module):
    """A backbone (e.g. ResNet18) projected to the common width."""

    def __init__(self, backbone: str, pretrained: str, pretrained_path: Path | None, width: int) -> None:
        super().__init__()
        self.backbone, feat = build_backbone(backbone, pretrained, pretrained_path)
        self.project = nn.Sequential(nn.Linear(feat, width), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.backbone(x))


class MultimodalNet(nn.Module):
    """Branches for MODALITIES, gated attention over the present ones, and a risk or 5YSS head."""

    def __init__(
        self,
        n_genomic: int,
        task: str = "cox",
        width: int = 128,
        dropout: float = 0.25,
        backbone: str = "resnet18",
        pretrained: str = "none",
        pretrained_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        self.head_width = get_task(task).head_width
        self.n_genomic = n_genomic
        self.branches = nn.ModuleDict(
            {m: ImageBranch(backbone, pretrained, pretrained_path, width) for m in IMAGE_MODALITIES}
        )
        self.branches[GENOMICS] = nn.Sequential(nn.Linear(max(n_genomic, 1), width), nn.ReLU(inplace=True))
        self.modality_bias, self.score, self.head = fusion_layers(width, dropout, self.head_width)
        self.width = width

    def embed(self, inputs: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Per-modality embeddings [B, M, width]. A branch sees only the rows where its modality is present
        (absent rows are zeros and never touch its batch-norm statistics); a modality absent from the whole
        batch is not computed."""
        batch = mask.shape[0]
        parts: list[torch.Tensor | None] = []
        for m_idx, name in enumerate(MODALITIES):
            col = mask[:, m_idx]
            if name not in inputs or not bool(col.any()):
                parts.append(None)
            elif bool(col.all()):
                parts.append(self.branches[name](inputs[name]))
            else:
                idx = col.nonzero().squeeze(1)
                if self.training and len(idx) == 1:  # batch-norm cannot train on one sample: run the batch
                    sub = self.branches[name](inputs[name])[idx]
                else:
                    sub = self.branches[name](inputs[name][idx])
                parts.append(sub.new_zeros(batch, sub.shape[1]).index_copy(0, idx, sub))
        return self.stack(parts, batch)

    def stack(self, parts: Sequence[torch.Tensor | None], batch: int) -> torch.Tensor:
        """[B, M, width] from one [B, width] embedding or None (zeros) per modality in MODALITIES order, in
        the dtype of the first computed one."""
        computed = [p for p in parts if p is not None]
        ref = computed[0] if computed else self.modality_bias
        zeros = torch.zeros(batch, self.width, device=ref.device, dtype=ref.dtype)
        return torch.stack([zeros if p is None else p.to(ref.dtype) for p in parts], dim=1)

    def forward(self, inputs: dict[str, torch.Tensor], mask: torch.Tensor) -> ModelOutput:
        """`inputs[m]`: batch tensor per modality (normalised images, genomic vector); `mask` [B, M] bool,
        True
        where modality m is present and active. Masked entries get exactly zero attention and never reach the
        fused vector; a row with no modality gives the head's no-evidence output."""
        mask = mask.to(torch.bool)
        return self.fuse(self.embed(inputs, mask), mask)

    def fuse(self, h: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        """Attention fusion and head of per-modality embeddings `h` [B, M, width] (from `embed`, or cached
        ones: explain fuses a patient's fixed context embeddings with each tile's). `mask` [B, M] bool."""
        return fuse_embeddings(h, mask.to(torch.bool), self.score, self.modality_bias, self.head)


def fusion_layers(
    width: int, dropout: float, head_width: int
) -> tuple[nn.Parameter, nn.Sequential, nn.Sequential]:
    """The modality-attention fusion's layers shared by every model family: (per-modality score bias [M],
    the gated score of an embedding, the task's head of `head_width` outputs)."""
    bias = nn.Parameter(torch.zeros(len(MODALITIES)))
    score = nn.Sequential(nn.Linear(width, width // 2), nn.Tanh(), nn.Linear(width // 2, 1))
    head = nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(width, width),
        nn.ReLU(inplace=True),
        nn.Linear(width, head_width),
    )
    return bias, score, head


def fuse_embeddings(
    h: torch.Tensor, mask: torch.Tensor, score: nn.Module, bias: torch.Tensor, head: nn.Module
) -> ModelOutput:
    """Attention over the present modalities' embeddings h [B, M, width] (mask [B, M] bool), then the head
    (a one-output head squeezed to [B]). Masked entries get exactly zero attention and never reach the fused
    vector; a row with no modality gets the head's no-evidence output head(0), instead of the NaN a softmax
    over nothing would give."""
    scores = score(h).squeeze(-1) + bias
    scores = scores.masked_fill(~mask, float("-inf"))
    empty = ~mask.any(dim=1, keepdim=True)
    attention = torch.softmax(scores.masked_fill(empty, 0.0), dim=1).masked_fill(~mask, 0.0)
    # where() rather than multiplication: a masked input can never leak (even a NaN) into the fusion
    weighted = torch.where(mask.unsqueeze(-1), attention.unsqueeze(-1) * h, torch.zeros_like(h))
    out = head(weighted.sum(dim=1))
    return ModelOutput(out.squeeze(-1) if out.shape[-1] == 1 else out, attention)


def mute(mask: torch.Tensor, active: Sequence[str]) -> torch.Tensor:
    """Mask with every modality not in `active` switched off (the paper's 'muting' for unimodal training)."""
    unknown = set(active) - set(MODALITIES)
    if unknown:
        raise MmdlmError(f"unknown modality {sorted(unknown)}; known: {list(MODALITIES)}", field="modalities")
    keep = torch.tensor([m in active for m in MODALITIES], dtype=torch.bool, device=mask.device)
    return mask.to(torch.bool) & keep


def build_model(cfg_model, n_genomic: int, task: str) -> MultimodalNet:
    """MultimodalNet from a ModelConfig section."""
    return MultimodalNet(
        n_genomic=n_genomic,
        task=task,
        width=cfg_model.width,
        dropout=cfg_model.dropout,
        backbone=cfg_model.backbone,
        pretrained=cfg_model.pretrained,
        pretrained_path=cfg_model.pretrained_path,
    )

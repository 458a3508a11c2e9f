"""The MIL model: one gated-attention pooling per image modality, a dense genomic branch, and the end-to-end
model's modality-attention fusion and Cox / 5YSS heads (mmdlm.model.fusion)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from mmdlm.mil.pooling import GatedAttentionPool
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES
from mmdlm.model.fusion import ModelOutput, fuse_embeddings, fusion_layers
from mmdlm.tasks.base import Task
from mmdlm.tasks.registry import get_task


class Bags(NamedTuple):
    """A batch: per image modality padded instances [B, N, D] and their mask [B, N]; genomics [B, G]; the
    availability mask [B, M] over MODALITIES (already muted to the active modalities)."""

    instances: dict[str, torch.Tensor]
    instance_mask: dict[str, torch.Tensor]
    genomics: torch.Tensor
    mask: torch.Tensor


class MilOutput(NamedTuple):
    """The fused model's output (risk or logits, modality attention) and per image modality the instance
    attention [B, N]."""

    model: ModelOutput
    instance_attention: dict[str, torch.Tensor]


class MilNet(nn.Module):
    """ABMIL per image modality (`in_dims[m]`: its feature width), genomics dense, gated modality fusion;
    `task` (a Task, or a registered name) gives the head, the loss and the score."""

    def __init__(
        self,
        in_dims: dict[str, int],
        n_genomic: int,
        task: str | Task,
        width: int,
        attention_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.task: Task = get_task(task)
        self.width = width
        self.attention_dim = attention_dim
        self.pools = nn.ModuleDict(
            {
                m: GatedAttentionPool(in_dims[m], width, attention_dim, dropout)
                for m in IMAGE_MODALITIES
                if m in in_dims
            }
        )
        self.genomic = nn.Sequential(nn.Linear(max(n_genomic, 1), width), nn.ReLU(inplace=True))
        self.modality_bias, self.score, self.head = fusion_layers(width, dropout, self.task.head_width)

    def branch(self, modality: str) -> nn.Module:
        """The module that embeds `modality` (handed from a single-modality stage to a fused one)."""
        return self.genomic if modality == GENOMICS else self.pools[modality]

    def forward(self, bags: Bags) -> MilOutput:
        """Embed each modality (absent ones are zeros and masked), fuse, apply the head."""
        mask = bags.mask.to(torch.bool)
        batch = mask.shape[0]
        parts, inst_att = [], {}
        for m_idx, name in enumerate(MODALITIES):
            if name == GENOMICS:
                z = self.genomic(bags.genomics.float()) if bool(mask[:, m_idx].any()) else None
            elif name in bags.instances and name in self.pools and bool(mask[:, m_idx].any()):
                z, inst_att[name] = self.pools[name](bags.instances[name], bags.instance_mask[name])
            else:
                z = None
            parts.append(z if z is not None else torch.zeros(batch, self.width, device=mask.device))
        h = torch.stack(parts, dim=1)
        return MilOutput(fuse_embeddings(h, mask, self.score, self.modality_bias, self.head), inst_att)

"""Gated-attention MIL pooling (Ilse, Tomczak and Welling 2018, eq. 9) over padded bags of instances."""

from __future__ import annotations

import torch
from torch import nn


class GatedAttentionPool(nn.Module):
    """Instances x [B, N, D] -> h = ReLU(W x) [B, N, width]; a = softmax_n(w^T (tanh(V h) * sigmoid(U h)));
    bag embedding z = sum_n a_n h_n [B, width]. Padding (inst_mask False) gets exactly zero attention; a bag
    without instances gives z = 0 and a = 0."""

    def __init__(self, in_dim: int, width: int, attention_dim: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(in_dim, width), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.attention_v = nn.Linear(width, attention_dim)
        self.attention_u = nn.Linear(width, attention_dim)
        self.attention_w = nn.Linear(attention_dim, 1)

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        """Unnormalised gated attention scores [B, N] of embedded instances h [B, N, width]."""
        gate = torch.tanh(self.attention_v(h)) * torch.sigmoid(self.attention_u(h))
        return self.attention_w(gate).squeeze(-1)

    def forward(self, x: torch.Tensor, inst_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(bag embeddings [B, width], attention [B, N] summing to 1 over each non-empty bag's instances)."""
        h = self.embed(x.float())
        inst_mask = inst_mask.to(torch.bool)
        s = self.scores(h).masked_fill(~inst_mask, float("-inf"))
        empty = ~inst_mask.any(dim=1, keepdim=True)
        a = torch.softmax(s.masked_fill(empty, 0.0), dim=1).masked_fill(~inst_mask, 0.0)
        z = torch.where(inst_mask.unsqueeze(-1), a.unsqueeze(-1) * h, torch.zeros_like(h)).sum(dim=1)
        return z, a

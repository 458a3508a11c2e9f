"""Config section `mil` (owned by mmdlm.mil): the attention-MIL family's training settings."""

from __future__ import annotations

from pydantic import Field

from mmdlm.config_base import StrictModel


class MilConfig(StrictModel):
    """ABMIL (Ilse et al. 2018) per image modality; fusion width, dropout: model.width, model.dropout."""

    #: width of the gated attention's hidden layer
    attention_dim: int = Field(64, ge=1)
    #: the staged protocol: epochs of each single-modality stage, then of each fused configuration
    epochs_unimodal: int = Field(40, ge=1)
    epochs_multimodal: int = Field(20, ge=1)
    #: patients per optimisation step (the Cox partial likelihood is computed within a step's patients)
    batch_size: int = Field(32, ge=2)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    #: instances (tiles) drawn per bag at each training step (seeded; None: all). Prediction uses all.
    max_instances: int | None = Field(512, ge=1)
    #: torch threads while training (0: torch's default). The model is small: one thread is ~10x faster than
    #: two contending on a busy 2-core machine
    cpu_threads: int = Field(1, ge=0)

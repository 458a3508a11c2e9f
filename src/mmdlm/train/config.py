"""Config section owned by mmdlm.train: the paper's optimisation defaults and devices."""

from __future__ import annotations

from typing import Literal

from mmdlm.config_base import StrictModel


class TrainConfig(StrictModel):
    """Staged training (unimodal then multimodal), SGD as in the paper."""

    lr: float = 0.004
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs_unimodal: int = 200
    epochs_multimodal: int = 200
    ties: Literal["efron", "breslow"] = "efron"
    accelerator: str = "auto"
    devices: int | str = 1
    precision: str = "32-true"
    strategy: str = "auto"

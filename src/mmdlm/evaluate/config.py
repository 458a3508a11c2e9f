"""Config section owned by mmdlm.evaluate: cross-validation and statistics."""

from __future__ import annotations

from typing import Literal

from mmdlm.config_base import StrictModel
from mmdlm.modalities import CONFIGURATIONS


class CVConfig(StrictModel):
    """Folds per task, configurations compared, bootstrap size."""

    tasks: tuple[Literal["cox", "5yss"], ...] = ("cox", "5yss")
    folds_cox: int = 6
    folds_5yss: int = 12
    configurations: tuple[str, ...] = tuple(CONFIGURATIONS)
    bootstrap: int = 1000

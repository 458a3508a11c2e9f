"""Config section owned by mmdlm.cohort (ingest); the synthetic cohort's section lives in cohort/synth."""

from __future__ import annotations

from typing import Literal

from mmdlm.cohort.synth.config import SynthConfig
from mmdlm.config_base import StrictModel

__all__ = ["IngestConfig", "SynthConfig"]


class IngestConfig(StrictModel):
    """How a cohort is turned into the manifest."""

    endpoint: Literal["DSS", "OS", "PFI"] = "DSS"
    horizon_months: float = 60.0
    top_n_alterations: int = 10
    cna_threshold: int = 2

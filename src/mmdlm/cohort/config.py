"""Config sections owned by mmdlm.cohort: the synthetic cohort and ingest."""

from __future__ import annotations

from typing import Literal

from mmdlm.config_base import StrictModel


class SynthConfig(StrictModel):
    """Synthetic demo cohort: size and seed (further knobs live with the generator)."""

    patients: int = 120
    seed: int = 0
    mri_fraction: float = 31 / 230


class IngestConfig(StrictModel):
    """How a cohort is turned into the manifest."""

    endpoint: Literal["DSS", "OS", "PFI"] = "DSS"
    horizon_months: float = 60.0
    top_n_alterations: int = 10
    cna_threshold: int = 2

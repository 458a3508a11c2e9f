"""Config section owned by mmdlm.cohort.synth."""

from __future__ import annotations

from mmdlm.config_base import StrictModel


class SynthConfig(StrictModel):
    """Synthetic demo cohort: size and seed (further knobs live with the generator)."""

    patients: int = 120
    seed: int = 0
    mri_fraction: float = 31 / 230

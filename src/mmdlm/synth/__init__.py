"""mmdlm.synth: the synthetic ccRCC demo cohort writer (study files, slides, radiology, truth)."""

from mmdlm.synth.config import SynthConfig
from mmdlm.synth.writer import write_synthetic_cohort

__all__ = ["SynthConfig", "write_synthetic_cohort"]

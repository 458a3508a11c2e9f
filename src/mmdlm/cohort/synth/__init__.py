"""mmdlm.cohort.synth: the synthetic ccRCC demo cohort writer (study files, slides, radiology, truth)."""

from mmdlm.cohort.synth.config import SynthConfig
from mmdlm.cohort.synth.writer import write_synthetic_cohort

__all__ = ["SynthConfig", "write_synthetic_cohort"]

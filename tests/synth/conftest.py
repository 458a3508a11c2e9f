"""A tiny synthetic cohort shared by the synth tests (small slides and volumes, 4 patients: 3 CT + 1 MR)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdlm.synth import SynthConfig, write_synthetic_cohort

SMALL = {
    "patients": 4,
    "seed": 3,
    "slide_width": 1024,
    "slide_height": 768,
    "ct_matrix": 48,
    "ct_pixel_mm": 7.0,
    "ct_slices": 16,
    "ct_slice_mm": 12.0,
}


@pytest.fixture(scope="session")
def small_cfg() -> SynthConfig:
    """Config of the tiny test cohort."""
    return SynthConfig(**SMALL)


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory, small_cfg: SynthConfig) -> tuple[Path, dict]:
    """(folder, summary) of the tiny cohort, written once per session."""
    out = tmp_path_factory.mktemp("synth") / "cohort"
    summary = write_synthetic_cohort(out, small_cfg)
    return out, summary

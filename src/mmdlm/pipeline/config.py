"""Config section owned by mmdlm.pipeline: the end-to-end demo's own settings."""

from __future__ import annotations

from pydantic import Field

from mmdlm.config_base import StrictModel


class DemoConfig(StrictModel):
    """What `mmdlm demo` adds to the stages' sections: parallelism and the external test cohort."""

    #: processes writing the synthetic cohort and tiling its slides
    workers: int = Field(2, ge=1)
    #: patients of the second, independently drawn synthetic cohort used as the external test cohort (0: none)
    external_patients: int = Field(40, ge=0)
    #: synth seed of the external cohort (must differ from synth.seed to be independent)
    external_seed: int = Field(1000, ge=0)
    #: barcode site code of the external cohort (TCGA-EX-0001...): its patients share no ID with the
    #: training cohort's (TCGA-SY-...), which `evaluate` would otherwise report as shared with training
    external_site_code: str = Field("EX", pattern=r"^[A-Z0-9]{2}$")
    #: configurations applied to the external cohort (None: every configuration with fold models)
    external_configurations: tuple[str, ...] | None = None
    #: also run the attention-MIL family (features with model.encoder, CV on the same folds, MIL explain) into
    #: RUN/features and RUN/mil, compared with the end-to-end family in the report
    mil_family: bool = True

"""Config section owned by mmdlm.evaluate: cross-validation and statistics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from mmdlm.config_base import StrictModel
from mmdlm.modalities import CONFIGURATIONS

#: Clinical factors known to the baselines (columns of the manifest's patients.csv).
CLINICAL_FACTORS: tuple[str, ...] = ("grade", "t_stage", "n_stage", "m_stage", "stage", "age")


class CVConfig(StrictModel):
    """Folds per task, configurations compared, bootstrap size, survival statistics (paper defaults)."""

    tasks: tuple[Literal["cox", "5yss"], ...] = ("cox", "5yss")
    folds_cox: int = Field(6, ge=2)
    folds_5yss: int = Field(12, ge=2)
    #: configurations trained and compared per task (names of mmdlm.modalities.CONFIGURATIONS)
    configurations: tuple[str, ...] = tuple(CONFIGURATIONS)
    #: configurations of the 5YSS task when they differ from `configurations` (None: the same)
    configurations_5yss: tuple[str, ...] | None = None
    #: bootstrap replicates for the 95% intervals (patient-level resampling within each fold); 0 = none
    bootstrap: int = Field(1000, ge=0)
    ci_level: float = Field(0.95, gt=0.0, lt=1.0)
    #: Uno's IPCW C-index (scikit-survival) beside Harrell's
    uno: bool = True
    #: the pre-specified reference every configuration (and every clinical factor) is compared with, on the
    #: same patients; None: the most fused configuration of the task (never chosen from the results)
    reference: str | None = None
    #: times (months) of the time-dependent AUC (scikit-survival cumulative_dynamic_auc)
    auc_times: tuple[float, ...] = (12.0, 36.0, 60.0)
    #: integrated Brier score per fold (survival from a Cox model of the other folds' standardised risks)
    brier: bool = True
    #: bins of the 5YSS calibration curve (quantiles of the predicted probability)
    calibration_bins: int = Field(5, ge=2)
    #: decision threshold on p_dead_5y for accuracy and the predicted 5YSS class
    threshold_5yss: float = Field(0.5, gt=0.0, lt=1.0)
    #: times (months) of the numbers-at-risk table under the Kaplan-Meier curves
    km_times: tuple[float, ...] = (0.0, 12.0, 24.0, 36.0, 48.0, 60.0, 72.0, 84.0, 96.0, 108.0, 120.0)
    #: clinical factors whose C-index is reported (higher value = higher risk)
    clinical_factors: tuple[str, ...] = CLINICAL_FACTORS
    #: covariates of the multivariable Cox models (the paper's T, N, M and grade)
    cox_covariates: tuple[str, ...] = ("t_stage", "n_stage", "m_stage", "grade")

    @field_validator("configurations", "configurations_5yss")
    @classmethod
    def _known_configurations(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return v
        unknown = [c for c in v if c not in CONFIGURATIONS]
        if unknown:
            raise ValueError(f"unknown configuration(s) {unknown}; known: {list(CONFIGURATIONS)}")
        if not v:
            raise ValueError("at least one configuration is needed")
        return v

    @field_validator("reference")
    @classmethod
    def _known_reference(cls, v: str | None) -> str | None:
        if v is not None and v not in CONFIGURATIONS:
            raise ValueError(f"unknown reference configuration {v!r}; known: {list(CONFIGURATIONS)}")
        return v

    @field_validator("clinical_factors", "cox_covariates")
    @classmethod
    def _known_factors(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in v if c not in CLINICAL_FACTORS]
        if unknown:
            raise ValueError(f"unknown clinical factor(s) {unknown}; known: {list(CLINICAL_FACTORS)}")
        return v

    def configurations_for(self, task: str) -> tuple[str, ...]:
        """Configurations cross-validated for `task` ('cox' or '5yss')."""
        if task == "5yss" and self.configurations_5yss is not None:
            return self.configurations_5yss
        return self.configurations

    def n_folds(self, task: str) -> int:
        """Number of folds of `task` ('cox' or '5yss')."""
        return self.folds_cox if task == "cox" else self.folds_5yss

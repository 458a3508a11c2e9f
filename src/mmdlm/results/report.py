"""The schema of RUN/report.json (`mmdlm report`, docs/formats/report.md): what mmdlm.report gathered from the
run's files, in the order it is written."""

from __future__ import annotations

from typing import ClassVar

from pydantic import JsonValue

from mmdlm.results.base import Real, ResultModel
from mmdlm.results.metrics import Calibration, KaplanMeier, PrCurve, RocCurve


class Label5y(ResultModel):
    """5-year labels of the cohort."""

    died: int
    survived: int
    excluded: int


class Cohort(ResultModel):
    """Patients with an outcome, events, follow-up and modality coverage."""

    n_patients: int
    events: int
    endpoint: str
    median_followup: Real | None
    median_followup_censored: Real | None
    label_5y: Label5y
    modalities: dict[str, int]


class ReportTableRow(ResultModel):
    """A configuration's primary metric over the folds and its comparison with the reference."""

    configuration: str
    metric: str
    folds: list[Real | None]
    n_defined: int
    n_folds: int
    mean: Real | None
    max: Real | None
    ci_low: Real | None
    ci_high: Real | None
    p_ttest: Real | None
    p_wilcoxon: Real | None
    vs: str | None
    n_patients_compared: int | None
    n_folds_compared: int | None
    difference: Real | None
    corrected_t_p: Real | None
    bootstrap_difference: Real | None
    bootstrap_low: Real | None
    bootstrap_high: Real | None
    bootstrap_p: Real | None
    note: str | None


class ReportClinicalRow(ResultModel):
    """A clinical factor beside the reference model on the same folds and patients."""

    factor: str
    model: str | None
    model_mean: Real | None
    factor_mean: Real | None
    model_folds: list[Real | None] | None
    factor_folds: list[Real | None] | None
    ttest_p: Real | None
    wilcoxon_p: Real | None
    error: str | None
    n_patients_compared: int | None
    n_folds_compared: int | None
    difference: Real | None
    corrected_t_p: Real | None
    bootstrap_difference: Real | None
    bootstrap_low: Real | None
    bootstrap_high: Real | None
    bootstrap_p: Real | None
    note: str | None


class MetricMean(ResultModel):
    """A metric's mean over the folds where it is defined, with that count."""

    mean: Real | None
    n_defined: int
    n_folds: int


class MetricsRow(ResultModel):
    """Every metric of one configuration (means over the folds)."""

    configuration: str
    metrics: dict[str, MetricMean]


class ClinicalCindex(ResultModel):
    """A clinical factor's C-index on the whole cohort."""

    factor: str
    cindex: Real | None
    n: int


class MetricBlock(ResultModel):
    """A metric of the fused configuration: mean, max and CI over the folds, and pooled."""

    mean: Real | None
    max: Real | None
    ci_low: Real | None
    ci_high: Real | None
    pooled: Real | None


class FiveYear(ResultModel):
    """The 5YSS figures of the most fused configuration."""

    configuration: str
    roc_curve: RocCurve
    pr_curve: PrCurve
    calibration: Calibration | None
    accuracy: MetricBlock
    roc_auc: MetricBlock
    pr_auc: MetricBlock
    brier_5y: MetricBlock


class CovariateRow(ResultModel):
    """A covariate's hazard ratio, its interval and p."""

    name: str
    hr: Real | None
    ci_low: Real | None
    ci_high: Real | None
    p: Real | None


class CoxBlock(ResultModel):
    """A multivariable Cox model as the report shows it (configuration: the model's, when it has one)."""

    n: int
    events: int
    dropped_incomplete: int | None
    unknown: dict[str, int] | None
    unknown_handling: str | None
    ph_test_min_p: Real | None
    covariates: list[CovariateRow]
    configuration: str | None = None


class AttentionBlock(ResultModel):
    """Modality attention of one configuration."""

    configuration: str
    mean: dict[str, Real | None]
    sd: dict[str, Real | None]


class ExternalRow(ResultModel):
    """One external cohort's primary metric of a task and configuration, for one model family."""

    family: str
    cohort: str
    task: str
    configuration: str
    metric: str
    n: int
    ensemble: Real | None
    ensemble_low: Real | None
    ensemble_high: Real | None
    external_mean: Real
    external_max: Real | None
    cv_mean: Real | None
    p_mannwhitney: Real | None
    shared_with_training: int
    note: str | None


class Headline(ResultModel):
    """The fused model's C-index beside the best unimodal one (empty without a Cox task)."""

    fused: str | None = None
    fused_c_index: Real | None = None
    best_unimodal: str | None = None
    best_unimodal_c_index: Real | None = None
    reference: str | None = None


class TaskSection(ResultModel):
    """The section of a task the report has no layout of its own for (e.g. discrete): its primary metric
    per configuration against the reference, every metric per configuration, and what they were computed
    on (folds, patients, score, the task's parameters)."""

    task: str
    title: str
    metric: str
    score: str
    n_folds: int
    folds_field: str
    stratified_by: str
    n_patients: dict[str, int]
    params: dict[str, JsonValue]
    reference: str | None
    reference_source: str | None
    table: list[ReportTableRow]
    metrics: list[MetricsRow]
    notes: list[str]


class Training(ResultModel):
    """The training settings of config.yaml the summary quotes."""

    select: str | None
    epochs_unimodal: int | None
    epochs_multimodal: int | None
    batch_size: int | None
    lr: Real | None
    image_size: int | None
    pretrained: str | None
    backbone: str | None


class FamilyBlock(ResultModel):
    """One family's mean and CI of a metric."""

    mean: Real | None
    low: Real | None
    high: Real | None


class FamilyRow(ResultModel):
    """A task and configuration in both families, with the synthetic truth's C-index."""

    task: str
    configuration: str
    metric: str
    n: int | None
    end_to_end: FamilyBlock
    mil: FamilyBlock
    truth: Real | None


class Families(ResultModel):
    """RUN/mil/metrics.json beside RUN/metrics.json, and what RUN/mil/family.json says."""

    rows: list[FamilyRow]
    encoder: JsonValue
    same_folds: dict[str, bool] | None
    features: JsonValue
    explain: JsonValue


class Provenance(ResultModel):
    """Seed, hashes of the inputs, versions, the config and the stage timings."""

    encoder: JsonValue
    seed: int | None
    data_hashes: dict[str, str]
    versions: dict[str, str]
    config: str
    timings: dict[str, Real]


class ReportData(ResultModel):
    """RUN/report.json."""

    file_kind: ClassVar[str] = "report.json"

    title: str
    generated: str
    cohort: Cohort
    #: folds of the run under each task's CVConfig folds field (folds_cox, folds_5yss; None: not run)
    cv: dict[str, int | None]
    reference_configuration: str | None
    cindex_table: list[ReportTableRow]
    clinical_cindex: list[ClinicalCindex]
    clinical_vs_model: list[ReportClinicalRow]
    survival_metrics: list[MetricsRow]
    reference_source: str | None
    fivey: FiveYear | None
    fivey_table: list[ReportTableRow]
    km: list[KaplanMeier]
    cox: CoxBlock | None
    attention: AttentionBlock | None
    external: list[ExternalRow]
    images: dict[str, str]
    headline: Headline
    cox_error: str | None
    fivey_reference: str | None = None
    task_sections: list[TaskSection]
    comparison_notes: list[str]
    external_notes: list[str]
    clinical_cox: CoxBlock | None
    clinical_cox_error: str | None
    training: Training
    families: Families | None
    provenance: Provenance

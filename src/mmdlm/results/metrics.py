"""The schema of RUN/metrics.json (`mmdlm cv`) and RUN/external/<name>/metrics.json (`mmdlm evaluate`),
docs/formats/run.md. Fields are declared in the order evaluate writes them; optional ones are absent from a
dump when they were absent from the file, so a validated file dumps back to the same dict."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Discriminator, SerializerFunctionWrapHandler, Tag, model_serializer

from mmdlm.results.base import Real, ResultModel


def _error_tag(value: Any) -> str:
    """'<error>' for a block that says why it was not computed ({"error": ...}), else '<value>'."""
    has_error = "error" in value if isinstance(value, dict) else getattr(value, "error", None) is not None
    return "<error>" if has_error else "<value>"


def _or_error(value: type, error: type) -> Any:
    """A block that is either `value` or, when it could not be computed, `error` (told apart by "error")."""
    return Annotated[Annotated[value, Tag("<value>")] | Annotated[error, Tag("<error>")],
                     Discriminator(_error_tag)]


# --- per configuration -------------------------------------------------------------------------------------
class Interval(ResultModel):
    """A bootstrap percentile interval (n_boot, n_undefined only when bootstrapped)."""

    low: Real | None
    high: Real | None
    n_boot: int | None = None
    n_undefined: int | None = None


class MetricSummary(ResultModel):
    """One metric over the folds: per-fold values (None = undefined there) and their summary over the
    n_defined folds where it is defined."""

    folds: list[Real | None]
    n_folds: int
    mean: Real | None
    max: Real | None
    min: Real | None
    sd: Real | None
    n_defined: int
    ci: Interval


class FoldRow(ResultModel):
    """One fold of one configuration: counts, then every per-fold metric of the task (name -> value)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Real | None]

    fold: int
    n: int
    events: int
    dead_5y: int | None = None

    def metric(self, name: str) -> float | None:
        """The fold's value of metric `name` (None: undefined on this fold, or not a metric of the task)."""
        return (self.__pydantic_extra__ or {}).get(name)


class RocCurve(ResultModel):
    """ROC points of the pooled out-of-fold predictions (5yss)."""

    fpr: list[Real]
    tpr: list[Real]
    thresholds: list[Real]


class PrCurve(ResultModel):
    """Precision-recall points of the pooled out-of-fold predictions (5yss)."""

    recall: list[Real]
    precision: list[Real]
    thresholds: list[Real]


class Calibration(ResultModel):
    """Calibration curve of the pooled P(dead within 5 years) (5yss)."""

    predicted: list[Real]
    observed: list[Real]
    brier: Real | None
    n_bins: int


class KmGroup(ResultModel):
    """The Kaplan-Meier curve of one predicted group with its 95% band."""

    label: str
    n: int
    events: int
    timeline: list[Real | None]
    survival: list[Real | None]
    ci_low: list[Real | None]
    ci_high: list[Real | None]
    median_survival: Real | None


class AtRisk(ResultModel):
    """Numbers at risk per group at `times` (months)."""

    times: list[Real]
    rows: dict[str, list[int]]


class KaplanMeier(ResultModel):
    """Kaplan-Meier curves of the predicted groups and the log-rank test across them."""

    name: str
    groups: list[KmGroup]
    p_logrank: Real | None
    test_statistic: Real | None
    at_risk: AtRisk


class CoxCovariate(ResultModel):
    """One covariate of a multivariable Cox model."""

    name: str
    hr: Real | None
    ci_low: Real | None
    ci_high: Real | None
    p: Real | None
    coef: Real | None
    se: Real | None
    ph_test_statistic: Real | None
    ph_p: Real | None


class CoxFit(ResultModel):
    """A fitted multivariable Cox model (lifelines) on the complete cases of its covariates."""

    name: str
    covariates: list[CoxCovariate]
    n: int
    events: int
    dropped_incomplete: int
    unknown: dict[str, int]
    unknown_handling: str
    concordance: Real | None
    log_likelihood: Real | None
    ph_violations: list[str]


class CoxError(ResultModel):
    """A Cox model that could not be fitted, and why."""

    error: str
    covariates: list[CoxCovariate]


CoxResult = _or_error(CoxFit, CoxError)


class Attention(ResultModel):
    """Mean and sd over patients of each modality's attention weight."""

    mean: dict[str, Real | None]
    sd: dict[str, Real | None]


class ConfigurationEntry(ResultModel):
    """Every statistic of one configuration: per-fold rows, one MetricSummary per metric of the task (keyed
    by metric name, between per_fold and pooled), pooled figures, curves (5yss), KM, Cox, attention."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, MetricSummary]

    n_patients: int
    per_fold: list[FoldRow]
    pooled: dict[str, Real | None]
    roc_curve: RocCurve | None = None
    pr_curve: PrCurve | None = None
    calibration: Calibration | None = None
    km: KaplanMeier
    cox: CoxResult | None = None
    attention: Attention | None = None

    #: the declared fields written before the metric summaries
    _HEAD: ClassVar[tuple[str, ...]] = ("n_patients", "per_fold")

    @property
    def metrics(self) -> dict[str, MetricSummary]:
        """Metric name -> its summary over the folds, in the task's order."""
        return dict(self.__pydantic_extra__ or {})

    def metric(self, name: str) -> MetricSummary | None:
        """The summary of metric `name` (None when the task has no such metric)."""
        return (self.__pydantic_extra__ or {}).get(name)

    @model_serializer(mode="wrap")
    def _written_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        names = list(self.__pydantic_extra__ or {})
        head = {k: out[k] for k in self._HEAD if k in out}
        metrics = {k: out[k] for k in names if k in out}
        return {**head, **metrics, **{k: v for k, v in out.items() if k not in head and k not in metrics}}


# --- comparisons -------------------------------------------------------------------------------------------
class PairedTests(ResultModel):
    """The paper's plain paired tests of one metric's per-fold values (two configurations)."""

    n_folds: int
    mean_difference: Real | None
    ttest_p: Real | None
    wilcoxon_p: Real | None


class CorrectedTTest(ResultModel):
    """The corrected resampled t-test (Nadeau & Bengio) over folds."""

    n_folds: int
    mean_difference: Real | None
    t: Real | None
    df: int | None
    p: Real | None


class PairedBootstrap(ResultModel):
    """The patient-level paired bootstrap of the metric difference."""

    n_boot: int
    difference: Real | None
    low: Real | None
    high: Real | None
    p: Real | None
    n_undefined: int


class AsInPaper(ResultModel):
    """The plain paired t-test and Wilcoxon over folds, labelled as the paper's."""

    ttest_p: Real | None
    wilcoxon_p: Real | None
    label: str


class Comparison(ResultModel):
    """a against b on the patients both score, fold by fold (mmdlm.evaluate.paired.compare_paired)."""

    n_patients: int
    folds: list[int]
    n_folds_used: int
    a_folds: list[Real | None]
    b_folds: list[Real | None]
    differences: list[Real | None]
    mean_difference: Real | None
    corrected_ttest: CorrectedTTest
    bootstrap: PairedBootstrap
    as_in_paper: AsInPaper
    note: str | None


class FactorUnknown(ResultModel):
    """A clinical factor no validation patient has: nothing to compare."""

    n_patients: int
    error: str


FactorComparison = _or_error(Comparison, FactorUnknown)


class VsReference(ResultModel):
    """Every configuration and clinical factor against the pre-specified reference (only the reference's
    source when the task has no reference)."""

    reference: str | None = None
    configurations: dict[str, Comparison] = {}
    clinical_factors: dict[str, FactorComparison] = {}
    reference_source: str


class TableRow(ResultModel):
    """A row of the task's table: a configuration's primary metric and its comparison with the reference."""

    configuration: str
    metric: str
    mean: Real | None
    max: Real | None
    sd: Real | None
    ci_low: Real | None
    ci_high: Real | None
    folds: list[Real | None]
    n_defined: int
    n_folds: int
    is_reference: bool
    vs: str | None = None
    n_patients_compared: int | None = None
    n_folds_compared: int | None = None
    difference: Real | None = None
    corrected_t_p: Real | None = None
    bootstrap_difference: Real | None = None
    bootstrap_low: Real | None = None
    bootstrap_high: Real | None = None
    bootstrap_p: Real | None = None
    ttest_p: Real | None = None
    wilcoxon_p: Real | None = None
    note: str | None = None


class ClinicalRow(ResultModel):
    """A clinical factor beside the reference model on the same folds and patients (or why not)."""

    factor: str
    model: str | None
    n_patients_compared: int
    model_mean: Real | None = None
    factor_mean: Real | None = None
    model_folds: list[Real | None] | None = None
    factor_folds: list[Real | None] | None = None
    n_folds_compared: int | None = None
    difference: Real | None = None
    corrected_t_p: Real | None = None
    bootstrap_difference: Real | None = None
    bootstrap_low: Real | None = None
    bootstrap_high: Real | None = None
    bootstrap_p: Real | None = None
    ttest_p: Real | None = None
    wilcoxon_p: Real | None = None
    note: str | None = None
    error: str | None = None


class TaskMetrics(ResultModel):
    """metrics.json's entry of one task (mmdlm.evaluate.summary.task_metrics)."""

    task: str
    score: str
    primary_metric: str
    n_folds: int
    configurations: dict[str, ConfigurationEntry]
    comparisons: dict[str, dict[str, dict[str, PairedTests]]]
    reference: str | None
    vs_reference: VsReference
    table: list[TableRow]
    clinical_table: list[ClinicalRow]


# --- clinical baselines ------------------------------------------------------------------------------------
class FactorBaseline(ResultModel):
    """Harrell's C of one clinical factor on the patients with it known."""

    c_index: Real | None
    n: int
    events: int
    missing: int
    levels: dict[str, int] | None


class Baselines(ResultModel):
    """The cohort's clinical baselines (`mmdlm baselines`; `cohort` only in its --json output)."""

    file_kind: ClassVar[str] = "baselines"

    endpoint: str | None
    patients: int
    patients_with_survival: int
    events: int
    factors: dict[str, FactorBaseline]
    cox: CoxResult
    cohort: str | None = None


class BaselinesError(ResultModel):
    """Baselines that could not be computed, and why."""

    error: str


BaselinesResult = _or_error(Baselines, BaselinesError)


class MetricsFile(ResultModel):
    """RUN/metrics.json: every task's entry and the cohort's clinical baselines."""

    file_kind: ClassVar[str] = "metrics.json"

    tasks: dict[str, TaskMetrics]
    baselines: BaselinesResult | None = None


# --- external cohort ---------------------------------------------------------------------------------------
class VsCv(ResultModel):
    """One metric on the external cohort beside the cross-validated figures."""

    cv_mean: Real | None
    cv_max: Real | None
    ensemble: Real | None
    ensemble_ci: Interval | None
    external_mean: Real | None
    external_max: Real | None
    external_max_label: str
    mannwhitney_p: Real | None


class ExternalConfiguration(ResultModel):
    """A configuration's fold models and their ensemble on the external cohort."""

    n_patients: int
    fold_models: dict[str, MetricSummary]
    ensemble: ConfigurationEntry
    vs_cv: dict[str, VsCv]
    score: str


class ExternalTask(ResultModel):
    """One task's configurations on the external cohort."""

    configurations: dict[str, ExternalConfiguration]


class ExternalMetrics(ResultModel):
    """RUN/external/<name>/metrics.json (`mmdlm evaluate`)."""

    file_kind: ClassVar[str] = "external metrics.json"

    name: str
    patients: int
    shared_with_training: list[str]
    cv_difference_note: str
    tasks: dict[str, ExternalTask]

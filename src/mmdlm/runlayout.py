"""The run folder's file names in one place (docs/formats/run.md): every stage that reads or writes RUN/...
asks a RunLayout instead of spelling the names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunLayout:
    """Paths inside one run folder (`root`); an external cohort's folder uses the same names."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def metrics_json(self) -> Path:
        """Every task's statistics (docs/formats/metrics.md)."""
        return self.root / "metrics.json"

    @property
    def predictions_csv(self) -> Path:
        """Out-of-fold predictions, one row per patient, task, configuration and fold."""
        return self.root / "predictions.csv"

    @property
    def folds_json(self) -> Path:
        """The folds of every task (made once, reused)."""
        return self.root / "folds.json"

    @property
    def config_yaml(self) -> Path:
        """The config the run was made with."""
        return self.root / "config.yaml"

    @property
    def pipeline_json(self) -> Path:
        """The demo's stage timings."""
        return self.root / "pipeline.json"

    @property
    def report_json(self) -> Path:
        """The report's data (docs/formats/report.md)."""
        return self.root / "report.json"

    @property
    def explain_dir(self) -> Path:
        """Grad-CAM, markups and the attention summary."""
        return self.root / "explain"

    @property
    def external_dir(self) -> Path:
        """One folder per external cohort, RUN/external/<name>/ (a RunLayout of its own)."""
        return self.root / "external"

    def fold_dir(self, task: str, fold: int) -> Path:
        """RUN/cv/<task>/fold_<k>: a fold's stages and its cached predictions."""
        return self.root / "cv" / task / f"fold_{fold}"

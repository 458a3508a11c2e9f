"""The two model families side by side: the end-to-end run's metrics (RUN/metrics.json) beside the MIL
family's (RUN/mil/metrics.json, same folds), per task and configuration, with the synthetic cohort's truth
C-index of what each configuration can see when the run has its truth.csv; the MIL encoder's identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmdlm.results.files import read_metrics
from mmdlm.results.metrics import ConfigurationEntry
from mmdlm.runlayout import RunLayout

#: the metric the truth's C-index is comparable with: shown beside the tasks judged by Harrell's C
TRUTH_METRIC = "c_index"

#: truth.csv risk component each modality shows (the synthetic cohort's generator, docs/formats/synth.md)
COMPONENT = {
    "tile_10x": "fine_histology",
    "tile_5x": "coarse_histology",
    "radiology": "tumour_volume",
    "genomics": "genomics",
}


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def truth_cindex(truth_csv: Path, modalities: tuple[str, ...]) -> float | None:
    """Harrell's C of the sum of the truth risk components `modalities` show (the configuration's ceiling)."""
    import pandas as pd
    from lifelines.utils import concordance_index

    truth = pd.read_csv(truth_csv, dtype={"patient_id": str})
    if not all(COMPONENT[m] in truth.columns for m in modalities):
        return None
    score = sum(truth[COMPONENT[m]].to_numpy(float) for m in modalities)
    return float(concordance_index(truth["dss_months"], -score, truth["dss_event"]))


def _block(conf: ConfigurationEntry | None, metric: str) -> dict[str, Any]:
    m = conf.metric(metric) if conf is not None else None
    if m is None:
        return {"mean": None, "low": None, "high": None}
    return {"mean": m.mean, "low": m.ci.low, "high": m.ci.high}


def families(run_dir: Path) -> dict[str, Any] | None:
    """Rows {task, configuration, metric, end_to_end {mean, low, high}, mil {...}, truth} and the encoder;
    None when the run has no MIL family."""
    from mmdlm.modalities import CONFIGURATIONS

    run_dir = Path(run_dir)
    mil = read_metrics(RunLayout(run_dir / "mil").metrics_json)
    e2e = read_metrics(RunLayout(run_dir).metrics_json)
    if mil is None or e2e is None:
        return None
    family = _read(run_dir / "mil" / "family.json") or {}
    truth_csv = run_dir / "synth" / "truth.csv"
    rows = []
    for task, m in mil.tasks.items():
        metric = m.primary_metric
        other = e2e.tasks[task].configurations if task in e2e.tasks else {}
        for conf, entry in m.configurations.items():
            has_truth = metric == TRUTH_METRIC and truth_csv.is_file()
            truth = truth_cindex(truth_csv, CONFIGURATIONS[conf]) if has_truth else None
            rows.append(
                {
                    "task": task,
                    "configuration": conf,
                    "metric": metric,
                    "n": entry.n_patients,
                    "end_to_end": _block(other.get(conf), metric),
                    "mil": _block(entry, metric),
                    "truth": truth,
                }
            )
    return {
        "rows": rows,
        "encoder": family.get("encoder") or _read(run_dir / "features" / "encoder.json"),
        "same_folds": family.get("same_folds_as_end_to_end"),
        "features": family.get("features"),
        "explain": family.get("explain"),
    }

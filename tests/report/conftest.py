"""A report-data dict in the shape of docs/formats/report.md, built from a small random example."""

from __future__ import annotations

import numpy as np
import pytest


def sample_report_data(title: str = "example") -> dict:
    rng = np.random.default_rng(0)
    configs = ["radiology", "histo_5x", "histo_10x", "histo_radiology"]
    table = []
    for i, c in enumerate(configs):
        folds = list(np.round(0.6 + 0.05 * i + rng.normal(0, 0.02, 3), 4))
        table.append(
            {
                "configuration": c,
                "folds": folds,
                "mean": float(np.mean(folds)),
                "max": float(max(folds)),
                "ci_low": float(min(folds)) - 0.05,
                "ci_high": float(max(folds)) + 0.05,
                "p_ttest": None if c == "histo_radiology" else 0.01 * (i + 1),
                "p_wilcoxon": None if c == "histo_radiology" else 0.25,
            }
        )
    t = list(range(0, 100, 10))
    km = {
        "name": "Cox risk, median split",
        "p_logrank": 0.0012,
        "groups": [
            {
                "label": "low risk",
                "n": 60,
                "timeline": t,
                "survival": [1 - 0.002 * x for x in t],
                "ci_low": [1 - 0.004 * x for x in t],
                "ci_high": [1.0] * len(t),
            },
            {
                "label": "high risk",
                "n": 60,
                "timeline": t,
                "survival": [1 - 0.006 * x for x in t],
                "ci_low": [1 - 0.008 * x for x in t],
                "ci_high": [1 - 0.004 * x for x in t],
            },
        ],
        "at_risk": {
            "times": [0, 24, 48, 72],
            "rows": {"low risk": [60, 50, 40, 20], "high risk": [60, 40, 25, 8]},
        },
    }
    metric = {"mean": 0.8, "max": 0.9, "ci_low": 0.7, "ci_high": 0.88, "pooled": 0.81}
    return {
        "title": title,
        "generated": "2026-11-29T00:00:00Z",
        "cohort": {
            "n_patients": 120,
            "events": 35,
            "endpoint": "DSS",
            "median_followup": 50.5,
            "label_5y": {"died": 30, "survived": 50, "excluded": 40},
            "modalities": {"tile_10x": 120, "tile_5x": 120, "radiology": 118, "genomics": 120},
        },
        "cv": {"folds_cox": 3, "folds_5yss": 3},
        "reference_configuration": "histo_radiology",
        "cindex_table": table,
        "clinical_cindex": [
            {"factor": "grade", "cindex": 0.66, "n": 118},
            {"factor": "t_stage", "cindex": 0.7, "n": 120},
        ],
        "fivey": {
            "configuration": "histo_radiology",
            "accuracy": metric,
            "roc_auc": metric,
            "pr_auc": metric,
            "roc_curve": {"fpr": [0, 0.2, 1], "tpr": [0, 0.7, 1]},
            "pr_curve": {"recall": [0, 0.5, 1], "precision": [1, 0.8, 0.4]},
        },
        "km": [km],
        "cox": {
            "n": 118,
            "events": 34,
            "ph_test_min_p": 0.2,
            "covariates": [
                {"name": "t_stage", "hr": 1.8, "ci_low": 1.2, "ci_high": 2.6, "p": 0.003},
                {"name": "model high risk", "hr": 3.9, "ci_low": 1.9, "ci_high": 8.0, "p": 0.0002},
            ],
        },
        "attention": {
            "configuration": "histo_radiology",
            "mean": {"tile_10x": 0.4, "tile_5x": 0.3, "radiology": 0.3},
            "sd": {"tile_10x": 0.05, "tile_5x": 0.04, "radiology": 0.06},
        },
        "fivey_table": [dict(r, metric="roc_auc") for r in table],
        "fivey_reference": "histo_radiology",
        "cox_error": None,
        "task_sections": [],
        "clinical_cox_error": None,
        "clinical_cox": {
            "n": 118,
            "events": 34,
            "ph_test_min_p": 0.3,
            "covariates": [{"name": "t_stage", "hr": 2.1, "ci_low": 1.4, "ci_high": 3.0, "p": 0.001}],
        },
        "external": [
            {
                "family": "end_to_end",
                "cohort": "other",
                "task": "cox",
                "configuration": "histo_radiology",
                "metric": "c_index",
                "n": 40,
                "external_mean": 0.71,
                "external_max": 0.74,
                "ensemble": 0.72,
                "cv_mean": 0.7,
                "p_mannwhitney": 0.5,
            }
        ],
        "headline": {
            "fused": "histo_radiology",
            "fused_c_index": 0.75,
            "best_unimodal": "histo_10x",
            "best_unimodal_c_index": 0.7,
            "reference": "histo_radiology",
        },
        "training": {
            "select": "last_epoch",
            "epochs_unimodal": 3,
            "epochs_multimodal": 3,
            "batch_size": 16,
            "lr": 0.004,
            "image_size": 64,
            "pretrained": "none",
            "backbone": "resnet18",
        },
        "images": {},
        "provenance": {
            "seed": 0,
            "data_hashes": {"patients.csv": "abc123"},
            "versions": {"mmdlm": "0.1.0"},
            "config": "seed: 0\n",
            "timings": {"cross-validation": 12.5},
        },
    }


@pytest.fixture
def report_data():
    """Factory of sample report data (title as argument)."""
    return sample_report_data

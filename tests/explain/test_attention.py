"""Modality attention summary per task and configuration, read from a run's predictions table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmdlm.errors import MmdlmError
from mmdlm.explain.attention import attention_summary, read_predictions, write_attention_summary


def _predictions(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for task in ("cox", "5yss"):
        for configuration in ("histology", "histo_radiology_genomics"):
            for i in range(6):
                w = rng.dirichlet(np.ones(4))
                if configuration == "histology":
                    w = np.array([w[0], 1 - w[0], 0.0, 0.0])
                rows.append({"patient_id": f"TCGA-SY-{i % 3:04d}", "task": task,
                             "configuration": configuration,
                             "fold": i % 2, "risk": rng.normal() if task == "cox" else "",
                             "p_dead_5y": rng.uniform() if task == "5yss" else "",
                             "att_tile_10x": w[0], "att_tile_5x": w[1], "att_radiology": w[2],
                             "att_genomics": w[3]})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_summary_matches_the_table(tmp_path: Path) -> None:
    path = _predictions(tmp_path / "predictions.csv")
    table = read_predictions(path)
    summary = attention_summary(table)
    assert len(summary) == 4
    part = table[(table.task == "cox") & (table.configuration == "histo_radiology_genomics")]
    row = summary[(summary.task == "cox") & (summary.configuration == "histo_radiology_genomics")].iloc[0]
    assert row["n"] == 6 and row["n_patients"] == 3
    for m in ("tile_10x", "tile_5x", "radiology", "genomics"):
        assert row[f"mean_{m}"] == pytest.approx(part[f"att_{m}"].mean())
        assert row[f"sd_{m}"] == pytest.approx(np.std(part[f"att_{m}"].to_numpy(), ddof=1))
    histology = summary[summary.configuration == "histology"]
    assert (histology["mean_radiology"] == 0).all() and (histology["mean_genomics"] == 0).all()
    means = summary[[f"mean_{m}" for m in ("tile_10x", "tile_5x", "radiology", "genomics")]].sum(axis=1)
    np.testing.assert_allclose(means, 1.0)  # weights are a softmax: they sum to one per patient
    csv, png = write_attention_summary(tmp_path / "explain", table)
    assert len(pd.read_csv(csv)) == 4
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] > 300


def test_bad_predictions_are_reported(tmp_path: Path) -> None:
    path = _predictions(tmp_path / "predictions.csv")
    table = pd.read_csv(path)
    table.drop(columns=["att_genomics"]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(MmdlmError, match="att_genomics"):
        read_predictions(tmp_path / "a.csv")
    table["att_radiology"] = table["att_radiology"].astype(object)
    table.loc[3, "att_radiology"] = "high"
    table.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(MmdlmError, match="row 5"):
        read_predictions(tmp_path / "b.csv")

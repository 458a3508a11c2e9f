"""Modality attention weights of a run: mean and sd per modality, task and configuration, and a plot.

Reads the run's predictions table (docs/formats.md section 5; columns att_tile_10x, att_tile_5x,
att_radiology, att_genomics; one row per patient, task, configuration and fold).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.atomic import atomic_path
from mmdlm.errors import MmdlmError
from mmdlm.explain.figure import save_figure
from mmdlm.modalities import CONFIGURATIONS, MODALITIES

ATTENTION_COLUMNS = tuple(f"att_{m}" for m in MODALITIES)
KEYS = ("task", "configuration")


def read_predictions(path: str | Path) -> pd.DataFrame:
    """The run's predictions.csv with its attention columns checked (MmdlmError names file and column)."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("predictions table not found", file=path)
    table = pd.read_csv(path, dtype={"patient_id": str})
    for col in (*KEYS, "patient_id", *ATTENTION_COLUMNS):
        if col not in table.columns:
            raise MmdlmError("missing column", file=path, field=col)
    for col in ATTENTION_COLUMNS:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = table[col].notna() & values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise MmdlmError(f"not a number: {table[col].iloc[row]!r}", file=path, field=col, row=row + 2)
        table[col] = values
    return table


def attention_summary(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, configuration): n rows, n patients, and mean / sd of each modality's weight."""
    rows = []
    for (task, configuration), group in predictions.groupby(list(KEYS), sort=True):
        row = {"task": task, "configuration": configuration, "n": len(group),
               "n_patients": int(group["patient_id"].nunique())}
        for m, col in zip(MODALITIES, ATTENTION_COLUMNS, strict=True):
            values = group[col].dropna().to_numpy(dtype=np.float64)
            row[f"mean_{m}"] = float(values.mean()) if values.size else np.nan
            row[f"sd_{m}"] = float(values.std(ddof=1)) if values.size > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def write_attention_summary(out_dir: str | Path, predictions: pd.DataFrame) -> tuple[Path, Path]:
    """attention_summary.csv and attention_summary.png (bars: mean weight per modality, sd as error bars)."""
    out_dir = Path(out_dir)
    summary = attention_summary(predictions)
    csv = out_dir / "attention_summary.csv"
    with atomic_path(csv) as tmp:
        summary.to_csv(tmp, index=False)
    png = plot_attention(out_dir / "attention_summary.png", summary)
    return csv, png


def plot_attention(path: str | Path, summary: pd.DataFrame) -> Path:
    """Grouped bar chart per task: configurations on x, one bar per modality (mean, sd error bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(summary["task"])) or ["(none)"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.2), squeeze=False)
    order = {name: i for i, name in enumerate(CONFIGURATIONS)}
    width = 0.8 / len(MODALITIES)
    for ax, task in zip(axes[0], tasks, strict=True):
        part = summary[summary["task"] == task].copy()
        part = part.sort_values("configuration", key=lambda s: s.map(lambda c: order.get(c, len(order))))
        x = np.arange(len(part))
        for k, m in enumerate(MODALITIES):
            ax.bar(x + (k - (len(MODALITIES) - 1) / 2) * width, part[f"mean_{m}"].fillna(0.0), width,
                   yerr=part[f"sd_{m}"].fillna(0.0), capsize=2, label=m)
        ax.set_xticks(x)
        ax.set_xticklabels(part["configuration"], rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("attention weight (mean, sd)")
        ax.set_title(f"modality attention - {task}")
    axes[0][-1].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, path)

"""Render report.json data into one self-contained HTML file (figures embedded, every string escaped)."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from mmdlm.report import plots


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}" if isinstance(x, (int, float)) else str(x)


def _fmtp(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3g}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _folds(values: Any) -> str:
    """Per-fold values, an undefined fold written as 'undefined' (it is left out of the mean)."""
    return ", ".join("undefined" if v is None else f"{v:.3f}" for v in values or [])


def figures(d: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """Every figure of the report as a data URI, drawn from the numbers in `d` or read from the run folder."""
    fig: dict[str, Any] = {"km": [], "task_sections": {}}
    if d.get("cindex_table"):
        fig["cindex"] = _data_uri(plots.cindex_figure(d["cindex_table"]))
    for s in d.get("task_sections") or []:
        if s["table"]:
            label = {"c_index": "C-index"}.get(s["metric"], s["metric"])
            fig["task_sections"][s["task"]] = _data_uri(plots.cindex_figure(s["table"], label))
    if d.get("fivey"):
        f = d["fivey"]
        fig["rocpr"] = _data_uri(plots.roc_pr_figure(f["roc_curve"], f["pr_curve"],
                                                     f["roc_auc"]["pooled"], f["pr_auc"]["pooled"]))
        if (f.get("calibration") or {}).get("predicted"):
            fig["calibration"] = _data_uri(plots.calibration_figure(f["calibration"]))
    for km in d.get("km") or []:
        fig["km"].append(_data_uri(plots.km_figure(km)))
    if d.get("cox"):
        fig["forest"] = _data_uri(plots.forest_figure(d["cox"]["covariates"]))
    if d.get("attention"):
        fig["attention"] = _data_uri(plots.attention_figure(d["attention"]["mean"], d["attention"]["sd"]))
    for key in ("gallery", "markup", "mil_markup"):
        rel = (d.get("images") or {}).get(key)
        if rel and (run_dir / rel).is_file():
            fig[key] = _data_uri((run_dir / rel).read_bytes())
    return fig


def render_html(d: Mapping[str, Any], run_dir: Path) -> str:
    """The report page for report data `d` (see docs/formats/report.md); autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mmdlm.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("report.html.j2")
    return template.render(d=d, fig=figures(d, run_dir), fmt=_fmt, fmtp=_fmtp, pct=_pct, folds=_folds)

"""Figures of the report, drawn from numbers already computed (nothing is estimated here)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def km_figure(km: Mapping) -> bytes:
    """Kaplan-Meier step curves with CI bands, log-rank p in the title and a numbers-at-risk table below."""
    fig, (ax, tab) = plt.subplots(
        2, 1, figsize=(6.4, 5.4), gridspec_kw={"height_ratios": [4, 1.2], "hspace": 0.55}
    )
    for i, g in enumerate(km["groups"]):
        colour = PALETTE[i % len(PALETTE)]
        ax.step(
            g["timeline"],
            g["survival"],
            where="post",
            color=colour,
            label=f"{g['label']} (n={g.get('n', '?')})",
        )
        if g.get("ci_low") and g.get("ci_high"):
            ax.fill_between(g["timeline"], g["ci_low"], g["ci_high"], step="post", color=colour, alpha=0.15)
    p = km.get("p_logrank")
    ax.set_title(
        f"{km.get('name', 'Kaplan-Meier')}  (log-rank p = {p:.3g})" if p is not None else km.get("name", "")
    )
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("survival probability")
    ax.set_xlabel("months")
    ax.legend(loc="lower left", fontsize=8)
    at_risk = km.get("at_risk") or {}
    times = at_risk.get("times", [])
    rows = at_risk.get("rows", {})
    tab.axis("off")
    if times and rows:
        table = tab.table(
            cellText=[[str(v) for v in vals] for vals in rows.values()],
            rowLabels=list(rows.keys()),
            colLabels=[f"{t:g}" for t in times],
            loc="center",
            cellLoc="center",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        tab.set_title("numbers at risk (months)", fontsize=8)
    return _png(fig)


def roc_pr_figure(roc: Mapping, pr: Mapping, roc_auc: float | None, pr_auc: float | None) -> bytes:
    """ROC and precision-recall curves side by side."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(8.0, 3.6))
    a.plot(roc["fpr"], roc["tpr"], color=PALETTE[0])
    a.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    a.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title=f"ROC (AUC {roc_auc:.3f})" if roc_auc is not None else "ROC",
    )
    b.plot(pr["recall"], pr["precision"], color=PALETTE[1])
    b.set(
        xlabel="recall",
        ylabel="precision",
        ylim=(0, 1.02),
        title=f"PR (AUC {pr_auc:.3f})" if pr_auc is not None else "PR",
    )
    return _png(fig)


def forest_figure(rows: Sequence[Mapping]) -> bytes:
    """Hazard ratios with 95% intervals on a log axis (one row per covariate)."""
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(rows) + 1.2))
    for y, r in enumerate(reversed(rows)):
        ax.plot([r["ci_low"], r["ci_high"]], [y, y], color="black", lw=1.2)
        ax.plot(r["hr"], y, "s", color=PALETTE[1] if r.get("p", 1) < 0.05 else PALETTE[0])
    ax.axvline(1.0, ls="--", color="grey", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['name']}  (p={r['p']:.3g})" for r in reversed(rows)], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("hazard ratio (95% CI)")
    return _png(fig)


def attention_figure(mean: Mapping[str, float], sd: Mapping[str, float] | None = None) -> bytes:
    """Mean modality attention weight (bar) with its standard deviation."""
    names = list(mean)
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.bar(
        names,
        [mean[n] for n in names],
        yerr=[(sd or {}).get(n, 0.0) for n in names],
        color=PALETTE[: len(names)],
        capsize=3,
    )
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean attention weight")
    ax.tick_params(axis="x", labelsize=8)
    return _png(fig)


def cindex_figure(table: Sequence[Mapping], metric: str = "C-index") -> bytes:
    """Per-fold C-index (or another `metric`) per configuration (dots; undefined folds are not drawn) with
    the mean (bar)."""
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    for i, row in enumerate(table):
        if row["mean"] is not None:
            ax.bar(i, row["mean"], color=PALETTE[i % len(PALETTE)], alpha=0.5)
        defined = [v for v in row["folds"] if v is not None]
        ax.plot([i] * len(defined), defined, "k.", ms=4)
    ax.axhline(0.5, ls="--", color="grey", lw=0.8)
    ax.set_xticks(range(len(table)))
    ax.set_xticklabels([r["configuration"] for r in table], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0.3, 1.0)
    ax.set_ylabel(f"{metric} (per fold, mean)")
    return _png(fig)


def calibration_figure(calibration: Mapping) -> bytes:
    """Observed fraction dead within 5 years against the mean predicted probability per bin (the diagonal is
    perfect calibration), with the Brier score in the title."""
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], ls="--", color="#999", lw=1, label="perfect calibration")
    ax.plot(calibration["predicted"], calibration["observed"], marker="o", color=PALETTE[0],
            label=f"{calibration.get('n_bins', '')} quantile bins")
    brier = calibration.get("brier")
    ax.set_title("5YSS calibration" + (f" (Brier {brier:.3f})" if brier is not None else ""))
    ax.set_xlabel("mean predicted P(dead within 5 years)")
    ax.set_ylabel("observed fraction dead")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)

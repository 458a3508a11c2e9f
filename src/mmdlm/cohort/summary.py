"""The ingest summary: counts for summary.json and the printed rich table."""

from __future__ import annotations

import pandas as pd

from mmdlm.cohort.clinical import CLINICAL_PARSERS


def endpoint_counts(patients: pd.DataFrame, horizon: float) -> dict:
    """Patients with / without the endpoint, events, and the 5YSS labels with their exclusions."""
    known = patients["time"].notna() & patients["event"].notna()
    label = patients["label_5y"]
    return {
        "patients_with_endpoint": int(known.sum()),
        "patients_without_endpoint": int((~known).sum()),
        "events": int(patients.loc[known, "event"].sum()),
        "censored": int((patients.loc[known, "event"] == 0).sum()),
        "median_time_months": float(patients.loc[known, "time"].median()) if known.any() else None,
        "label_5y": {
            "horizon_months": horizon,
            "dead_before_horizon_1": int((label == 1).sum()),
            "followed_past_horizon_0": int((label == 0).sum()),
            "excluded_censored_before_horizon": int((known & label.isna()).sum()),
            "excluded_no_endpoint": int((~known).sum()),
        },
    }


def clinical_counts(patients: pd.DataFrame) -> dict[str, int]:
    """Patients with a normalised (non-missing) value per clinical field."""
    out = {}
    for name in CLINICAL_PARSERS:
        col = patients[name]
        out[name] = int((col != "").sum()) if col.dtype == object else int(col.notna().sum())
    return out


def availability_counts(
    patients: pd.DataFrame, slides: pd.DataFrame, radiology: pd.DataFrame, alterations: pd.DataFrame
) -> dict[str, int]:
    """Patients with each modality, with all of them, and slide / series counts."""
    ids = set(patients["patient_id"])
    s, r, g = (
        set(slides["patient_id"]) & ids,
        set(radiology["patient_id"]) & ids,
        set(alterations["patient_id"]) & ids,
    )
    return {
        "patients_with_slides": len(s),
        "patients_with_radiology": len(r),
        "patients_with_radiology_mask": int(
            radiology.loc[radiology["mask_path"] != "", "patient_id"].nunique()
        ),
        "patients_with_genomics": len(g),
        "patients_with_all_modalities": len(s & r & g),
        "slides": int(len(slides)),
        "radiology_series": int(len(radiology)),
    }


def print_summary(summary: dict, console=None) -> None:
    """Print the summary as a rich table (and the warnings beneath it)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    ep = summary["endpoint_counts"]
    av = summary["availability"]
    table = Table(title=f"mmdlm ingest -> {summary['out']}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [
        ("patients", summary["patients"]),
        (f"with {summary['endpoint']}", ep["patients_with_endpoint"]),
        (f"{summary['endpoint']} events", ep["events"]),
        ("5YSS = 1 (event < horizon)", ep["label_5y"]["dead_before_horizon_1"]),
        ("5YSS = 0 (followed >= horizon)", ep["label_5y"]["followed_past_horizon_0"]),
        ("5YSS excluded (censored early)", ep["label_5y"]["excluded_censored_before_horizon"]),
        ("with slides", av["patients_with_slides"]),
        ("with radiology", av["patients_with_radiology"]),
        ("with genomics", av["patients_with_genomics"]),
        ("with all modalities", av["patients_with_all_modalities"]),
    ]
    rows += [(f"{k} parsed", v) for k, v in summary["clinical_parsed"].items()]
    rows += [(f"unmatched {k}", v) for k, v in summary["unmatched_counts"].items()]
    rows.append(("warnings", len(summary["warnings"])))
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    if summary.get("features"):
        console.print("features: " + ", ".join(summary["features"]))
    for w in summary["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)

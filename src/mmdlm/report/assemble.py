"""Gather a run directory's numbers into the report data (RUN/report.json) and write RUN/report.html.

Nothing is computed here that a stage did not already compute: every figure comes from RUN/metrics.json
(`mmdlm cv`), RUN/external/*/metrics.json (`mmdlm evaluate`), RUN/explain/summary.json (`mmdlm explain`),
the manifest snapshot and the stores' indexes (counts only). The metrics files are read through their
schemas (mmdlm.results.metrics) as typed fields; each task's part comes from mmdlm.report.sections. The shape
is docs/formats/report.md, validated as mmdlm.results.report.ReportData.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mmdlm.atomic import write_json_atomic, write_text_atomic
from mmdlm.errors import MmdlmError
from mmdlm.modalities import IMAGE_MODALITIES, MODALITIES, magnification_modality
from mmdlm.report.sections import add_tasks, cox_block, cox_error
from mmdlm.results.base import json_safe, validate
from mmdlm.results.files import read_external_metrics, read_metrics
from mmdlm.results.metrics import Baselines, BaselinesError
from mmdlm.results.report import ReportData
from mmdlm.runlayout import RunLayout

HASHED_FILES = (
    "manifest/patients.csv",
    "manifest/slides.csv",
    "manifest/radiology.csv",
    "manifest/alterations.csv",
    "tiles/index.csv",
    "radiology/index.csv",
    "folds.json",
    "predictions.csv",
)


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MmdlmError(f"not valid JSON ({exc.msg}, line {exc.lineno})", file=path) from None


def cohort_summary(run_dir: Path, endpoint_default: str = "DSS") -> dict[str, Any]:
    """Patients, events, follow-up, 5-year labels, modality coverage from RUN/manifest and the stores."""
    from mmdlm.cohort.manifest import load_manifest
    from mmdlm.cohort.summary import endpoint_counts

    manifest = load_manifest(run_dir / "manifest")
    p = manifest.patients
    known = p["time"].notna() & p["event"].notna()
    counts = endpoint_counts(p, horizon=60.0)  # the same counts ingest's summary.json holds
    censored = p.loc[known & (p["event"] == 0), "time"]
    out: dict[str, Any] = {
        "n_patients": counts["patients_with_endpoint"],
        "events": counts["events"],
        "endpoint": manifest.endpoint or endpoint_default,
        "median_followup": _reverse_km_median(p.loc[known, "time"], p.loc[known, "event"]),
        "median_followup_censored": float(censored.median()) if len(censored) else None,
        "label_5y": {
            "died": counts["label_5y"]["dead_before_horizon_1"],
            "survived": counts["label_5y"]["followed_past_horizon_0"],
            "excluded": counts["label_5y"]["excluded_censored_before_horizon"],
        },
    }
    ids = set(p.loc[known, "patient_id"].astype(str))
    out["modalities"] = _coverage(run_dir, manifest, ids)
    return out


def _reverse_km_median(time: pd.Series, event: pd.Series) -> float | None:
    """Median follow-up by the reverse Kaplan-Meier method (censoring as the event), lifelines."""
    from lifelines import KaplanMeierFitter

    if time.empty:
        return None
    fit = KaplanMeierFitter().fit(time.astype(float), 1 - event.astype(int))
    value = float(fit.median_survival_time_)
    return value if value == value and value != float("inf") else None


def _coverage(run_dir: Path, manifest, ids: set[str]) -> dict[str, int]:
    """Patients (with an outcome) having each modality: from the stores when present, else the manifest."""
    from mmdlm.radiology.store import read_index as read_radiology_index
    from mmdlm.slides.store import read_index as read_tile_index

    out: dict[str, int] = {}
    tiles_dir, rad_dir = run_dir / "tiles", run_dir / "radiology"
    if (tiles_dir / "index.csv").is_file():
        index = read_tile_index(tiles_dir)
        index = index[index["n_tiles"] > 0]
        for mag, rows in index.groupby("magnification"):
            name = magnification_modality(float(mag))
            if name in IMAGE_MODALITIES:
                out[name] = len(set(rows["patient_id"].astype(str)) & ids)
    else:
        with_slides = len(set(manifest.slides["patient_id"].astype(str)) & ids)
        out.update({"tile_10x": with_slides, "tile_5x": with_slides})
    if (rad_dir / "index.csv").is_file():
        out["radiology"] = len(set(read_radiology_index(rad_dir)["patient_id"].astype(str)) & ids)
    else:
        out["radiology"] = len(set(manifest.radiology["patient_id"].astype(str)) & ids)
    out["genomics"] = len(set(manifest.alterations["patient_id"].astype(str)) & ids)
    return {m: out.get(m, 0) for m in MODALITIES}


def _primary(task: str) -> str | None:
    """The metric a registered task is judged by (None for a name mmdlm.tasks does not know)."""
    from mmdlm.tasks.registry import get_task, task_names

    return get_task(task).primary_metric if task in task_names() else None


#: where each model family's external evaluations of a run live (the MIL family's run is RUN/mil)
FAMILY_RUNS = (("end_to_end", "."), ("mil", "mil"))


def _external(run_dir: Path) -> list[dict]:
    """Every external metrics.json of the run's families (RUN/external/<name>/, RUN/mil/external/<name>/) as
    table rows: the fold-model ensemble with its patient bootstrap interval (the headline), the fold models'
    mean and max (optimistic), the CV mean."""
    rows = []
    for family, sub in FAMILY_RUNS:
        rows += _external_rows(Path(run_dir) / sub, family)
    return rows


def _external_rows(run_dir: Path, family: str) -> list[dict]:
    rows = []
    layout = RunLayout(run_dir)
    for path in sorted(layout.external_dir.glob(f"*/{layout.metrics_json.name}")):
        ext = read_external_metrics(path)
        for task, t in ext.tasks.items():
            for conf, c in t.configurations.items():
                for metric, v in c.vs_cv.items():
                    if metric != _primary(task) or v.external_mean is None:
                        continue
                    ci = v.ensemble_ci
                    rows.append(
                        {
                            "family": family,
                            "cohort": ext.name,
                            "task": task,
                            "configuration": conf,
                            "metric": metric,
                            "n": c.n_patients,
                            "ensemble": v.ensemble,
                            "ensemble_low": ci.low if ci else None,
                            "ensemble_high": ci.high if ci else None,
                            "external_mean": v.external_mean,
                            "external_max": v.external_max,
                            "cv_mean": v.cv_mean,
                            "p_mannwhitney": v.mannwhitney_p,
                            "shared_with_training": len(ext.shared_with_training),
                            "note": ext.cv_difference_note,
                        }
                    )
    return rows


def _images(run_dir: Path) -> dict[str, str]:
    """Gallery and markup files (relative to RUN) of the first explained task in registry order (cox
    first; tasks mmdlm.tasks does not know last)."""
    from mmdlm.tasks.registry import task_names

    summary = _read_json(run_dir / "explain" / "summary.json")
    if not summary:
        return {}
    tasks = summary.get("tasks", {})
    order = task_names()
    out: dict[str, str] = {}
    for task in sorted(tasks, key=lambda t: order.index(t) if t in order else len(order)):
        entry = tasks[task]
        gallery = entry.get("gallery", {}).get("file")
        if gallery and "gallery" not in out:
            out["gallery"] = f"explain/{gallery}"
            out["gallery_caption"] = (f"{task}, {entry['configuration']}: each patient explained by the "
                                      "model of the fold that validated it, with that model's score")
        for m in entry.get("markup", []):
            if "markup" in out:
                break
            png = m.get("figure") or m.get("png")
            if png:
                out["markup"] = f"explain/{png}"
                out["markup_caption"] = (
                    f"slide {m['slide_id']}, {task} ({entry['configuration']}), {m['n_tiles']} tiles"
                )
                out["markup_geojson"] = f"explain/{m.get('geojson', '')}"
    return out


def assemble(run_dir: str | Path, title: str | None = None) -> ReportData:
    """The report data of a run directory (docs/formats/report.md); clear errors when a stage is missing or
    a results file does not match its schema."""
    from mmdlm.report.provenance import data_hashes, software_versions

    run_dir = Path(run_dir)
    layout = RunLayout(run_dir)
    metrics = read_metrics(layout.metrics_json)
    if metrics is None:
        raise MmdlmError("no metrics.json: run `mmdlm cv` (or `mmdlm demo`) first", file=run_dir)
    if not (run_dir / "manifest").is_dir():
        raise MmdlmError("no manifest snapshot in the run", file=run_dir / "manifest")
    cfg_path = layout.config_yaml
    config_text = cfg_path.read_text() if cfg_path.is_file() else ""
    d: dict[str, Any] = {
        "title": title or run_dir.resolve().name,
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cohort": cohort_summary(run_dir),
        "cv": {},
        "reference_configuration": None,
        "cindex_table": [],
        "clinical_cindex": [],
        "clinical_vs_model": [],
        "survival_metrics": [],
        "reference_source": None,
        "fivey": None,
        "fivey_table": [],
        "km": [],
        "cox": None,
        "attention": None,
        "external": _external(run_dir),
        "images": _images(run_dir),
        "headline": {},
        "cox_error": None,
        "task_sections": [],
    }
    add_tasks(d, metrics)
    rows = [*d["cindex_table"], *d["fivey_table"], *d["clinical_vs_model"]]
    d["comparison_notes"] = sorted({r["note"] for r in rows if r.get("note")})
    d["external_notes"] = sorted({r["note"] for r in d["external"] if r.get("note")})
    d.update(_baselines(metrics.baselines))
    timings = _read_json(layout.pipeline_json) or {}
    raw = _config_dict(config_text)
    train, data, model = raw.get("train", {}), raw.get("data", {}), raw.get("model", {})
    d["training"] = {
        "select": train.get("select"),
        "epochs_unimodal": train.get("epochs_unimodal"),
        "epochs_multimodal": train.get("epochs_multimodal"),
        "batch_size": train.get("batch_size"),
        "lr": train.get("lr"),
        "image_size": data.get("image_size"),
        "pretrained": model.get("pretrained"),
        "backbone": model.get("backbone"),
    }
    from mmdlm.report.families import families

    d["families"] = families(run_dir)
    mil_maps = ((d["families"] or {}).get("explain") or {}).get("patients") or {}
    first = next((f for files in mil_maps.values() for f in files if f.endswith("_risk.png")), None)
    if first:
        d["images"]["mil_markup"] = f"mil/{first}"
    d["provenance"] = {
        "encoder": (d["families"] or {}).get("encoder"),
        "seed": raw.get("seed"),
        "data_hashes": data_hashes(run_dir, HASHED_FILES),
        "versions": software_versions(),
        "config": config_text,
        "timings": timings.get("stages_seconds", {}),
    }
    return validate(ReportData, json_safe(d), layout.report_json)


def _baselines(baselines: Baselines | BaselinesError | None) -> dict[str, Any]:
    """The cohort's clinical factors (C-index on the whole cohort) and clinical Cox model, or why not."""
    if not isinstance(baselines, Baselines):
        error = baselines.error if isinstance(baselines, BaselinesError) else None
        return {"clinical_cindex": [], "clinical_cox": None, "clinical_cox_error": error}
    return {
        "clinical_cindex": [{"factor": name, "cindex": f.c_index, "n": f.n}
                            for name, f in baselines.factors.items()],
        "clinical_cox": cox_block(baselines.cox),
        "clinical_cox_error": cox_error(baselines.cox),
    }


def _config_dict(config_text: str) -> dict:
    import yaml

    raw = yaml.safe_load(config_text) if config_text else None
    return raw if isinstance(raw, dict) else {}


def write_report(run_dir: str | Path, title: str | None = None) -> Path:
    """Write RUN/report.json and RUN/report.html (atomically); returns the HTML path."""
    from mmdlm.report.html import render_html

    run_dir = Path(run_dir)
    report = assemble(run_dir, title)
    d = report.dump()
    write_json_atomic(RunLayout(run_dir).report_json, d)
    return write_text_atomic(run_dir / "report.html", render_html(d, run_dir))

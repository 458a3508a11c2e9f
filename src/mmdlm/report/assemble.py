"""Gather a run directory's numbers into the report data (RUN/report.json) and write RUN/report.html.

Nothing is computed here that a stage did not already compute: every figure comes from RUN/metrics.json
(`mmdlm cv`), RUN/external/*/metrics.json (`mmdlm evaluate`), RUN/explain/summary.json (`mmdlm explain`),
the manifest snapshot and the stores' indexes (counts only). The shape is docs/formats/report.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mmdlm.atomic import write_json_atomic, write_text_atomic
from mmdlm.errors import MmdlmError
from mmdlm.modalities import CONFIGURATIONS, IMAGE_MODALITIES, MODALITIES, magnification_modality, most_fused
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


#: the same-patient comparison fields copied from metrics.json's table rows
_VS_KEYS = ("n_patients_compared", "n_folds_compared", "difference", "corrected_t_p", "bootstrap_difference",
            "bootstrap_low", "bootstrap_high", "bootstrap_p", "note")


def _table_rows(task: dict) -> list[dict]:
    """The paper-shaped table of one task (every configuration vs the pre-specified reference, same
    patients); per-fold values None = undefined on that fold (left out of the mean, n_defined counts)."""
    return [
        {
            "configuration": r["configuration"],
            "metric": r["metric"],
            "folds": r["folds"],
            "n_defined": r.get("n_defined", sum(v is not None for v in r["folds"])),
            "n_folds": r.get("n_folds", len(r["folds"])),
            "mean": r["mean"],
            "max": r["max"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "p_ttest": r.get("ttest_p"),
            "p_wilcoxon": r.get("wilcoxon_p"),
            "vs": r.get("vs"),
            **{k: r.get(k) for k in _VS_KEYS},
        }
        for r in task["table"]
    ]


def _clinical_rows(task: dict) -> list[dict]:
    """Each clinical factor beside the reference model on the same folds and patients, with the tests."""
    keep = ("factor", "model", "model_mean", "factor_mean", "model_folds", "factor_folds", "ttest_p",
            "wilcoxon_p", "error", *_VS_KEYS)
    return [{k: r.get(k) for k in keep} for r in task.get("clinical_table") or []]


def _survival_rows(task: dict) -> list[dict]:
    """Per configuration: Harrell's and Uno's C, time-dependent AUCs and the integrated Brier score (means
    over the folds where each is defined, with that count)."""
    rows = []
    for conf, c in task["configurations"].items():
        row: dict = {"configuration": conf, "metrics": {}}
        for name, m in c.items():
            if name in ("c_index", "c_index_uno", "ibs") or name.startswith("auc_"):
                if isinstance(m, dict) and "mean" in m:
                    row["metrics"][name] = {"mean": m["mean"], "n_defined": m.get("n_defined"),
                                            "n_folds": m.get("n_folds", len(m.get("folds", [])))}
        rows.append(row)
    return rows


def _metric_block(conf: dict, name: str) -> dict:
    m = conf.get(name) or {}
    ci = m.get("ci") or {}
    return {
        "mean": m.get("mean"),
        "max": m.get("max"),
        "ci_low": ci.get("low"),
        "ci_high": ci.get("high"),
        "pooled": (conf.get("pooled") or {}).get(name),
    }


def _cox_block(cox: dict | None) -> dict | None:
    if not cox or "error" in cox:
        return None
    ph = [c.get("ph_p") for c in cox["covariates"] if c.get("ph_p") is not None]
    return {
        "n": cox["n"],
        "events": cox["events"],
        "dropped_incomplete": cox.get("dropped_incomplete"),
        "unknown": cox.get("unknown"),
        "unknown_handling": cox.get("unknown_handling"),
        "ph_test_min_p": min(ph) if ph else None,
        "covariates": [
            {k: c[k] for k in ("name", "hr", "ci_low", "ci_high", "p")} for c in cox["covariates"]
        ],
    }


def _km(block: dict | None, title: str) -> dict | None:
    if not block or not block.get("groups"):
        return None
    return {**block, "name": title}


def _primary(task: str) -> str | None:
    """The metric a registered task is judged by (None for a name mmdlm.tasks does not know)."""
    from mmdlm.tasks.registry import get_task, task_names

    return get_task(task).primary_metric if task in task_names() else None


def _external(run_dir: Path) -> list[dict]:
    """Every RUN/external/<name>/metrics.json as table rows: the fold-model ensemble with its patient
    bootstrap interval (the headline), the fold models' mean and max (optimistic), the CV mean."""
    rows = []
    for path in sorted(RunLayout(run_dir).external_dir.glob(f"*/{RunLayout(run_dir).metrics_json.name}")):
        ext = _read_json(path) or {}
        for task, t in ext.get("tasks", {}).items():
            for conf, c in t.get("configurations", {}).items():
                for metric, v in c.get("vs_cv", {}).items():
                    if metric != t.get("primary_metric", _primary(task)) or v.get("external_mean") is None:
                        continue
                    ci = v.get("ensemble_ci") or {}
                    rows.append(
                        {
                            "cohort": ext.get("name", path.parent.name),
                            "task": task,
                            "configuration": conf,
                            "metric": metric,
                            "n": c.get("n_patients"),
                            "ensemble": v.get("ensemble"),
                            "ensemble_low": ci.get("low"),
                            "ensemble_high": ci.get("high"),
                            "external_mean": v["external_mean"],
                            "external_max": v["external_max"],
                            "cv_mean": v.get("cv_mean"),
                            "p_mannwhitney": v.get("mannwhitney_p"),
                            "shared_with_training": len(ext.get("shared_with_training") or []),
                            "note": ext.get("cv_difference_note"),
                        }
                    )
    return rows


def _images(run_dir: Path) -> dict[str, str]:
    """Gallery and markup files (relative to RUN) of the first explained task (cox first)."""
    summary = _read_json(run_dir / "explain" / "summary.json")
    if not summary:
        return {}
    tasks = summary.get("tasks", {})
    out: dict[str, str] = {}
    for task in sorted(tasks, key=lambda t: t != "cox"):
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


def assemble(run_dir: str | Path, title: str | None = None) -> dict[str, Any]:
    """The report data of a run directory (docs/formats/report.md); clear errors when a stage is missing."""
    from mmdlm.report.provenance import data_hashes, software_versions

    run_dir = Path(run_dir)
    layout = RunLayout(run_dir)
    metrics = _read_json(layout.metrics_json)
    if metrics is None:
        raise MmdlmError("no metrics.json: run `mmdlm cv` (or `mmdlm demo`) first", file=run_dir)
    if not (run_dir / "manifest").is_dir():
        raise MmdlmError("no manifest snapshot in the run", file=run_dir / "manifest")
    tasks = metrics.get("tasks", {})
    cfg_path = layout.config_yaml
    config_text = cfg_path.read_text() if cfg_path.is_file() else ""
    d: dict[str, Any] = {
        "title": title or run_dir.resolve().name,
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cohort": cohort_summary(run_dir),
        "cv": {
            "folds_cox": tasks.get("cox", {}).get("n_folds"),
            "folds_5yss": tasks.get("5yss", {}).get("n_folds"),
        },
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
    }
    if "cox" in tasks:
        cox = tasks["cox"]
        d["reference_configuration"] = cox.get("reference")
        d["reference_source"] = (cox.get("vs_reference") or {}).get("reference_source")
        d["cindex_table"] = _table_rows(cox)
        d["clinical_vs_model"] = _clinical_rows(cox)
        d["survival_metrics"] = _survival_rows(cox)
        fused = most_fused(cox["configurations"])
        conf = cox["configurations"][fused]
        d["km"].append(_km(conf.get("km"), f"Cox risk of {fused}, split at each fold's median"))
        d["cox"] = _cox_block(conf.get("cox"))
        d["cox_error"] = (conf.get("cox") or {}).get("error")
        if d["cox"]:
            d["cox"]["configuration"] = fused
        if conf.get("attention"):
            d["attention"] = {"configuration": fused, **conf["attention"]}
        d["headline"] = _headline(cox)
    if "5yss" in tasks:
        five = tasks["5yss"]
        fused = most_fused(five["configurations"])
        conf = five["configurations"][fused]
        d["fivey"] = {
            "configuration": fused,
            "roc_curve": conf["roc_curve"],
            "pr_curve": conf["pr_curve"],
            "calibration": conf.get("calibration"),
            **{m: _metric_block(conf, m) for m in ("accuracy", "roc_auc", "pr_auc", "brier_5y")},
        }
        d["fivey_table"] = _table_rows(five)
        d["fivey_reference"] = five.get("reference")
        d["km"].append(_km(conf.get("km"), f"5YSS predicted class of {fused}"))
    d["km"] = [k for k in d["km"] if k]
    rows = [*d["cindex_table"], *d["fivey_table"], *d["clinical_vs_model"]]
    d["comparison_notes"] = sorted({r["note"] for r in rows if r.get("note")})
    d["external_notes"] = sorted({r["note"] for r in d["external"] if r.get("note")})
    baselines = metrics.get("baselines") or {}
    d["clinical_cindex"] = [
        {"factor": name, "cindex": f.get("c_index"), "n": f.get("n")}
        for name, f in (baselines.get("factors") or {}).items()
    ]
    d["clinical_cox"] = _cox_block(baselines.get("cox"))
    d["clinical_cox_error"] = (baselines.get("cox") or {}).get("error") or baselines.get("error")
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
    return d


def _config_dict(config_text: str) -> dict:
    import yaml

    raw = yaml.safe_load(config_text) if config_text else None
    return raw if isinstance(raw, dict) else {}


def _headline(cox: dict) -> dict:
    """Mean C-index of the fused model next to the best unimodal, and the pre-specified reference."""
    confs = cox["configurations"]
    means = {c: (v.get("c_index") or {}).get("mean") for c, v in confs.items()}
    unimodal = {c: m for c, m in means.items() if len(CONFIGURATIONS[c]) == 1 and m is not None}
    fused = most_fused(confs)
    best_uni = max(unimodal, key=unimodal.get) if unimodal else None
    return {
        "fused": fused,
        "fused_c_index": means.get(fused),
        "best_unimodal": best_uni,
        "best_unimodal_c_index": unimodal.get(best_uni) if best_uni else None,
        "reference": cox.get("reference"),
    }


def write_report(run_dir: str | Path, title: str | None = None) -> Path:
    """Write RUN/report.json and RUN/report.html (atomically); returns the HTML path."""
    from mmdlm.report.html import render_html

    run_dir = Path(run_dir)
    d = assemble(run_dir, title)
    write_json_atomic(RunLayout(run_dir).report_json, d)
    return write_text_atomic(run_dir / "report.html", render_html(d, run_dir))

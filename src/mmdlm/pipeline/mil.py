"""The demo's MIL family stage: feature stores with model.encoder, cross-validation of model.family mil on the
same folds as the end-to-end run, and the MIL explain maps of the extreme-risk validation patients."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mmdlm.atomic import write_json_atomic
from mmdlm.config import Config
from mmdlm.pipeline.layout import CohortLayout
from mmdlm.stores.failures import raise_if_failed

FAMILY_FILE = "family.json"


def same_folds(a: Path, b: Path) -> dict[str, bool]:
    """Per task: whether two runs' folds.json assign every patient to the same fold."""
    left, right = json.loads(a.read_text())["tasks"], json.loads(b.read_text())["tasks"]
    return {t: left[t]["folds"] == right.get(t, {}).get("folds") for t in left}


def run_mil_family(
    cfg: Config, layout: CohortLayout, run_dir: Path, *, progress: bool, say: Callable[[str], None]
) -> dict:
    """features -> MIL cross-validation -> MIL explain; returns (and writes to RUN/mil/family.json) what
    ran."""
    from mmdlm.pipeline.evaluate import cross_validate

    feats = embed_cohort(cfg, layout, progress=progress)
    say(
        f"  features: {feats['counts']['done']} slides embedded, {feats['counts']['fresh']} already done; "
        + ", ".join(f"{n} tiles at {m}" for m, n in feats["tiles"].items())
        + f" with {feats['encoder']['encoder_label']}"
    )
    mil_cfg = mil_config(cfg)
    metrics = cross_validate(mil_cfg, layout.paths(), layout.mil, lock=False)
    for task, m in metrics["tasks"].items():
        fused = m["reference"]
        mean = m["configurations"][fused][m["primary_metric"]]["mean"]
        say(f"  MIL {task}: {m['primary_metric']} of {fused} {mean:.3f} ({m['n_folds']} folds)")
    explained = explain_extremes(mil_cfg, layout, metrics)
    summary = {
        "encoder": feats["encoder"],
        "features": {k: feats[k] for k in ("slides", "counts", "tiles", "tiles_per_second", "radiology")},
        "same_folds_as_end_to_end": same_folds(run_dir / "folds.json", layout.mil / "folds.json"),
        "explain": explained,
    }
    write_json_atomic(layout.mil / FAMILY_FILE, summary)
    return summary


def mil_config(cfg: Config) -> Config:
    """The demo's config with model.family mil (everything else, folds and seed included, unchanged)."""
    return cfg.model_copy(update={"model": cfg.model.model_copy(update={"family": "mil"})})


def embed_cohort(cfg: Config, layout: CohortLayout, *, progress: bool) -> dict:
    """`mmdlm features` of one cohort's slides and radiology planes into layout.features (model.encoder);
    a slide that fails stops the stage, naming it."""
    from mmdlm.cohort.manifest import load_manifest
    from mmdlm.features.pipeline import extract_features

    feats = extract_features(
        load_manifest(layout.manifest).slides,
        layout.features,
        cfg.tiling,
        cfg.model.encoder,
        cfg.features,
        rad_dir=layout.radiology,
        executor=cfg.executor,
        progress=progress,
    )
    raise_if_failed(feats, "slides", feats["slides"], layout.features, "slide_id")
    return feats


def evaluate_external_mil(cfg: Config, layout: CohortLayout, external: CohortLayout, name: str,
                          configurations, *, progress: bool) -> dict:
    """The MIL fold models (layout.mil) on the external cohort's own feature stores (same encoder), written
    to RUN/mil/external/<name>/ as for the end-to-end family."""
    from mmdlm.pipeline.evaluate import evaluate_cohort

    embed_cohort(cfg, external, progress=progress)
    return evaluate_cohort(mil_config(cfg), layout.mil, external.paths(), name,
                           configurations=configurations, lock=False)


def explain_extremes(cfg: Config, layout: CohortLayout, metrics: dict) -> dict:
    """MIL maps of the `explain.gallery_size` highest- and lowest-risk patients (cox, fused configuration)
    into RUN/mil/explain, each from the fold model that had the patient in its validation fold."""
    from mmdlm.mil.explain import explain_mil_run

    if "cox" not in metrics["tasks"]:
        return {}
    done = explain_mil_run(cfg, layout.mil, layout.manifest, layout.features, layout.mil / "explain")
    return {**done, "patients": {p: [f"explain/{f}" for f in files] for p, files in done["patients"].items()}}

"""Science figures: on the project's synthetic cohort, each configuration's cross-validated C-index beside the
cohort's truth C-index for what that configuration can see (its ceiling), as a ratio.

The truth C-index of a configuration is Harrell's C of the sum of the risk components its modalities show
(truth.csv: 10x tiles -> fine_histology, 5x tiles -> coarse_histology, radiology -> tumour_volume, genomics ->
genomics), on the same patients. In `make bench` these figures come from bench_wholerun's cross-validation
(all seven configurations, configs/demo.yaml at 4 + 3 epochs: `science_figures` on its metrics.json), so
the same training is not run twice. Alone, this script runs its own cross-validation at SETTING below (for
instance to compare radiology crops), about 2 minutes on 2 CPU cores (the cohort is kept in
OUT_DIR/cohort-<crop> and reused when fresh: then about 40 s).

    .venv/bin/python bench/science.py [OUT_DIR] [--crop bbox]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: the fixed, documented setting (configs/demo.yaml's cohort and training, cox task only, 3 folds)
SETTING = {
    "seed": 0,
    "synth": {"patients": 120, "seed": 3},
    "tiling": {"magnifications": [10.0, 5.0], "tile_size": 64, "max_tiles_per_slide": 12, "workers": 2},
    "radiology": {"image_size": 64, "crop": "fixed_fov", "field_of_view_mm": 160.0},
    "data": {"image_size": 32, "val_images_per_modality": 1},
    "model": {"pretrained": "none", "width": 64},
    "train": {"lr": 0.004, "batch_size": 16, "epochs_unimodal": 4, "epochs_multimodal": 3, "cpu_threads": 2,
              "resume_every_n_epochs": 0},
    "cv": {"tasks": ["cox"], "folds_cox": 3, "bootstrap": 0, "brier": False,
           "configurations": ["radiology", "histo_10x", "histo_5x", "histo_radiology"]},
}

#: the config sections a prepared cohort (sources, manifest, tile and radiology stores) depends on; written
#: beside the cohort as cohort.json, so bench_wholerun can take the same cohort instead of preparing its own
COHORT_SECTIONS = ("seed", "synth", "ingest", "tiling", "radiology")

#: the truth.csv risk component each modality shows
COMPONENT = {"tile_10x": "fine_histology", "tile_5x": "coarse_histology", "radiology": "tumour_volume",
             "genomics": "genomics"}


def truth_cindex(truth: pd.DataFrame, modalities) -> float:
    """Harrell's C (lifelines) of the sum of the components the modalities show, DSS endpoint."""
    from lifelines.utils import concordance_index

    score = sum(truth[COMPONENT[m]].to_numpy(float) for m in modalities)
    return float(concordance_index(truth["dss_months"], -score, truth["dss_event"]))


def science_figures(metrics: dict, truth: pd.DataFrame, setting: str) -> dict:
    """Per configuration of a run's Cox cross-validation (its metrics.json as a dict): the C-index (mean over
    folds, and each fold's) beside the truth C-index of what it can see, and their ratio; `setting` says what
    was run."""
    from mmdlm.modalities import CONFIGURATIONS

    figures: dict = {"setting": setting}
    for conf, m in metrics["tasks"]["cox"]["configurations"].items():
        ceiling = truth_cindex(truth, CONFIGURATIONS[conf])
        mean = m["c_index"]["mean"]
        figures[conf] = {"c_index": mean, "ceiling_c_index": ceiling,
                         "ratio": float(mean / ceiling) if mean is not None else None,
                         "folds": [None if v is None else round(v, 4) for v in m["c_index"]["folds"]]}
    figures["truth_c_index_full_risk"] = truth_cindex(truth, tuple(COMPONENT))
    figures["mean_ratio"] = float(np.mean([v["ratio"] for v in figures.values()
                                           if isinstance(v, dict) and v.get("ratio") is not None]))
    return figures


def run(out_dir: Path, crop: str = "fixed_fov") -> dict:
    """Synthetic cohort -> tiles, radiology -> 3-fold CV (cox); C-index per configuration vs its truth C."""
    from mmdlm.config import Config
    from mmdlm.pipeline.demo import prepare_cohort
    from mmdlm.pipeline.evaluate import cross_validate
    from mmdlm.pipeline.layout import CohortLayout

    setting = {**SETTING, "radiology": {**SETTING["radiology"], "crop": crop}}
    cfg = Config.model_validate(setting)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the cohort is kept (each stage skips what is fresh on the next `make bench`); the run is not
    layout = CohortLayout(out_dir / f"cohort-{crop}")
    layout.root.mkdir(exist_ok=True)
    prepare_cohort(cfg, layout, cfg.synth, workers=2, progress=False, say=lambda _m: None)
    dump = cfg.model_dump(mode="json")
    (layout.root / "cohort.json").write_text(json.dumps({k: dump[k] for k in COHORT_SECTIONS}, indent=1))
    run_dir = Path(tempfile.mkdtemp(prefix="science-", dir=out_dir))
    try:
        metrics = cross_validate(cfg, layout.paths(), run_dir)
        truth = pd.read_csv(layout.sources / "truth.csv", dtype={"patient_id": str})
        described = (f"synthetic cohort 120 patients, 3-fold CV, {crop} radiology crop, 32 px images, "
                     "4+3 epochs")
        return science_figures(metrics, truth, described)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    crop = "fixed_fov"
    if "--crop" in args:
        crop = args[args.index("--crop") + 1]
        args = [a for a in args if a not in ("--crop", crop)]
    print(run(Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="science-")), crop))

"""Dask executor benchmark: slides tiled/s and cross-validation folds trained/s on a LocalCluster of 1 vs 2
single-thread workers (the same tasks; workers started and their imports warmed before timing). The ratio's
ceiling is the worker count (2 here, on a 2-core machine) on an otherwise idle machine; the load average is
reported beside it, because other users' processes change it both ways (they take the second core, and on
an oversubscribed machine two workers get twice one worker's share). The workers' CPU seconds per item do
not depend on the load: equal for 1 and 2 workers means Dask adds no work per task.

    .venv/bin/python bench/bench_dask.py [OUT_DIR]
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from mmdlm.config import Config
from mmdlm.data.toy import planted_records
from mmdlm.evaluate.cv import run_cv_tasks
from mmdlm.executor import ExecutorConfig
from mmdlm.executor.clusters import local_cluster, worker_config
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.pipeline import tile_slides

REPO = Path(__file__).resolve().parents[1]
REAL_SLIDE = (REPO / ".." / "shared" / "data" / "slides" / "CMU-1-Small-Region.svs").resolve()
N_SLIDES = 24
TILING = TilingConfig(magnifications=(20.0, 10.0, 5.0), tile_size=224)
#: a tiny staged training: 3 folds x 2 tasks (cox, 5yss) = 6 independent (task, fold) trainings
CV = {
    "seed": 0,
    "data": {"image_size": 32, "val_images_per_modality": 1},
    "model": {"pretrained": "none", "width": 8},
    "train": {"batch_size": 8, "eval_batch_size": 32, "epochs_unimodal": 1, "epochs_multimodal": 1,
              "cpu_threads": 1},
    "cv": {"folds_cox": 3, "folds_5yss": 3, "bootstrap": 20},
}
CONFS = ("histo_10x",)
WARM = ("mmdlm.slides.pipeline", "mmdlm.train.staged", "mmdlm.evaluate.cv")


def _warm(modules: tuple[str, ...]) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this (worker) process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _one(n_workers: int, work: Path, slides: pd.DataFrame, records: list) -> dict[str, float]:
    """Wall and worker CPU seconds of the tiling and the cross-validation on a fresh n-worker LocalCluster."""
    from distributed import Client

    out: dict[str, float] = {}
    cluster_cfg = ExecutorConfig(kind="dask", workers=n_workers)
    with worker_config(), local_cluster(cluster_cfg) as cluster, Client(cluster) as client:
        client.run(_warm, WARM)  # imports of torch/lightning/openslide are not what is measured
        executor = {"kind": "dask", "scheduler_address": cluster.scheduler_address, "timeout_s": 900}
        cfg = Config.model_validate({**CV, "executor": executor})
        # one untimed slide per worker: the slide file in the page cache, OpenSlide initialised
        tile_slides(slides.head(n_workers), work / "warm", TILING, progress=False, executor=cfg.executor)
        phases = {
            "tiling": lambda: tile_slides(slides, work / "tiles", TILING, progress=False,
                                          executor=cfg.executor),
            "cv": lambda: run_cv_tasks(cfg, records, work / "run", ("cox", "5yss"), CONFS),
        }
        for name, phase in phases.items():
            cpu0 = sum(client.run(_cpu_seconds).values())
            t0 = time.perf_counter()
            phase()
            out[f"{name}_s"] = time.perf_counter() - t0
            out[f"{name}_cpu_s"] = sum(client.run(_cpu_seconds).values()) - cpu0
    return out


def run(out_dir: Path) -> dict:
    """Figures for bench/run.py."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    slides = pd.DataFrame([{"slide_id": f"s{i}", "patient_id": f"P{i}", "path": str(REAL_SLIDE)}
                           for i in range(N_SLIDES)])
    records = planted_records(n=18, size=32, images_per_patient=2, n_genomic=4, seed=1)
    n_folds = 2 * 3
    times = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-dask-", dir=out_dir) as tmp:
        for n in (1, 2):
            work = Path(tmp) / f"w{n}"
            times[n] = _one(n, work, slides, records)
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    tiling = {n: N_SLIDES / t["tiling_s"] for n, t in times.items()}
    folds = {n: n_folds / t["cv_s"] for n, t in times.items()}
    return {
        "tiling_slides_per_s": {"1_worker": tiling[1], "2_workers": tiling[2],
                                "ratio": tiling[2] / tiling[1], "ceiling_ratio": 2.0},
        "cv_folds_per_s": {"1_worker": folds[1], "2_workers": folds[2],
                           "ratio": folds[2] / folds[1], "ceiling_ratio": 2.0},
        # workers' CPU seconds per item: equal for 1 and 2 workers when Dask adds no work per task (a check
        # that does not depend on how much of the machine other users take)
        "worker_cpu_s_per_slide": {f"{n}_worker{'s' if n > 1 else ''}": t["tiling_cpu_s"] / N_SLIDES
                                   for n, t in times.items()},
        "worker_cpu_s_per_fold": {f"{n}_worker{'s' if n > 1 else ''}": t["cv_cpu_s"] / n_folds
                                  for n, t in times.items()},
        "slides": N_SLIDES,
        "folds": n_folds,
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-dask-"))
    for key, value in run(out).items():
        print(f"{key}: {value}")

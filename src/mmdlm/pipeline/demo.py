"""`mmdlm demo`: the synthetic cohort through every stage into one run directory, ending with report.html.

Each stage is the library call its own command makes (synth, ingest, tile, radiology, cv, evaluate, explain,
report), run under the run directory's lock. Re-running on the same folder with the same config resumes:
finished stages are skipped (their outputs are written atomically, so what exists is complete), tiling,
radiology and training reuse what they already did. A different config needs `force` (the folder is
emptied first).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdlm.atomic import write_json_atomic
from mmdlm.config import Config, dump_config
from mmdlm.errors import MmdlmError
from mmdlm.pipeline.layout import CohortLayout, external_layout, run_layout
from mmdlm.rundir import LOCK_NAME, attach_log_file, run_lock, save_config
from mmdlm.stores.failures import raise_if_failed

log = logging.getLogger("mmdlm.pipeline")

EXTERNAL_NAME = "synthetic_external"

Say = Callable[[str], None]


def prepare_run_dir(out: Path, cfg: Config, force: bool) -> None:
    """Check that `out` may be (re)used for this config; with `force`, empty a previous run's folder.

    Called with the lock held. A folder that is not empty and not an mmdlm run is never touched.
    """
    entries = [p for p in out.iterdir() if p.name != LOCK_NAME]
    if not entries:
        return
    saved = out / "config.yaml"
    if not saved.is_file():
        raise MmdlmError("folder is not empty and is not an mmdlm run; choose another --out", file=out)
    if force:
        for p in entries:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        return
    if saved.read_text() != dump_config(cfg):
        raise MmdlmError(
            "this run folder was made with a different config; use --force to start it again", file=saved
        )


@contextmanager
def _stage(name: str, say: Say, timings: dict[str, float]) -> Iterator[None]:
    say(f"[bold]{name}[/bold]")
    log.info("stage %s: start", name)
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 1)
    log.info("stage %s: done in %.1f s", name, timings[name])
    say(f"  {name}: {timings[name]:.1f} s")


def prepare_cohort(
    cfg: Config, layout: CohortLayout, synth_cfg, *, workers: int, progress: bool, say: Say
) -> None:
    """synth -> ingest -> tile -> radiology for one synthetic cohort (each skipped or resumed when done)."""
    from mmdlm.cohort.manifest import load_manifest
    from mmdlm.pipeline.ingest import IngestSources, run_ingest
    from mmdlm.radiology.pipeline import extract_cohort
    from mmdlm.slides.pipeline import tile_slides
    from mmdlm.synth import write_synthetic_cohort

    if not layout.sources.is_dir():
        s = write_synthetic_cohort(layout.sources, synth_cfg, workers=workers)
        say(f"  synth: {s['patients']} patients, {s['dss_events']} DSS events, {s['ct']} CT / {s['mr']} MR")
    if not layout.manifest.is_dir():
        src = layout.sources
        sources = IngestSources(cbioportal=src / "study", slides=src / "slides", radiology=src / "radiology")
        result = run_ingest(sources, layout.manifest, cfg.ingest)
        say(
            f"  ingest: {len(result.patients)} patients, {len(result.slides)} slides, "
            f"{len(result.radiology)} radiology series, {len(result.features_info.get('features', []))} "
            "alterations"
        )
    manifest = load_manifest(layout.manifest)
    tiles = tile_slides(
        manifest.slides, layout.tiles, cfg.tiling, seed=cfg.seed, workers=workers, progress=progress,
        executor=cfg.executor,
    )
    _no_failures(tiles, "slides", "slide_id", layout.tiles)
    say(
        f"  tile: {tiles['counts']['done']} tiled, {tiles['counts']['skipped_fresh']} already done; "
        + ", ".join(f"{n} tiles at {m}" for m, n in tiles["tiles"].items())
    )
    rad = extract_cohort(
        manifest.radiology, layout.radiology, cfg.radiology, progress=progress, executor=cfg.executor
    )
    _no_failures(rad, "patients", "patient_id", layout.radiology)
    say(
        f"  radiology: {rad['counts']['done']} extracted, {rad['counts']['fresh']} already done; "
        f"{rad['images']} images"
    )


def _no_failures(summary: dict, what: str, key: str, folder: Path) -> None:
    """A failed slide or patient in the demo's own synthetic data is a bug, not something to skip."""
    for warning in summary.get("warnings", []):
        log.warning("%s", warning)
    raise_if_failed(summary, what, summary.get(what, len(summary["failed"])), folder, key)


@contextmanager
def _fold_progress(cfg: Config, console, say: Say) -> Iterator[Callable]:
    """A train_fold (the default trainer) that moves a progress bar over every task's folds and reports each
    fold; folds reused from an earlier run are not trained and do not move the bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mmdlm.train.staged import train_fold

    total = sum(cfg.cv.n_folds(t) for t in cfg.cv.tasks)
    bar = Progress(
        TextColumn("cross-validation folds"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )
    with bar:
        bar_id = bar.add_task("folds", total=total)

        def wrapped(cfg, task, train, val, out_dir, configurations):
            t0 = time.perf_counter()
            result = train_fold(cfg, task, train, val, out_dir, configurations)
            bar.advance(bar_id)
            say(
                f"  cv {task} {out_dir.name}: {len(train)} training / {len(val)} validation patients, "
                f"{len(configurations)} configurations, {time.perf_counter() - t0:.0f} s"
            )
            return result

        yield wrapped


def run_demo(cfg: Config, out: str | Path, *, force: bool = False, console=None) -> Path:
    """Run every stage on the synthetic cohort into `out`; returns the path of report.html.

    `console`: a rich Console for the progress bars and stage lines (None: quiet; the log file gets all).
    """
    from mmdlm.atomic import atomic_path
    from mmdlm.explain.run import RunSources, explain_run
    from mmdlm.pipeline.evaluate import cross_validate, evaluate_cohort
    from mmdlm.report.assemble import write_report

    say: Say = console.print if console is not None else (lambda _msg: None)
    progress = console is not None
    run_dir = Path(out)
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    with run_lock(run_dir):
        prepare_run_dir(run_dir, cfg, force)
        save_config(run_dir, cfg)
        handler = attach_log_file(run_dir)
        try:
            main = run_layout(run_dir)
            with _stage("cohort: synth, ingest, tile, radiology", say, timings):
                prepare_cohort(cfg, main, cfg.synth, workers=cfg.demo.workers, progress=progress, say=say)
            with _stage("cross-validation", say, timings), _fold_progress(cfg, console, say) as fold:
                cross_validate(cfg, main.paths(), run_dir, train_fold=fold, lock=False)
            if cfg.demo.mil_family:
                from mmdlm.pipeline.mil import run_mil_family

                with _stage("MIL family: features, cross-validation, explain", say, timings):
                    run_mil_family(cfg, main, run_dir, progress=progress, say=say)
            if cfg.demo.external_patients > 0:
                ext = external_layout(run_dir)
                ext_synth = cfg.synth.model_copy(
                    update={"patients": cfg.demo.external_patients, "seed": cfg.demo.external_seed,
                            "site_code": cfg.demo.external_site_code}
                )
                with _stage("external cohort", say, timings):
                    prepare_cohort(cfg, ext, ext_synth, workers=cfg.demo.workers, progress=progress, say=say)
                    evaluate_cohort(cfg, run_dir, ext.paths(), EXTERNAL_NAME,
                                    configurations=cfg.demo.external_configurations, lock=False)
                    if cfg.demo.mil_family:
                        from mmdlm.pipeline.mil import evaluate_external_mil

                        evaluate_external_mil(cfg, main, ext, EXTERNAL_NAME, cfg.demo.external_configurations,
                                              progress=progress)
            with _stage("explain", say, timings):
                sources = RunSources(run_dir, main.paths())
                with atomic_path(run_dir / "explain") as tmp:
                    explain_run(sources, cfg, tmp)
            timings["total_before_report"] = round(time.perf_counter() - t_start, 1)
            write_json_atomic(run_dir / "pipeline.json", {"stages_seconds": timings})
            with _stage("report", say, timings):
                html = write_report(run_dir)
            write_json_atomic(
                run_dir / "pipeline.json",
                {"stages_seconds": timings, "total_seconds": round(time.perf_counter() - t_start, 1)},
            )
        finally:
            logging.getLogger("mmdlm").removeHandler(handler)
            handler.close()
    return html

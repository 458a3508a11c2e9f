"""`mmdlm tile`: tile every slide of a cohort at the configured magnifications into a tile store."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `tile` command."""

    @app.command("tile")
    def tile(
        cohort: Path = typer.Option(..., "--cohort", help="Cohort folder (manifest from `mmdlm ingest`)"),
        out: Path = typer.Option(..., "--out", help="Tile store folder (created; reruns resume)"),
        workers: int = typer.Option(
            None, "--workers", "-w", help="Slides tiled in parallel (default: config)"
        ),
        config: Path = CONFIG_OPTION,
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary"),
    ) -> None:
        """Tile slides at ~10x and ~5x (tissue only) into OUT/<slide_id>.h5; fresh stores are skipped."""
        from mmdlm.cohort.manifest import load_manifest
        from mmdlm.slides.pipeline import tile_slides
        from mmdlm.stores.failures import raise_if_failed

        cfg = resolve_config(config)
        slides = load_manifest(cohort).slides  # validated; relative paths resolved against COHORT
        summary = tile_slides(
            slides, out, cfg.tiling, seed=cfg.seed, workers=workers, progress=not quiet, executor=cfg.executor
        )
        for warning in summary["warnings"]:
            print(f"mmdlm: warning: {warning}", file=sys.stderr)
        for failure in summary["failed"]:
            print(f"mmdlm: warning: slide {failure['slide_id']} failed: {failure['reason']}", file=sys.stderr)
        c = summary["counts"]
        if not quiet:
            tiles = ", ".join(f"{n} at {m}" for m, n in summary["tiles"].items())
            typer.echo(
                f"{summary['slides']} slides: {c['done']} tiled, {c['skipped_fresh']} fresh (skipped), "
                f"{c['redone_stale']} redone, {c['no_tissue']} without tissue, {c['failed']} failed; "
                f"tiles: {tiles} -> {out}"
            )
        raise_if_failed(summary, "slides", summary["slides"], out, "slide_id")

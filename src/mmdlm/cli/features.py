"""`mmdlm features`: every tissue tile of every slide (and the radiology planes) embedded once with the
configured encoder (model.encoder) into a feature store."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `features` command."""

    @app.command("features")
    def features(
        cohort: Path = typer.Option(..., "--cohort", help="Cohort folder (manifest from `mmdlm ingest`)"),
        out: Path = typer.Option(..., "--out", help="Feature store folder (created; reruns resume)"),
        radiology: Path = typer.Option(None, "--radiology", help="Radiology store (`mmdlm radiology`)"),
        config: Path = CONFIG_OPTION,
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary"),
    ) -> None:
        """Embed every tissue tile at each magnification into OUT/<slide_id>.h5 (fresh stores are kept)."""
        from mmdlm.cohort.manifest import load_manifest
        from mmdlm.features.pipeline import extract_features
        from mmdlm.stores.failures import raise_if_failed

        cfg = resolve_config(config)
        slides = load_manifest(cohort).slides
        summary = extract_features(
            slides,
            out,
            cfg.tiling,
            cfg.model.encoder,
            cfg.features,
            rad_dir=radiology,
            executor=cfg.executor,
            progress=not quiet,
        )
        for failure in summary["failed"]:
            print(f"mmdlm: warning: slide {failure['slide_id']} failed: {failure['reason']}", file=sys.stderr)
        c = summary["counts"]
        if not quiet:
            tiles = ", ".join(f"{n} at {m}" for m, n in summary["tiles"].items())
            rate = summary["tiles_per_second"]
            typer.echo(
                f"{summary['slides']} slides: {c['done']} embedded, {c['fresh']} fresh (kept), {c['redone']} "
                f"redone, {c['failed']} failed; tiles: {tiles}"
                + (f" ({rate} tiles/s)" if rate else "")
                + f" with {summary['encoder']['encoder_label']} -> {out}"
            )
        raise_if_failed(summary, "slides", summary["slides"], out, "slide_id")

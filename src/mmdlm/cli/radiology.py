"""`mmdlm radiology`: the planes of maximum tumour diameter (or user-chosen images) into a radiology store."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `radiology` command."""

    @app.command("radiology")
    def radiology(
        cohort: Path = typer.Option(
            ..., "--cohort", help="Cohort folder with radiology.csv (from `mmdlm ingest`)"
        ),
        out: Path = typer.Option(..., "--out", help="Radiology store folder (created; reruns resume)"),
        config: Path = CONFIG_OPTION,
        force: bool = typer.Option(False, "--force", help="Redo patients whose outputs are up to date"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary"),
    ) -> None:
        """Axial, coronal and sagittal images at the tumour's maximum diameter -> OUT/<patient>/*.png."""
        from mmdlm.cohort.manifest import load_manifest
        from mmdlm.radiology.pipeline import extract_cohort
        from mmdlm.stores.failures import raise_if_failed

        cfg = resolve_config(config)
        table = load_manifest(cohort).radiology
        summary = extract_cohort(
            table, out, cfg.radiology, progress=not quiet, force=force, executor=cfg.executor
        )
        for warning in summary["warnings"]:
            print(f"mmdlm: warning: {warning}", file=sys.stderr)
        c = summary["counts"]
        if not quiet:
            typer.echo(
                f"{summary['patients']} patients: {c['done']} extracted, {c['fresh']} fresh (skipped), "
                f"{c['no_mask']} without mask, {c['failed']} failed; {summary['images']} images -> {out}"
            )
        raise_if_failed(summary, "patients", summary["patients"], out)

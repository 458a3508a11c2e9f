"""`mmdlm synth`: write the synthetic ccRCC demo cohort (thin CLI over mmdlm.synth)."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config
from mmdlm.errors import MmdlmError


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the app."""

    @app.command("synth")
    def synth(
        out: Path = typer.Argument(..., help="Output folder (must be absent or empty unless --force)"),
        patients: int | None = typer.Option(
            None, "--patients", "-n", help="Number of patients (default: config)"
        ),
        seed: int | None = typer.Option(None, "--seed", "-s", help="Random seed (default: config)"),
        workers: int = typer.Option(1, "--workers", "-w", help="Processes writing images"),
        force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder"),
        config: Path | None = CONFIG_OPTION,
    ) -> None:
        """Write a synthetic TCGA-KIRC-like cohort: cBioPortal study, GDC slides, TCIA DICOM, truth tables."""
        from pydantic import ValidationError

        from mmdlm.synth import write_synthetic_cohort

        if patients is not None and patients < 1:
            raise MmdlmError(f"--patients must be >= 1, got {patients}", field="patients")
        if seed is not None and seed < 0:
            raise MmdlmError(f"--seed must be >= 0, got {seed}", field="seed")
        if workers < 1:
            raise MmdlmError(f"--workers must be >= 1, got {workers}", field="workers")
        cfg = resolve_config(config).synth
        updates = {k: v for k, v in (("patients", patients), ("seed", seed)) if v is not None}
        try:
            cfg = cfg.model_validate({**cfg.model_dump(), **updates})
        except ValidationError as exc:  # pragma: no cover - guarded above
            raise MmdlmError(str(exc).splitlines()[0], field="synth") from None
        summary = write_synthetic_cohort(out, cfg, workers=workers, force=force)
        typer.echo(
            f"wrote {summary['patients']} patients to {summary['out']}: {summary['dss_events']} DSS events, "
            f"{summary['ct']} CT / {summary['mr']} MR, {summary['files']} files, "
            f"{summary['bytes'] / 1e6:.1f} MB in {summary['seconds']} s"
        )

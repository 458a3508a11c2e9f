"""`mmdlm baselines`: C-index of each clinical factor and the multivariable clinical Cox model of a cohort."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `baselines` command."""

    @app.command("baselines")
    def baselines(
        cohort: Path = typer.Option(..., "--cohort", help="Cohort folder (manifest from `mmdlm ingest`)"),
        endpoint: str = typer.Option("DSS", "--endpoint", help="Endpoint the cohort holds (DSS, OS, PFI)"),
        json_out: Path = typer.Option(None, "--json", help="Write the statistics as JSON to this file"),
        config: Path = CONFIG_OPTION,
    ) -> None:
        """Clinical factors' C-indices (higher factor = higher risk) and the Cox model with the PH check."""
        from mmdlm.evaluate.baselines import baselines_for_cohort, format_baselines
        from mmdlm.results.files import write_baselines

        cfg = resolve_config(config)
        result = baselines_for_cohort(cohort, endpoint, cfg.cv)
        if json_out is not None:  # the schema of metrics.json's `baselines` entry, plus the cohort
            write_baselines(json_out, result)
        typer.echo(format_baselines(result))

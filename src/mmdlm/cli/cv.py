"""`mmdlm cv`: patient-level K-fold cross-validation of the staged training, predictions and statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `cv` command."""

    @app.command("cv")
    def cv(
        cohort: Path = typer.Option(..., "--cohort", help="Cohort folder (manifest from `mmdlm ingest`)"),
        tiles: Path = typer.Option(None, "--tiles", help="Tile store folder (`mmdlm tile`)"),
        radiology: Path = typer.Option(None, "--radiology", help="Radiology store (`mmdlm radiology`)"),
        features: Path = typer.Option(
            None, "--features", help="Feature stores (`mmdlm features`) for model.family: mil"
        ),
        run: Path = typer.Option(..., "--run", help="Run folder (folds.json, cv/, predictions.csv, ...)"),
        task: list[str] = typer.Option(
            None, "--task", help="cox, 5yss and/or discrete (repeatable; default: config)"
        ),
        configuration: list[str] = typer.Option(
            None, "--configuration", help="Configuration(s) to compare (repeatable; default: config)"
        ),
        config: Path = CONFIG_OPTION,
    ) -> None:
        """Cross-validate every configuration, then write predictions.csv and metrics.json in RUN."""
        from mmdlm.cohort.paths import CohortPaths
        from mmdlm.evaluate.compare import format_table
        from mmdlm.pipeline.evaluate import cross_validate

        cfg = resolve_config(config)
        result = cross_validate(cfg, CohortPaths(cohort, tiles, radiology, features), run, tasks=task or None,
                                configurations=configuration or None)
        for t, m in result["tasks"].items():
            typer.echo(f"task {t}: {m['primary_metric']} per configuration ({m['n_folds']} folds)")
            typer.echo(format_table(m["table"]))
        typer.echo(f"wrote {run / 'predictions.csv'} and {run / 'metrics.json'}")

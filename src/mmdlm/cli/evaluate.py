"""`mmdlm evaluate`: apply a run's fold models to an external cohort and report the metrics beside CV's."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command."""

    @app.command("evaluate")
    def evaluate(
        run: Path = typer.Option(..., "--run", help="Run folder of a finished `mmdlm cv`"),
        cohort: Path = typer.Option(..., "--cohort", help="External cohort folder (manifest)"),
        tiles: Path = typer.Option(None, "--tiles", help="The external cohort's tile store"),
        radiology: Path = typer.Option(None, "--radiology", help="Its radiology store"),
        features: Path = typer.Option(
            None, "--features", help="Its feature stores (`mmdlm features`), for a model.family mil run"
        ),
        name: str = typer.Option(None, "--name", help="Name under RUN/external/ (default: folder name)"),
        configuration: list[str] = typer.Option(None, "--configuration", help="Configuration(s)"),
        config: Path = CONFIG_OPTION,
    ) -> None:
        """Every fold model per configuration on the cohort (the ensemble and the fold models' mean and max,
        beside CV's); metrics in RUN/external/<name>/metrics.json. Config: -c, else RUN/config.yaml."""
        from mmdlm.cohort.paths import CohortPaths
        from mmdlm.names import check_id
        from mmdlm.pipeline.evaluate import evaluate_cohort

        label = check_id(name or cohort.resolve().name, field="--name", what="cohort name")
        # the run's own settings (model family, image size, tasks) unless another config is named
        cfg = resolve_config(config if config is not None or not (run / "config.yaml").is_file()
                             else run / "config.yaml")
        result = evaluate_cohort(cfg, run, CohortPaths(cohort, tiles, radiology, features), label,
                                 configurations=configuration or None)
        for t, tm in result["tasks"].items():
            for conf, cm in tm["configurations"].items():
                for metric, v in cm["vs_cv"].items():
                    if v["external_mean"] is None:
                        continue
                    cv_mean = "n/a" if v["cv_mean"] is None else f"{v['cv_mean']:.4f}"
                    typer.echo(f"{t} {conf} {metric}: external mean {v['external_mean']:.4f} "
                               f"max {v['external_max']:.4f} (CV mean {cv_mean})")
        typer.echo(f"wrote {run / 'external' / label / 'metrics.json'}")

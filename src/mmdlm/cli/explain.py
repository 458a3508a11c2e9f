"""`mmdlm explain`: Grad-CAM gallery, WSI markup (PNG + QuPath GeoJSON) and attention summary of a run."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION


def _split(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma-separated lists alike: ['A,B', 'C'] -> ['A', 'B', 'C']."""
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def register(app: typer.Typer) -> None:
    """Add the `explain` command."""

    @app.command("explain")
    def explain(
        run: Path = typer.Option(..., "--run", help="Run directory (from `mmdlm cv` / `mmdlm demo`)"),
        patients: list[str] = typer.Option(None, "--patients", help="Gallery patients (repeat or A,B)"),
        slides: list[str] = typer.Option(None, "--slides", help="Slide IDs to mark up (repeat or A,B)"),
        task: list[str] = typer.Option(
            None, "--task", help="cox and/or 5yss (default: the config's cv.tasks)"
        ),
        configuration: str = typer.Option(
            None, "--configuration", help="Model configuration (default: fused)"
        ),
        cohort: Path = typer.Option(None, "--cohort", help="Manifest folder (default: RUN/manifest)"),
        tiles: Path = typer.Option(None, "--tiles", help="Tile store (default: RUN/tiles)"),
        radiology: Path = typer.Option(None, "--radiology", help="Radiology store (default: RUN/radiology)"),
        features: Path = typer.Option(
            None, "--features", help="Feature stores of a model.family mil run (default: RUN/../features)"
        ),
        config: Path = CONFIG_OPTION,
    ) -> None:
        """Write Grad-CAM overlays and gallery, WSI markups and the attention summary to RUN/explain/."""
        from mmdlm.atomic import atomic_path
        from mmdlm.cohort.paths import CohortPaths
        from mmdlm.config import load_config, packaged_config
        from mmdlm.errors import MmdlmError
        from mmdlm.modalities import CONFIGURATIONS
        from mmdlm.pipeline.families import ExplainRequest, get_family
        from mmdlm.rundir import run_lock
        from mmdlm.tasks.registry import check_task_name

        if not run.is_dir():
            raise MmdlmError("run directory not found", file=run)
        if config is None:
            config = run / "config.yaml" if (run / "config.yaml").is_file() else packaged_config("demo")
        cfg = load_config(config)
        tasks = _split(task)
        for t in tasks or []:
            check_task_name(t, field="--task")
        if configuration is not None and configuration not in CONFIGURATIONS:
            raise MmdlmError(
                f"unknown configuration '{configuration}'; known: {list(CONFIGURATIONS)}",
                field="--configuration",
            )
        family = get_family(cfg.model.family)  # the end-to-end Grad-CAM and markup, or the MIL maps
        inputs = CohortPaths(cohort or run / "manifest", tiles, radiology, features)
        request = ExplainRequest(run, inputs, tasks, _split(patients), _split(slides), configuration)
        with run_lock(run), atomic_path(run / "explain") as tmp:
            lines = family.explainer()(cfg, request, tmp)
        for line in lines:
            typer.echo(line)
        typer.echo(f"-> {run / 'explain'}")

"""`mmdlm demo`: the whole pipeline on the synthetic cohort (thin CLI over mmdlm.pipeline.demo)."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `demo` command."""

    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-run"), "--out", "-o", help="Run folder (resumed if it exists)"),
        config: Path = CONFIG_OPTION,
        force: bool = typer.Option(False, "--force", help="Empty a previous run in OUT and start again"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the report's path"),
    ) -> None:
        """Synthesise, ingest, tile, radiology, cross-validate, evaluate, explain; write report.html."""
        from rich.console import Console

        from mmdlm.pipeline.demo import run_demo

        cfg = resolve_config(config)
        console = None if quiet else Console(stderr=True, highlight=False)
        html = run_demo(cfg, out, force=force, console=console)
        typer.echo(str(html))

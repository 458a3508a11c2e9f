"""`mmdlm report`: RUN/report.json and the self-contained RUN/report.html (thin CLI over mmdlm.report)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `report` command."""

    @app.command("report")
    def report(
        run: Path = typer.Option(
            ..., "--run", help="Run folder (after `mmdlm cv`; explain/evaluate optional)"
        ),
        title: str = typer.Option(None, "--title", help="Report title (default: the run folder's name)"),
        screenshot: Path = typer.Option(
            None, "--screenshot", help="Also render the page in headless Chromium to this PNG"
        ),
    ) -> None:
        """Gather the run's numbers and figures into report.json and one HTML file with images embedded."""
        from mmdlm.errors import MmdlmError
        from mmdlm.report.assemble import write_report
        from mmdlm.rundir import run_lock

        if not run.is_dir():
            raise MmdlmError("run directory not found", file=run)
        with run_lock(run):
            html = write_report(run, title)
        if screenshot is not None:
            from mmdlm.report.screenshot import screenshot as shoot

            shoot(html, screenshot)
        typer.echo(str(html))

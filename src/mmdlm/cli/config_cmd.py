"""`mmdlm config show`: print the resolved, validated config."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.config import dump_config, load_config, packaged_config


def register(app: typer.Typer) -> None:
    """Add the `config` command group."""
    group = typer.Typer(help="Inspect configs.", no_args_is_help=True)

    @group.command("show")
    def show(
        config: Path = typer.Argument(None, help="YAML config (default: the packaged demo config)"),
    ) -> None:
        """Print the resolved config (defaults filled in); unknown keys are errors."""
        typer.echo(dump_config(load_config(config or packaged_config("demo"))), nl=False)

    app.add_typer(group, name="config")

"""Options and helpers shared by the CLI command modules."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.config import Config, load_config, packaged_config

CONFIG_OPTION = typer.Option(
    None,
    "--config",
    "-c",
    help="YAML config, laid over the paper's settings or over the config its `extends:` key names "
    "(demo, tcga_kirc or a path); without -c: the packaged demo config",
)


def resolve_config(path: Path | None) -> Config:
    """Load the given config, or the packaged demo config when none is given."""
    return load_config(path if path is not None else packaged_config("demo"))

"""`mmdlm synth`: thin CLI over the library (being filled in by its package's owner)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the app."""

"""Saving a matplotlib figure as a PNG atomically (never a half-written file) and releasing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdlm.atomic import atomic_path


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> Path:
    """Write `fig` to `path` as a PNG at 100 dpi (unless `savefig` says otherwise) through a temporary
    file, then close the figure; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **{"format": "png", "dpi": 100, **savefig})
    plt.close(fig)
    return path

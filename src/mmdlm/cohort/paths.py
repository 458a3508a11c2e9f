"""Where one cohort's inputs are: its manifest folder and the stores built from it, passed along as one value
(`mmdlm cv`, `evaluate`, `train`, `explain`, the demo) instead of four loose paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CohortPaths:
    """`manifest`: the manifest folder (`mmdlm ingest`, the CLI's --cohort); `tiles`, `radiology`, `features`:
    the tile, radiology and feature stores (`mmdlm tile`, `radiology`, `features`), None when not given.
    Strings are taken as paths."""

    manifest: Path
    tiles: Path | None = None
    radiology: Path | None = None
    features: Path | None = None

    def __post_init__(self) -> None:
        for name in ("manifest", "tiles", "radiology", "features"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

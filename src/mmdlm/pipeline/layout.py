"""Where the demo's stages write inside the run directory (docs/formats/run.md, "demo run")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmdlm.cohort.paths import CohortPaths


@dataclass(frozen=True)
class CohortLayout:
    """One cohort's folders: the raw synthetic sources, the manifest, the tile and radiology stores."""

    root: Path

    @property
    def sources(self) -> Path:
        """The synthetic cohort as a user would bring it (study/, slides/, radiology/)."""
        return self.root / "synth"

    @property
    def manifest(self) -> Path:
        """`mmdlm ingest` output."""
        return self.root / "manifest"

    @property
    def tiles(self) -> Path:
        """`mmdlm tile` output."""
        return self.root / "tiles"

    @property
    def radiology(self) -> Path:
        """`mmdlm radiology` output."""
        return self.root / "radiology"

    @property
    def features(self) -> Path:
        """`mmdlm features` output (the MIL family's feature stores)."""
        return self.root / "features"

    def paths(self) -> CohortPaths:
        """The cohort's manifest and its tile, radiology and feature stores, as the stages take them."""
        return CohortPaths(self.manifest, self.tiles, self.radiology, self.features)

    @property
    def mil(self) -> Path:
        """The MIL family's cross-validation run (its own metrics.json, same folds as RUN's)."""
        return self.root / "mil"


def run_layout(run_dir: Path) -> CohortLayout:
    """The training cohort lives in RUN itself: RUN/manifest, RUN/tiles, RUN/radiology."""
    return CohortLayout(Path(run_dir))


def external_layout(run_dir: Path) -> CohortLayout:
    """The external test cohort's folders (RUN/external_cohort/...)."""
    return CohortLayout(Path(run_dir) / "external_cohort")

"""Per-tile classes, colours and certainty of a markup.

5yss: 'deceased' where p(deceased) >= 0.5, else 'alive'; certainty = max(p, 1 - p) in [0.5, 1].
cox:  'risk Q1' (lowest) .. 'risk Qn' (highest) by the quantiles of a reference risk distribution (the run's
      patient risks, or the slide's own tiles); certainty = |2 F(risk) - 1| in [0, 1], F the reference's
      empirical CDF (how far the tile sits from the reference median).
`strength` rescales certainty to [0, 1] for both tasks (it drives the opacity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps

from mmdlm.tasks.registry import get_task

ALIVE, DECEASED = "alive", "deceased"
COLOURS_5YSS = {ALIVE: (33, 102, 172), DECEASED: (178, 24, 43)}


@dataclass(frozen=True)
class TileClasses:
    """Class index per tile, the class names and colours (RGB 0-255), certainty and strength per tile."""

    index: np.ndarray  # int [N]
    names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    certainty: np.ndarray  # float [N]
    strength: np.ndarray  # float [N] in [0, 1]
    score_name: str  # "risk" or "p_dead"


def classes_5yss(p_dead: np.ndarray) -> TileClasses:
    """Alive / deceased per tile from p(deceased)."""
    p = np.clip(np.asarray(p_dead, dtype=np.float64), 0.0, 1.0)
    index = (p >= 0.5).astype(np.int64)
    certainty = np.maximum(p, 1.0 - p)
    return TileClasses(index, (ALIVE, DECEASED), (COLOURS_5YSS[ALIVE], COLOURS_5YSS[DECEASED]),
                       certainty, 2.0 * certainty - 1.0, "p_dead")


def risk_colours(n: int) -> tuple[tuple[int, int, int], ...]:
    """n colours from low (blue) to high (red) risk (matplotlib RdYlBu_r)."""
    cmap = colormaps["RdYlBu_r"]
    return tuple(tuple(int(round(255 * c)) for c in cmap((i + 0.5) / n)[:3]) for i in range(n))


def classes_cox(risk: np.ndarray, n_quantiles: int = 4, reference: np.ndarray | None = None) -> TileClasses:
    """Risk-quantile class per tile; quantiles of `reference` (default: the tiles' own risks)."""
    risk = np.asarray(risk, dtype=np.float64)
    ref = np.asarray(reference if reference is not None else risk, dtype=np.float64)
    ref = np.sort(ref[np.isfinite(ref)])
    if ref.size == 0:
        ref = np.zeros(1)
    edges = np.quantile(ref, np.linspace(0.0, 1.0, n_quantiles + 1)[1:-1])
    index = np.searchsorted(edges, risk, side="right").astype(np.int64)
    # mid-rank empirical CDF: ties with the reference count half
    below = np.searchsorted(ref, risk, side="left") + np.searchsorted(ref, risk, side="right")
    cdf = below / (2.0 * ref.size)
    certainty = np.abs(2.0 * cdf - 1.0)
    names = tuple(f"risk Q{i + 1}" for i in range(n_quantiles))
    return TileClasses(index, names, risk_colours(n_quantiles), certainty, certainty, "risk")


def tile_classes(task: str, scores: np.ndarray, n_quantiles: int = 4,
                 reference: np.ndarray | None = None) -> TileClasses:
    """Classes for a task's scores: p(deceased) (5yss) or risk (cox)."""
    if get_task(task).quantile_classes:
        return classes_cox(scores, n_quantiles, reference)
    return classes_5yss(scores)

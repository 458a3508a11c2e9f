"""Config section owned by mmdlm.slides: tiling."""

from __future__ import annotations

from mmdlm.config_base import StrictModel


class TilingConfig(StrictModel):
    """Tiling parameters; any change invalidates existing tile stores."""

    magnifications: tuple[float, ...] = (10.0, 5.0)
    tile_size: int = 224
    tissue_fraction: float = 0.5
    max_tiles_per_slide: int | None = None
    workers: int = 1

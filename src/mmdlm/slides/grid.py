"""The tile grid of a slide at a magnification (tissue tiles only) and reading one tile.

These three functions are the stable public API other stages (the explain stage's sliding-window markup) use
to find and read exactly the tissue tiles of a slide:

    mask = tissue_mask(slide, cfg)
    coords = tile_grid(slide, 10.0, 224, 0.5, mask=mask)       # int64 [N, 2] level-0 (x, y)
    tile = read_tile(slide, coords[0], 10.0, 224)               # uint8 [224, 224, 3]

The grid is non-overlapping, starts at level-0 (0, 0), has a stride of one tile (`level0_size` level-0 px),
holds only tiles entirely inside the slide, and is sorted row-major (by y, then x).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mmdlm.slides.config import TilingConfig
from mmdlm.slides.levels import TileGeometry, tile_geometry
from mmdlm.slides.reader import SlideReader
from mmdlm.slides.tissue import TissueMask, tissue_mask


def grid_coords(width: int, height: int, level0_size: int) -> np.ndarray:
    """All tiles of side `level0_size` entirely inside a `width` x `height` slide: int64 [N, 2] (x, y)."""
    xs = np.arange(0, width - level0_size + 1, level0_size, dtype=np.int64)
    ys = np.arange(0, height - level0_size + 1, level0_size, dtype=np.int64)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def tissue_fractions(mask: TissueMask, coords: np.ndarray, level0_size: int) -> np.ndarray:
    """Fraction of each tile's area (level-0 top-left `coords`, side `level0_size`)
    that is tissue in `mask`."""
    coords = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
    h, w = mask.mask.shape
    integral = mask.integral
    x0 = np.clip(np.round(coords[:, 0] * mask.scale_x).astype(np.int64), 0, w - 1)
    y0 = np.clip(np.round(coords[:, 1] * mask.scale_y).astype(np.int64), 0, h - 1)
    x1 = np.clip(np.round((coords[:, 0] + level0_size) * mask.scale_x).astype(np.int64), x0 + 1, w)
    y1 = np.clip(np.round((coords[:, 1] + level0_size) * mask.scale_y).astype(np.int64), y0 + 1, h)
    total = integral[y1, x1].astype(np.int64) - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return total / ((x1 - x0) * (y1 - y0))


def tile_grid(
    slide: SlideReader,
    magnification: float,
    tile_size: int,
    tissue_fraction: float,
    *,
    mask: TissueMask | None = None,
    cfg: TilingConfig | None = None,
) -> np.ndarray:
    """Level-0 (x, y) int64 [N, 2] of the grid tiles at `magnification` whose tissue fraction is at least
    `tissue_fraction` (mask computed with `cfg`'s filters unless given), row-major."""
    geometry = tile_geometry(slide, magnification, tile_size)
    mask = mask if mask is not None else tissue_mask(slide, cfg)
    coords = grid_coords(*slide.dimensions, geometry.level0_size)
    if len(coords) == 0:
        return coords
    fractions = tissue_fractions(mask, coords, geometry.level0_size)
    keep = fractions >= tissue_fraction
    if tissue_fraction <= 0:
        keep &= fractions > 0
    return coords[keep]


def region_reduce(geometry: TileGeometry) -> int:
    """The whole factor by which a region read for `geometry` is box-averaged (PIL reduce, done by the reader;
    faster than a BOX resize and equal to it), or 1 when the tile needs a fractional resize instead."""
    factor, rest = divmod(geometry.read_size, geometry.tile_size)
    return factor if rest == 0 else 1


def finish_tile(region: np.ndarray, geometry: TileGeometry) -> np.ndarray:
    """The tile from a region read for `geometry` and already reduced by `region_reduce(geometry)`: resized
    (area resampling) to tile_size when it is not that size yet."""
    if region.shape[:2] != (geometry.tile_size, geometry.tile_size):
        image = Image.fromarray(region).resize((geometry.tile_size, geometry.tile_size), Image.Resampling.BOX)
        region = np.asarray(image)
    return region


def read_tile_at(slide: SlideReader, xy: tuple[int, int] | np.ndarray, geometry: TileGeometry) -> np.ndarray:
    """The tile with level-0 top-left `xy` read as `geometry` says: uint8 [S, S, 3] RGB (area resampling)."""
    size = (geometry.read_size, geometry.read_size)
    region = slide.read_region((int(xy[0]), int(xy[1])), geometry.level, size, reduce=region_reduce(geometry))
    return finish_tile(region, geometry)


def read_tile(
    slide: SlideReader, xy: tuple[int, int] | np.ndarray, magnification: float, tile_size: int
) -> np.ndarray:
    """The tile of `tile_size` px at `magnification`
    whose level-0 top-left corner is `xy`: uint8 [S, S, 3]."""
    return read_tile_at(slide, xy, tile_geometry(slide, magnification, tile_size))

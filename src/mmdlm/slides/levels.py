"""Magnification -> pyramid level: which level to read, how big a region, and the resulting um/px."""

from __future__ import annotations

from dataclasses import dataclass

from mmdlm.errors import MmdlmError
from mmdlm.slides.reader import SlideReader, mpp_for_magnification

#: A level counts as matching the requested resolution within this relative tolerance.
LEVEL_TOLERANCE = 0.02
#: Upsampling beyond this factor is refused: the slide was not scanned at the requested magnification.
MAX_UPSAMPLE = 1.1


@dataclass(frozen=True)
class TileGeometry:
    """How a tile of `tile_size` px at `magnification` is read from a slide."""

    magnification: float
    tile_size: int
    level: int  # pyramid level read from (the nearest finer or equal one)
    level_downsample: float  # that level's downsample w.r.t. level 0
    level0_size: int  # tile side in level-0 px (also the grid stride)
    read_size: int  # side of the region read at `level` (resized to tile_size when it differs)
    effective_mpp: float  # um/px of the stored tile: level0_size * mpp0 / tile_size

    @property
    def needs_resize(self) -> bool:
        """True when the region read at `level` is not already tile_size px."""
        return self.read_size != self.tile_size


def best_level(slide: SlideReader, downsample: float) -> int:
    """Index of the coarsest level whose downsample is <= `downsample` (within LEVEL_TOLERANCE)."""
    best = 0
    for i, ds in enumerate(slide.level_downsamples):
        if ds <= downsample * (1.0 + LEVEL_TOLERANCE) and ds >= slide.level_downsamples[best]:
            best = i
    return best


def tile_geometry(slide: SlideReader, magnification: float, tile_size: int) -> TileGeometry:
    """Level, region size and effective um/px for tiles of `tile_size` px at `magnification` on `slide`."""
    mpp0 = slide.mpp.x
    target_mpp = mpp_for_magnification(magnification)
    downsample = target_mpp / mpp0
    if downsample < 1.0 / MAX_UPSAMPLE:
        raise MmdlmError(
            f"requested {magnification:g}x ({target_mpp:.3f} um/px) is finer than the slide's level 0 "
            f"({mpp0:.3f} um/px, ~{mpp_for_magnification(mpp0):.1f}x)",
            file=slide.path,
            field="magnification",
        )
    level = best_level(slide, downsample)
    level_ds = slide.level_downsamples[level]
    if abs(level_ds / downsample - 1.0) <= LEVEL_TOLERANCE:
        # the level matches the request: read exactly tile_size px there, no resampling
        read_size = tile_size
        level0_size = max(1, round(tile_size * level_ds))
    else:
        level0_size = max(1, round(tile_size * downsample))
        read_size = max(1, round(level0_size / level_ds))
        factor = round(read_size / tile_size)
        if factor >= 1 and abs(factor * tile_size / read_size - 1.0) <= LEVEL_TOLERANCE:
            # snap to a whole multiple of the tile: an exact box average (PIL reduce) instead of a fractional
            # resample, several times faster; the scale moves by <= LEVEL_TOLERANCE (effective_mpp is exact)
            read_size = factor * tile_size
            level0_size = max(1, round(read_size * level_ds))
    return TileGeometry(
        magnification=float(magnification),
        tile_size=int(tile_size),
        level=level,
        level_downsample=float(level_ds),
        level0_size=int(level0_size),
        read_size=int(read_size),
        effective_mpp=level0_size * mpp0 / tile_size,
    )

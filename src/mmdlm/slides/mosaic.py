"""Reading several magnifications' tiles with each pyramid-level pixel decoded once.

When two magnifications read the same pyramid level at whole level coordinates (10x and 5x both read level
0 of a single-level 20x slide, or level 1 of a 40x pyramid whose downsamples are exactly 1, 4, 16), a coarse
tile's region is exactly k x k regions of the fine grid: the grids share the origin and the coarse stride is
k fine strides. Reading each magnification's tiles on its own decodes those pixels twice; here each piece is
decoded once, for the fine tile, and the coarse tile is built from the pieces of its band of rows (missing
ones are read): each piece box-averaged on its own and placed side by side when no averaging block
straddles two pieces, else the full region assembled and reduced. OpenSlide paints whole level coordinates
as plain copies, so the tiles are those a single read of each region gives, bit for bit (tested).
Fractional level coordinates (Aperio's downsample 4.0003) are interpolated by OpenSlide and never shared.

    for geometry, xy, tile in iter_group_tiles(slide, group, coords):   # store order per magnification
        ...
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mmdlm.slides.grid import finish_tile, read_tile_at, region_reduce
from mmdlm.slides.levels import TileGeometry
from mmdlm.slides.openslide_reader import rgb_from_argb
from mmdlm.slides.reader import SlideReader


@dataclass(frozen=True)
class ReadGroup:
    """Magnifications read together: `source` tiles are read one region each; each of `assembled` (with its
    factor k) is a k x k mosaic of source-grid regions."""

    source: TileGeometry
    assembled: tuple[tuple[TileGeometry, int], ...] = ()

    @property
    def band(self) -> int:
        """Height in level-0 px of the row bands the group is read in: every tile lies in exactly one band."""
        return math.lcm(self.source.level0_size, *(g.level0_size for g, _ in self.assembled))

    @property
    def geometries(self) -> tuple[TileGeometry, ...]:
        """The source, then the assembled magnifications."""
        return (self.source, *(g for g, _ in self.assembled))


def mosaic_factor(fine: TileGeometry, coarse: TileGeometry) -> int | None:
    """k when every `coarse` region is exactly k x k `fine`-grid regions read at whole level coordinates (same
    level, integral downsample, strides k apart); None otherwise."""
    ds = fine.level_downsample
    if coarse.level != fine.level or ds != round(ds) or fine.level0_size != fine.read_size * round(ds):
        return None
    k, rest = divmod(coarse.read_size, fine.read_size)
    if rest or k < 2 or coarse.level0_size != k * fine.level0_size:
        return None
    return k


def read_groups(geometries: list[TileGeometry], share: bool = True) -> list[ReadGroup]:
    """Group magnifications: each one, from the finest, is assembled from the first compatible source or
    becomes a source itself. `share=False` (a reader without `read_argb`): every one alone."""
    if not share:
        return [ReadGroup(g) for g in geometries]
    groups: list[ReadGroup] = []
    for geometry in sorted(geometries, key=lambda g: g.level0_size):
        for i, group in enumerate(groups):
            k = mosaic_factor(group.source, geometry)
            if k is not None:
                groups[i] = ReadGroup(group.source, (*group.assembled, (geometry, k)))
                break
        else:
            groups.append(ReadGroup(geometry))
    return groups


def _bands(coords: np.ndarray, band: int, bands: np.ndarray) -> list[slice]:
    """For coords sorted row-major, the slice of those in each band (by the top edge's y)."""
    rows = coords[:, 1] // band
    starts = np.searchsorted(rows, bands, side="left")
    stops = np.searchsorted(rows, bands, side="right")
    return [slice(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def iter_group_tiles(
    slide: SlideReader, group: ReadGroup, coords: dict[float, np.ndarray]
) -> Iterator[tuple[TileGeometry, np.ndarray, np.ndarray]]:
    """(geometry, level-0 xy, uint8 [S, S, 3] tile) for every tile in `coords` (per magnification, row-major)
    of the group's magnifications, band by band: each magnification's tiles come in their row-major order.
    Holds at most one band's pieces that assembled tiles still need, each already box-averaged for its tile
    where it can be (a 448-px piece of a 5x tile: 112 x 112 RGB)."""
    band = group.band
    geometries = group.geometries
    arrays = [np.asarray(coords[g.magnification], dtype=np.int64).reshape(-1, 2) for g in geometries]
    bands = np.unique(np.concatenate([a[:, 1] // band for a in arrays]))
    slices = [_bands(a, band, bands) for a in arrays]
    source = group.source
    step = source.level0_size
    for b in range(len(bands)):
        users: dict[tuple[int, int], list[int]] = {}  # source-grid piece -> assembled magnifications using it
        for n, ((_, k), array, sl) in enumerate(zip(group.assembled, arrays[1:], slices[1:], strict=True)):
            for x, y in array[sl[b]].tolist():
                for j in range(k):
                    for i in range(k):
                        users.setdefault((x + i * step, y + j * step), []).append(n)
        pieces: dict[tuple[int, int, int], np.ndarray] = {}  # (assembled index, x, y) -> piece form
        for xy in arrays[0][slices[0][b]]:
            key = (int(xy[0]), int(xy[1]))
            if key not in users:  # no assembled tile needs it: the plain read (any reader)
                yield source, xy, read_tile_at(slide, xy, source)
                continue
            argb = _read_piece(slide, group, key, users[key], pieces)
            yield source, xy, finish_tile(rgb_from_argb(argb, region_reduce(source)), source)
        for n, ((geometry, k), array, sl) in enumerate(
            zip(group.assembled, arrays[1:], slices[1:], strict=True)
        ):
            for x, y in array[sl[b]].tolist():
                keys = [(x + i * step, y + j * step) for j in range(k) for i in range(k)]
                for key in keys:
                    if (n, *key) not in pieces:  # not read yet: no source tile there
                        _read_piece(slide, group, key, users[key], pieces)
                forms = [pieces.pop((n, *key)) for key in keys]
                yield geometry, np.array([x, y], np.int64), _assembled_tile(forms, geometry, source, k)


def _piecewise(geometry: TileGeometry, source: TileGeometry) -> bool:
    """True when the tile's box average never straddles two source pieces: each is averaged on its own."""
    factor = region_reduce(geometry)
    return factor * geometry.tile_size == geometry.read_size and source.read_size % factor == 0


def _read_piece(
    slide: SlideReader,
    group: ReadGroup,
    key: tuple[int, int],
    users: list[int],
    pieces: dict[tuple[int, int, int], np.ndarray],
) -> np.ndarray:
    """Decode one source-grid piece (once) and keep, for each assembled magnification using it, what that
    tile needs of it: its box average where `_piecewise`, else the ARGB piece itself. Returns the ARGB."""
    source = group.source
    argb = slide.read_argb(key, source.level, (source.read_size, source.read_size))
    for n in users:
        geometry = group.assembled[n][0]
        alone = _piecewise(geometry, source)
        pieces[(n, *key)] = rgb_from_argb(argb, region_reduce(geometry)) if alone else argb
    return argb


def _assembled_tile(
    forms: list[np.ndarray], geometry: TileGeometry, source: TileGeometry, k: int
) -> np.ndarray:
    """The tile from its k x k pieces' forms (row-major): averaged pieces placed side by side (the pixels of
    averaging the whole region, as blocks never straddle pieces), or the full-size ARGB region assembled and
    reduced or resized as a single read's would be."""
    if _piecewise(geometry, source):
        return _side_by_side(forms, k)
    return finish_tile(rgb_from_argb(_side_by_side(forms, k), region_reduce(geometry)), geometry)


def _side_by_side(pieces: list[np.ndarray], k: int) -> np.ndarray:
    """k x k equal-sized arrays (row-major order) placed as one."""
    h, w = pieces[0].shape[:2]
    out = np.empty((k * h, k * w, *pieces[0].shape[2:]), pieces[0].dtype)
    for n, piece in enumerate(pieces):
        j, i = divmod(n, k)
        out[j * h : (j + 1) * h, i * w : (i + 1) * w] = piece
    return out

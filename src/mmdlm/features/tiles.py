"""The tiler's tissue tiles of one slide, as a torch Dataset read by coordinates (no tile store needed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from mmdlm.slides.config import TilingConfig
from mmdlm.slides.grid import tile_grid
from mmdlm.slides.levels import TileGeometry, tile_geometry
from mmdlm.slides.reader import open_slide
from mmdlm.slides.tissue import is_blurred, tissue_mask


@dataclass(frozen=True)
class SlideGrid:
    """Per magnification the tile geometry and the grid's tissue tiles (level-0 (x, y), row-major), exactly
    as `mmdlm tile` computes them before its blur filter."""

    path: str
    geometries: tuple[TileGeometry, ...]
    coords: tuple[np.ndarray, ...]
    mpp_x: float
    mpp_y: float
    vendor: str
    #: the slide-reading backend that computed the grid and reads its tiles (tiling.reader)
    reader: str = "openslide"

    @property
    def n_tiles(self) -> int:
        """Grid tiles over all magnifications (before the blur filter)."""
        return int(sum(len(c) for c in self.coords))


def slide_grid(path: str | Path, cfg: TilingConfig) -> SlideGrid:
    """The tissue grid of every configured magnification (tissue mask + tile_grid, the tiler's own calls)."""
    from mmdlm.slides.pipeline import check_tiles_fit

    with open_slide(path, cfg.reader) as slide:
        geometries = tuple(tile_geometry(slide, m, cfg.tile_size) for m in cfg.magnifications)
        check_tiles_fit(slide, list(geometries))
        mask = tissue_mask(slide, cfg)
        coords = tuple(
            tile_grid(slide, g.magnification, cfg.tile_size, cfg.tissue_fraction, mask=mask)
            for g in geometries
        )
        return SlideGrid(str(path), geometries, coords, slide.mpp.x, slide.mpp.y, slide.vendor, cfg.reader)


class GridTiles(IterableDataset):
    """Yields (magnification index, position in that magnification's grid, uint8 [3, S, S] tile, kept) for
    every grid tile, read as the tiler reads them: magnifications that share a pyramid level in read groups
    (mmdlm.slides.mosaic: each level pixel decoded once, coarse tiles assembled bit for bit), band by band.
    `kept` is False for a tile the tiler's blur filter drops. With several DataLoader workers each reads
    every n-th band; the slide is opened in the process that reads (never across a fork)."""

    def __init__(self, grid: SlideGrid, blur_threshold: float) -> None:
        self.grid = grid
        self.blur_threshold = float(blur_threshold)
        self.mag_index = np.concatenate(
            [np.full(len(c), i, dtype=np.int64) for i, c in enumerate(grid.coords)] or [np.zeros(0, np.int64)]
        )

    def __len__(self) -> int:
        return len(self.mag_index)

    def __iter__(self) -> Iterator[tuple[int, int, torch.Tensor, bool]]:
        from mmdlm.slides.mosaic import iter_group_tiles, read_groups

        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        index = {g.magnification: i for i, g in enumerate(self.grid.geometries)}
        position = [
            {(int(x), int(y)): k for k, (x, y) in enumerate(c.reshape(-1, 2))} for c in self.grid.coords
        ]
        with open_slide(self.grid.path, self.grid.reader) as slide:
            for group in read_groups(list(self.grid.geometries), share=slide.reads_argb):
                coords = {
                    g.magnification: self._share(
                        self.grid.coords[index[g.magnification]], group.band, wid, nw
                    )
                    for g in group.geometries
                }
                for geometry, xy, tile in iter_group_tiles(slide, group, coords):
                    m = index[geometry.magnification]
                    kept = not is_blurred(tile, self.blur_threshold)
                    tensor = torch.from_numpy(np.array(tile, copy=True)).permute(2, 0, 1)
                    yield m, position[m][(int(xy[0]), int(xy[1]))], tensor, kept

    @staticmethod
    def _share(coords: np.ndarray, band: int, wid: int, nw: int) -> np.ndarray:
        """This worker's rows of bands (every nw-th band of `band` level-0 px)."""
        coords = coords.reshape(-1, 2)
        return coords if nw == 1 else coords[(coords[:, 1] // band) % nw == wid]


def collate_tiles(items: list[tuple[int, int, torch.Tensor, bool]]) -> tuple[torch.Tensor, ...]:
    """(magnification index int64 [B], grid position int64 [B], uint8 tiles [B, 3, S, S], kept bool [B])."""
    mags, pos, tiles, kept = zip(*items, strict=True)
    return torch.tensor(mags), torch.tensor(pos), torch.stack(tiles), torch.tensor(kept)

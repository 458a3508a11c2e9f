"""The tiler's tissue tiles of one slide, as a torch Dataset read by coordinates (no tile store needed)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from mmdlm.slides.config import TilingConfig
from mmdlm.slides.grid import read_tile_at, tile_grid
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

    @property
    def n_tiles(self) -> int:
        """Grid tiles over all magnifications (before the blur filter)."""
        return int(sum(len(c) for c in self.coords))


def slide_grid(path: str | Path, cfg: TilingConfig) -> SlideGrid:
    """The tissue grid of every configured magnification (tissue mask + tile_grid, the tiler's own calls)."""
    from mmdlm.slides.pipeline import check_tiles_fit

    with open_slide(path) as slide:
        geometries = tuple(tile_geometry(slide, m, cfg.tile_size) for m in cfg.magnifications)
        check_tiles_fit(slide, list(geometries))
        mask = tissue_mask(slide, cfg)
        coords = tuple(
            tile_grid(slide, g.magnification, cfg.tile_size, cfg.tissue_fraction, mask=mask)
            for g in geometries
        )
        return SlideGrid(str(path), geometries, coords, slide.mpp.x, slide.mpp.y, slide.vendor)


class GridTiles(Dataset):
    """Item i: (magnification index, uint8 [3, S, S] tile, kept) for the i-th grid tile (magnifications in
    order, row-major within each); `kept` is False for a tile the tiler's blur filter drops. The slide is
    opened once per process (never across a fork)."""

    def __init__(self, grid: SlideGrid, blur_threshold: float) -> None:
        self.grid = grid
        self.blur_threshold = float(blur_threshold)
        self.mag_index = np.concatenate(
            [np.full(len(c), i, dtype=np.int64) for i, c in enumerate(grid.coords)] or [np.zeros(0, np.int64)]
        )
        self.xy = np.concatenate([c.reshape(-1, 2) for c in grid.coords] or [np.zeros((0, 2), np.int64)])
        self._slide: tuple[int, object] | None = None

    def __len__(self) -> int:
        return len(self.xy)

    def _reader(self):
        if self._slide is None or self._slide[0] != os.getpid():
            self._slide = (os.getpid(), open_slide(self.grid.path))
        return self._slide[1]

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor, bool]:
        m = int(self.mag_index[i])
        tile = read_tile_at(self._reader(), self.xy[i], self.grid.geometries[m])
        kept = not is_blurred(tile, self.blur_threshold)
        return m, torch.from_numpy(np.array(tile, copy=True)).permute(2, 0, 1), kept

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_slide"] = None
        return state


def collate_tiles(
    items: list[tuple[int, torch.Tensor, bool]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(magnification index int64 [B], uint8 tiles [B, 3, S, S], kept bool [B])."""
    mags, tiles, kept = zip(*items, strict=True)
    return torch.tensor(mags), torch.stack(tiles), torch.tensor(kept)

"""Where the markup's tiles come from: the slide's tile store when it holds exactly the markup grid, else the
slide itself (decoded with OpenSlide).

A store is used only when it is the same slide (`slide_id`; `content_hash` of the file now), was written by
this tile-selection code without a cap (its `params_hash` reproduces with `max_tiles_per_slide: null`), has
the markup's geometry (tile size, level, region read) and its `coords` at the markup magnification equal the
markup grid exactly (no blurred tile dropped, same tissue mask). Its tiles are then the very uint8 pixels
`read_tile_at` would decode for those coords, so both sources give the same scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pydantic import ValidationError
from torch.utils.data import Dataset

from mmdlm.data.transforms import to_chw
from mmdlm.errors import MmdlmError
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.levels import TileGeometry
from mmdlm.slides.store import TileStore, content_hash, mag_key, open_store, params_hash, read_index

#: Geometry attrs that decide a stored tile's pixels; each must equal the markup's.
_GEOMETRY_FIELDS = ("tile_size", "level", "read_size", "level0_size")


@dataclass(frozen=True)
class TileSource:
    """The markup's tile source: `kind` "store" (read from `store`) or "slide"; `reason` says why (logged)."""

    kind: str
    store: Path | None
    reason: str


def store_index(tiles_dir: str | Path | None) -> pd.DataFrame | None:
    """The run's tile index (TILES/index.csv, absolute paths), or None when there is no tile store."""
    if tiles_dir is None or not (Path(tiles_dir) / "index.csv").is_file():
        return None
    return read_index(tiles_dir)


def store_for_slide(index: pd.DataFrame | None, slide_id: str, magnification: float) -> Path | None:
    """The store path index.csv lists for `slide_id` at `magnification`, or None (no row)."""
    if index is None:
        return None
    rows = index[(index["slide_id"] == str(slide_id)) & np.isclose(index["magnification"], magnification)]
    return Path(rows["path"].iloc[0]) if len(rows) else None


def choose_tile_source(
    store: str | Path | None,
    slide_path: str | Path,
    geometry: TileGeometry,
    coords: np.ndarray,
    slide_id: str | None = None,
) -> TileSource:
    """Kind "store" when `store` holds exactly `coords` (the markup grid) with `geometry`, else "slide" with
    the reason. MmdlmError for a store that is not this slide's (`slide_id`) or is malformed."""
    if store is None:
        return TileSource("slide", None, "no tile store for this slide")
    store = Path(store)
    if not store.is_file():
        return TileSource("slide", None, f"tile store {store} not found")
    with open_store(store) as opened:
        _check_slide_id(opened, slide_id)
        try:
            reason = _mismatch(opened, slide_path, geometry, coords)
        except KeyError as exc:  # a dataset or attribute the format requires is missing
            raise MmdlmError(f"malformed tile store ({exc})", file=store) from None
    if reason:
        return TileSource("slide", None, f"tile store {store.name} not used: {reason}")
    return TileSource("store", store, f"tile store {store.name} holds exactly the markup grid")


def _check_slide_id(store: TileStore, slide_id: str | None) -> None:
    """MmdlmError naming the store file and field `slide_id` when the store is of another slide."""
    stored = store.identity.get("slide_id")
    if slide_id is not None and str(stored) != str(slide_id):
        raise MmdlmError(
            f"tile store is of slide '{stored}', expected '{slide_id}'", file=store.path, field="slide_id"
        )


def _mismatch(
    store: TileStore, slide_path: str | Path, geometry: TileGeometry, coords: np.ndarray
) -> str | None:
    """Why `store` cannot stand in for the slide's tiles at `geometry`/`coords` (None: it can)."""
    identity = store.identity
    if identity.get("content_hash") != content_hash(slide_path):
        return f"the slide file {slide_path} changed since tiling (content_hash)"
    reason = _params_mismatch(identity)
    if reason:
        return reason
    key = mag_key(geometry.magnification)
    if key not in {mag_key(m) for m in store.magnifications}:
        return f"no {key} group"
    stored = store.geometry(geometry.magnification)
    for name in _GEOMETRY_FIELDS:
        if stored.get(name) != getattr(geometry, name):
            return f"{key} {name} {stored.get(name)} != markup's {getattr(geometry, name)}"
    return _coords_mismatch(store, geometry, coords)


def _params_mismatch(identity: dict) -> str | None:
    """Why the store's tiling parameters rule it out: a cap, or another tile-selection code (params_hash)."""
    try:
        params = TilingConfig.model_validate(json.loads(identity.get("params_json", "")))
    except (ValueError, ValidationError):
        return "params_json is not a tiling config of this version"
    if params.max_tiles_per_slide is not None:
        return f"tiled with a cap (max_tiles_per_slide: {params.max_tiles_per_slide})"
    if params_hash(params, 0) != identity.get("params_hash"):
        return "written by another tiling code version (params_hash)"
    return None


def _coords_mismatch(store: TileStore, geometry: TileGeometry, coords: np.ndarray) -> str | None:
    """Why the store's coords at the markup magnification are not the markup grid (None: equal)."""
    key = mag_key(geometry.magnification)
    stored = store.coords(geometry.magnification)
    if stored.shape != coords.shape or not np.array_equal(stored, coords):
        return f"{key} coords ({len(stored)} tiles) differ from the markup grid ({len(coords)} tiles)"
    s = geometry.tile_size
    shape = tuple(store.tiles(geometry.magnification).shape)
    if shape != (len(coords), s, s, 3):
        raise MmdlmError(
            f"{key}/tiles has shape {shape}, expected {(len(coords), s, s, 3)}", file=store.path, field=key
        )
    return None


class StoreTileDataset(Dataset):
    """Tiles 0..n-1 at `magnification` of a tile store as uint8 [3, S, S] tensors (S = `image_size`, as
    `SlideTileDataset` gives them). Each worker opens its own HDF5 handle on first use."""

    def __init__(
        self, store: str | Path, magnification: float, n: int, image_size: int | None = None
    ) -> None:
        self.store = Path(store)
        self.magnification = float(magnification)
        self.n = int(n)
        self.image_size = image_size
        self._open: TileStore | None = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._open is None:
            self._open = open_store(self.store)
        tile = self._open.tile(self.magnification, index)
        return to_chw(tile, self.image_size or tile.shape[0])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_open"] = None  # an h5py handle never crosses a process boundary
        return state

    def close(self) -> None:
        """Release this process's HDF5 handle, if open."""
        if self._open is not None:
            self._open.close()
            self._open = None

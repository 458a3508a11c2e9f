"""The tile store: one HDF5 file per slide (docs/formats/tiles.md), its identity hashes, and the index.

Reading (what the training data loaders use):

    store = open_store(TILES / "S1.h5")
    tiles = store.tiles(10)          # h5py dataset uint8 [N, S, S, 3]; tiles[i] reads one chunk (one tile)
    tile = store.tile(10, i)         # the same tile, fastest path (direct chunk read)
    xy = store.coords(10)            # int64 [N, 2] level-0 (x, y)
    store.identity["content_hash"]

Open the store inside each DataLoader worker (h5py handles must not cross a fork).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from mmdlm.errors import MmdlmError
from mmdlm.names import id_path
from mmdlm.oserrors import output_error
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.levels import TileGeometry
from mmdlm.stores.freshness import input_signature

#: Version of the on-disk layout; part of params_hash so a layout change makes old stores stale.
FORMAT_VERSION = 1
#: Version of the tile-selection code (mask, grid, filters, resampling); part of params_hash. Bump it with any
#: change that alters which tiles are kept or their pixels, so existing stores become stale.
ALGORITHM_VERSION = 5
INDEX_COLUMNS = ("slide_id", "patient_id", "magnification", "n_tiles", "path")
#: Bytes hashed at each end of a slide file for its content hash.
#: Config fields that do not change a store's content.
_NOT_HASHED = frozenset({"workers"})


def mag_key(magnification: float | str) -> str:
    """HDF5 group name of a magnification: 10 -> 'mag_10x', 2.5 -> 'mag_2.5x' ('10x' works too)."""
    if isinstance(magnification, str):
        text = magnification.removeprefix("mag_").removesuffix("x")
        magnification = float(text)
    return f"mag_{float(magnification):g}x"


def content_hash(path: str | Path) -> str:
    """Identity of a slide file: the store stages' one freshness rule (mmdlm.stores.freshness; 32 hex)."""
    return input_signature(path, "slide file")


def params_hash(cfg: TilingConfig, seed: int) -> str:
    """Hash of everything that determines a store's tiles: the tiling config (not `workers`), the layout and
    algorithm versions, and the seed when tiles are sampled (max_tiles_per_slide set)."""
    params: dict[str, Any] = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _NOT_HASHED}
    params["format_version"] = FORMAT_VERSION
    params["algorithm_version"] = ALGORITHM_VERSION
    params["seed"] = int(seed) if cfg.max_tiles_per_slide is not None else None
    if params.get("reader") == "openslide":  # the default backend: hashes as before the choice existed
        del params["reader"]
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SlideIdentity:
    """Root attributes of a store: which slide, which parameters."""

    slide_id: str
    patient_id: str
    slide_path: str
    width: int
    height: int
    mpp_x: float
    mpp_y: float
    mpp_source: str
    vendor: str
    content_hash: str
    params_hash: str
    params_json: str
    format_version: int = FORMAT_VERSION


@contextlib.contextmanager
def _hdf5_writes(path: Path) -> Iterator[None]:
    """Any failure of HDF5 while writing a store (full disk, file too large, read-only folder) is the output's
    fault, never the slide's: an OutputError naming the store and the cause."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        raise output_error(exc, path, "cannot write the tile store") from None


class TileStoreWriter:
    """Writes one slide's store into an (already temporary) path: per magnification `add_magnification`,
    `put` each tile, `finish`. The operating system's refusals raise mmdlm.oserrors.OutputError."""

    def __init__(self, path: Path, identity: SlideIdentity, compression: str = "none") -> None:
        self._path = Path(path)
        with _hdf5_writes(self._path):
            self._file = h5py.File(path, "w", libver="latest")
            for key, value in identity.__dict__.items():
                self._file.attrs[key] = value
        self._compression = None if compression == "none" else compression
        self._open: dict[str, tuple[h5py.Dataset, list[tuple[int, int]]]] = {}
        self._opts: dict[str, Any] = {"compression_opts": 1} if compression == "gzip" else {}

    def add_magnification(self, geometry: TileGeometry, capacity: int) -> str:
        """Create group mag_<m>x with a tiles dataset for up to `capacity` tiles (trimmed by `finish`), and
        the geometry as attrs."""
        key = mag_key(geometry.magnification)
        s = geometry.tile_size
        with _hdf5_writes(self._path):
            group = self._file.create_group(key)
            tiles = group.create_dataset(
                "tiles",
                shape=(capacity, s, s, 3),
                maxshape=(None, s, s, 3),
                dtype=np.uint8,
                chunks=(1, s, s, 3),
                compression=self._compression,
                **self._opts,
            )
            for name, value in geometry.__dict__.items():
                group.attrs[name] = value
        self._open[key] = (tiles, [])
        return key

    def put(self, magnification: float, tile: np.ndarray, xy: np.ndarray | tuple[int, int]) -> None:
        """Write the next tile (uint8 [S, S, 3]) with its level-0 (x, y)."""
        tiles, coords = self._open[mag_key(magnification)]
        index = len(coords)
        with _hdf5_writes(self._path):
            if self._compression is None:  # one chunk per tile: write its bytes straight to the file
                tiles.id.write_direct_chunk((index, 0, 0, 0), np.ascontiguousarray(tile, dtype=np.uint8))
            else:
                tiles[index] = tile
        coords.append((int(xy[0]), int(xy[1])))

    def finish(self, magnification: float) -> int:
        """Trim the tiles to those put, write coords int64 [N, 2] and attrs n_tiles; returns N."""
        key = mag_key(magnification)
        tiles, coords = self._open.pop(key)
        n = len(coords)
        with _hdf5_writes(self._path):
            tiles.resize(n, axis=0)
            group = self._file[key]
            group.create_dataset("coords", data=np.asarray(coords, dtype=np.int64).reshape(n, 2))
            group.attrs["n_tiles"] = n
        return n

    def close(self) -> None:
        """Flush and close the file."""
        with _hdf5_writes(self._path):
            self._file.close()

    def __enter__(self) -> TileStoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TileStore:
    """Read access to one slide's store. `tiles(mag)` is the h5py dataset (index it for random access)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fast: dict[float | str, tuple[h5py.Dataset, bool, int, tuple[int, ...]]] = {}
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, ValueError) as exc:
            raise damaged_store(self.path, exc) from None
        version = self._file.attrs.get("format_version")
        if version is None or int(version) != FORMAT_VERSION:
            self._file.close()
            raise MmdlmError(
                f"tile store format version {version}, expected {FORMAT_VERSION}",
                file=self.path,
                field="format_version",
            )

    @property
    def identity(self) -> dict[str, Any]:
        """Root attributes: slide_id, patient_id, slide_path, width, height, mpp_x, mpp_y, hashes, ..."""
        return {k: _py(v) for k, v in self._file.attrs.items()}

    @property
    def magnifications(self) -> list[float]:
        """Magnifications stored, in the order of the config."""
        groups = [g for g in self._file if g.startswith("mag_")]
        return sorted((float(g.removeprefix("mag_").removesuffix("x")) for g in groups), reverse=True)

    def _group(self, magnification: float | str) -> h5py.Group:
        key = mag_key(magnification)
        if key not in self._file:
            raise MmdlmError(
                f"no tiles at {key.removeprefix('mag_')} in this store", file=self.path, field=key
            )
        return self._file[key]

    def tiles(self, magnification: float | str) -> h5py.Dataset:
        """Tiles uint8 [N, S, S, 3] (an h5py dataset: `store.tiles(10)[i]` reads tile i only)."""
        return self._group(magnification)["tiles"]

    def tile(self, magnification: float | str, index: int) -> np.ndarray:
        """Tile `index` as uint8 [S, S, 3]: one chunk read straight from the file when uncompressed (about 2x
        faster than `tiles(m)[index]`), else through the HDF5 filter pipeline."""
        entry = self._fast.get(magnification)
        if entry is None:
            ds = self.tiles(magnification)
            entry = self._fast[magnification] = (ds, ds.compression is None, ds.shape[0], ds.shape[1:])
        ds, direct, n, shape = entry
        index = int(index)
        if not 0 <= index < n:
            raise IndexError(f"tile {index} out of range for {n} tiles in {self.path}")
        if direct:
            return np.frombuffer(ds.id.read_direct_chunk((index, 0, 0, 0))[1], dtype=np.uint8).reshape(shape)
        return ds[index]

    def coords(self, magnification: float | str) -> np.ndarray:
        """Level-0 (x, y) of each tile's top-left corner, int64 [N, 2]."""
        return self._group(magnification)["coords"][()]

    def geometry(self, magnification: float | str) -> dict[str, Any]:
        """The group's attrs: magnification, tile_size, level, level_downsample, level0_size, effective_mpp"""
        return {k: _py(v) for k, v in self._group(magnification).attrs.items()}

    def n_tiles(self, magnification: float | str) -> int:
        """Number of tiles stored at a magnification."""
        return int(self._group(magnification)["tiles"].shape[0])

    def close(self) -> None:
        """Close the HDF5 file."""
        self._file.close()

    def __enter__(self) -> TileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def open_store(path: str | Path) -> TileStore:
    """Open a slide's tile store for reading; MmdlmError naming the file if it is not a valid store."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("tile store not found", file=path)
    return TileStore(path)


def damaged_store(path: str | Path, exc: BaseException) -> MmdlmError:
    """The one-line error for a tile store a later stage cannot read: names it and the command that rebuilds
    it (`mmdlm tile` notices the damage and redoes the slide)."""
    cause = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    folder = Path(path).parent
    return MmdlmError(
        f"not a readable tile store, damaged or truncated ({cause[:160]}); rebuild it with "
        f"`mmdlm tile --cohort COHORT --out {folder}`",
        file=path,
    )


def store_path(tiles_dir: str | Path, slide_id: str) -> Path:
    """Where the store of `slide_id` lives: TILES/<slide_id>.h5."""
    return id_path(tiles_dir, slide_id, ".h5", field="slide_id")


def read_index(tiles_dir: str | Path) -> pd.DataFrame:
    """TILES/index.csv as a DataFrame (slide_id, patient_id, magnification, n_tiles, path absolute)."""
    tiles_dir = Path(tiles_dir)
    path = tiles_dir / "index.csv"
    if not path.is_file():
        raise MmdlmError("tile index not found (run `mmdlm tile` first)", file=path)
    df = pd.read_csv(path, dtype={"slide_id": str, "patient_id": str, "path": str}, keep_default_na=False)
    missing = [c for c in INDEX_COLUMNS if c not in df.columns]
    if missing:
        raise MmdlmError("tile index lacks columns", file=path, field=",".join(missing))
    df["magnification"] = df["magnification"].astype(float)
    df["n_tiles"] = df["n_tiles"].astype(int)
    df["path"] = [str(p if os.path.isabs(p) else (tiles_dir / p).resolve()) for p in df["path"]]
    return df

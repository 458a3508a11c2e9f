"""Where a patient's images come from: in-memory uint8 arrays, or lazy reads from HDF5 tile stores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import h5py
import numpy as np

from mmdlm.slides.store import damaged_store, mag_key

#: What reading a damaged HDF5 file raises (truncated, overwritten, a group or dataset missing).
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError)


class ImageSource(Protocol):
    """A patient's images of one modality, indexable: `source[i]` is uint8 [H, W, 3] or [H, W]."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> np.ndarray: ...


class ArraySource:
    """Images held in memory: a uint8 array [N, H, W(, C)] or a list of such images."""

    def __init__(self, images: np.ndarray | Sequence[np.ndarray]) -> None:
        self.images = images if isinstance(images, np.ndarray) else list(images)
        if len(self.images) == 0:
            raise ValueError("an image source needs at least one image")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(self.images[i])


@dataclass
class TileStoreSource:
    """Tiles of one magnification across a patient's slides, read lazily from the HDF5 tile stores.

    `parts`: (store path, number of tiles) per slide. Handles are opened per process (never across a fork).
    """

    parts: list[tuple[str, int]]
    magnification: float
    _handles: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._offsets = np.cumsum([0, *[n for _, n in self.parts]])
        if self._offsets[-1] == 0:
            raise ValueError("an image source needs at least one image")

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def _dataset(self, path: str) -> h5py.Dataset:
        key = (os.getpid(), path)
        ds = self._handles.get(key)
        if ds is None:
            try:
                ds = h5py.File(path, "r")[mag_key(self.magnification)]["tiles"]
            except _H5_ERRORS as exc:
                raise damaged_store(path, exc) from None
            self._handles[key] = ds
        return ds

    def __getitem__(self, i: int) -> np.ndarray:
        part = int(np.searchsorted(self._offsets, i, side="right")) - 1
        path, _ = self.parts[part]
        ds = self._dataset(path)
        try:
            return ds[i - int(self._offsets[part])]
        except _H5_ERRORS as exc:
            raise damaged_store(path, exc) from None

    def load(self) -> ArraySource:
        """All tiles in memory (for cohorts small enough)."""
        arrays = []
        for path, n in self.parts:
            try:
                with h5py.File(path, "r") as fh:
                    tiles = fh[mag_key(self.magnification)]["tiles"][()]
            except _H5_ERRORS as exc:
                raise damaged_store(path, exc) from None
            if len(tiles) != n:
                raise damaged_store(path, ValueError(f"{len(tiles)} tiles, the index says {n}"))
            arrays.append(tiles)
        return ArraySource(np.concatenate(arrays))

    def nbytes(self) -> int:
        """Bytes the tiles take in memory (opens every store: a damaged one is named here, before
        training)."""
        total = 0
        for path, n in self.parts:
            try:
                with h5py.File(path, "r") as fh:
                    ds = fh[mag_key(self.magnification)]["tiles"]
                    shape = ds.shape
            except _H5_ERRORS as exc:
                raise damaged_store(path, exc) from None
            if shape[0] != n:
                raise damaged_store(path, ValueError(f"{shape[0]} tiles, the index says {n}"))
            total += int(np.prod(shape[1:])) * n
        return total

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state


def png_images(paths: Sequence[str | Path]) -> ArraySource:
    """Radiology planes (8-bit PNGs) read into memory."""
    from PIL import Image

    images = []
    for p in paths:
        try:
            with Image.open(p) as im:
                images.append(np.array(im.convert("L")))
        except OSError as exc:  # truncated or missing: say which file
            exc.filename = exc.filename or str(p)
            raise
    return ArraySource(images)

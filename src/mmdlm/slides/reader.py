"""The slide-reader protocol and its backends: RGB regions, pyramid levels and the physical pixel size.

The reader follows TIAToolbox's `WSIReader` idea: one small object per slide with its geometry and a
`read_region` that returns RGB numpy arrays; everything else (levels, tiles, masks) is built on top of it
and sees only the `SlideReader` protocol. Backends (config `tiling.reader`): `openslide`
(mmdlm.slides.openslide_reader, with its private ARGB fast path) and `tiffslide`
(mmdlm.slides.tiffslide_reader). A new backend is one module plus one line in `READERS` (and the
`tiling.reader` choice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from mmdlm.errors import MmdlmError

#: um/px at 1x: magnification M corresponds to 10 / M um/px (20x ~ 0.5, 10x ~ 1.0, 5x ~ 2.0).
MPP_AT_1X = 10.0



def mpp_for_magnification(magnification: float) -> float:
    """Micrometres per pixel of a nominal objective magnification (10 / magnification)."""
    return MPP_AT_1X / float(magnification)


@dataclass(frozen=True)
class SlideMpp:
    """Level-0 pixel size (um/px) and where it came from (openslide.mpp-x or objective-power)."""

    x: float
    y: float
    source: str


def _float_property(props: dict[str, str], key: str) -> float | None:
    raw = props.get(key)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if np.isfinite(value) and value > 0 else None


@dataclass(frozen=True)
class MppKeys:
    """A backend's property names of the level-0 pixel size (x, y) and the objective power."""

    mpp_x: str
    mpp_y: str
    objective_power: str


def resolve_mpp(props: dict[str, str], path: str | Path, keys: MppKeys) -> SlideMpp:
    """Level-0 um/px from a backend's properties: mpp-x/y, else 10 / objective-power (names from `keys`)."""
    mpp_x = _float_property(props, keys.mpp_x)
    mpp_y = _float_property(props, keys.mpp_y)
    if mpp_x is not None:
        return SlideMpp(mpp_x, mpp_y if mpp_y is not None else mpp_x, keys.mpp_x)
    power = _float_property(props, keys.objective_power)
    if power is not None:
        mpp = mpp_for_magnification(power)
        return SlideMpp(mpp, mpp, keys.objective_power)
    raise MmdlmError(
        "slide has neither a pixel size nor an objective power, so magnifications cannot be chosen",
        file=path,
        field=f"{keys.mpp_x} / {keys.objective_power}",
    )


class SlideReader(Protocol):
    """An open whole-slide image, whatever library reads it (what the tiler, masks and explain use)."""

    path: Path
    properties: dict[str, str]
    dimensions: tuple[int, int]
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]

    @property
    def level_count(self) -> int: ...

    @property
    def mpp(self) -> SlideMpp:
        """Level-0 um/px; raises MmdlmError (file, field) when neither mpp nor objective power is known."""
        ...

    @property
    def vendor(self) -> str: ...

    @property
    def reads_argb(self) -> bool:
        """Whether `read_argb` hands out premultiplied ARGB uint32 buffers (a backend's fast path)."""
        ...

    def read_argb(self, location: tuple[int, int], level: int, size: tuple[int, int]) -> np.ndarray: ...

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int], reduce: int = 1
    ) -> np.ndarray:
        """RGB uint8 [h, w, 3] of `size` (w, h) at `level`, top-left at level-0 `location`, box-averaged over
        `reduce` blocks; transparent pixels become white."""
        ...

    def associated_image(self, name: str) -> Image.Image | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> SlideReader: ...

    def __exit__(self, *exc: object) -> None: ...


class ReaderBase:
    """What every backend shares: geometry attributes, the resolved pixel size, `level_count`, `vendor`,
    context management. A backend sets the attributes, calls `_resolve(keys, vendor_key)` and implements
    the region, ARGB, associated-image and close methods."""

    path: Path
    properties: dict[str, str]
    dimensions: tuple[int, int]
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    _mpp: SlideMpp | MmdlmError
    _vendor_key: str = ""

    def _resolve(self, keys: MppKeys, vendor_key: str) -> None:
        self._vendor_key = vendor_key
        try:
            self._mpp = resolve_mpp(self.properties, self.path, keys)
        except MmdlmError as exc:
            self._mpp = exc

    @property
    def level_count(self) -> int:
        """Number of pyramid levels."""
        return len(self.level_dimensions)

    @property
    def mpp(self) -> SlideMpp:
        """Level-0 um/px; raises MmdlmError (file, field) when neither mpp nor objective power is known."""
        if isinstance(self._mpp, MmdlmError):
            raise self._mpp
        return self._mpp

    @property
    def vendor(self) -> str:
        """The backend's format name (aperio, generic-tiff, ...)."""
        return self.properties.get(self._vendor_key, "")

    def close(self) -> None:
        """Release the backend's handle."""
        raise NotImplementedError

    def __enter__(self) -> ReaderBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({str(self.path)!r}, dimensions={self.dimensions}, levels={self.level_count})"


def _open_openslide(path: Path) -> SlideReader:
    from mmdlm.slides.openslide_reader import open_openslide

    return open_openslide(path)


def _open_tiffslide(path: Path) -> SlideReader:
    from mmdlm.slides.tiffslide_reader import open_tiffslide

    return open_tiffslide(path)


#: Backend name (config `tiling.reader`) -> opener of an existing slide file.
READERS: dict[str, Callable[[Path], SlideReader]] = {
    "openslide": _open_openslide,
    "tiffslide": _open_tiffslide,
}


def open_slide(path: str | Path, reader: str = "openslide") -> SlideReader:
    """Open a whole-slide image with the `reader` backend; MmdlmError naming the file if it is missing or
    unreadable, or naming the field for an unknown backend."""
    path = Path(path)
    opener = READERS.get(reader)
    if opener is None:
        known = ", ".join(READERS)
        raise MmdlmError(f"unknown slide reader {reader!r} (one of {known})", field="tiling.reader")
    if not path.is_file():
        raise MmdlmError("slide file not found", file=path)
    return opener(path)



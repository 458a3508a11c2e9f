"""The one pyramidal-TIFF writer: tiled TIFFs that OpenSlide and tiffslide read (synthetic cohort, test
slides, benchmarks).

Each level is its own top-level page (OpenSlide ignores SubIFD pyramids), reduced levels carry
`subfiletype=1`, the pixel size goes into the resolution tags (centimetre unit) so OpenSlide reports
`openslide.mpp-x`, and JPEG uses photometric RGB (see the project's dependency notes). Bytes are
deterministic for the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

#: tile_fn(downsample, x0, y0, w, h) -> uint8 [h, w, 3]: the pixels of a level with that downsample,
#: in that level's own pixel coordinates.
TileFn = Callable[[int, int, int, int, int], np.ndarray]


@dataclass(frozen=True)
class Level:
    """One pyramid level: its pixels (a whole uint8 RGB array, or its tiles row-major), its (height, width)
    and its pixel size in px/cm (x, y), or None for no resolution tags."""

    pixels: np.ndarray | Iterator[np.ndarray]
    shape: tuple[int, int]
    px_per_cm: tuple[float, float] | None


def write_levels(
    path: str | Path,
    levels: Sequence[Level],
    *,
    tile: int = 256,
    compression: str = "jpeg",
    quality: int | None = None,
    description: str | None = None,
    software: str | None = None,
    bigtiff: bool = False,
) -> Path:
    """Write `levels` (level 0 first) as a tiled pyramidal TIFF; `description` is level 0's
    ImageDescription (e.g. an Aperio header), `quality` the JPEG level (None: tifffile's default)."""
    path = Path(path)
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tw:
        for i, level in enumerate(levels):
            kwargs: dict = {}
            if level.px_per_cm is not None:
                kwargs.update(resolution=level.px_per_cm, resolutionunit="CENTIMETER")
            if i == 0 and description is not None:
                kwargs["description"] = description
            if quality is not None:
                kwargs["compressionargs"] = {"level": quality}
            if software is not None:
                kwargs["software"] = software
            if isinstance(level.pixels, np.ndarray):
                kwargs["maxworkers"] = 1
            else:
                kwargs.update(shape=(*level.shape, 3), dtype=np.uint8)
            tw.write(
                level.pixels,
                tile=(tile, tile),
                photometric="rgb",
                compression=compression,
                subfiletype=1 if i else 0,
                metadata=None,
                **kwargs,
            )
    return path


def slide_levels(
    texture: np.ndarray, texture_mpp: float, mpp: float, downsamples: tuple[int, ...]
) -> list[np.ndarray]:
    """Pyramid levels (uint8 RGB) at `mpp * downsample` um/px from a texture rendered at `texture_mpp` um/px.

    Levels finer than the texture are nearest-neighbour enlargements (so reading them back at the texture's
    resolution returns the texture exactly); coarser levels are box-filtered reductions.
    """
    img = Image.fromarray(texture)
    h, w = texture.shape[:2]
    levels = []
    for ds in downsamples:
        factor = texture_mpp / (mpp * ds)  # level px per texture px
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        if factor >= 1:
            levels.append(np.asarray(img.resize(size, Image.Resampling.NEAREST)))
        elif float(1 / factor).is_integer():
            levels.append(np.asarray(img.reduce(round(1 / factor))))
        else:
            levels.append(np.asarray(img.resize(size, Image.Resampling.BOX)))
    return levels


def write_pyramid_tiff(path: Path, levels: list[np.ndarray], mpp: float, tile: int, quality: int) -> None:
    """Write in-memory pyramid levels (level 0 at `mpp` um/px; each level's exact pixel size from its
    rounded shape) as the synthetic cohort's JPEG slide."""
    h, w = levels[0].shape[:2]
    write_levels(
        path,
        [
            Level(img, img.shape[:2], (1e4 / (mpp * w / img.shape[1]), 1e4 / (mpp * h / img.shape[0])))
            for img in levels
        ],
        tile=tile,
        quality=quality,
        description="mmdlm synthetic H&E slide",
        software="mmdlm",
    )


def _tiles(fn: TileFn, downsample: int, width: int, height: int, tile: int) -> Iterator[np.ndarray]:
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            w, h = min(tile, width - x0), min(tile, height - y0)
            block = np.full((tile, tile, 3), 255, dtype=np.uint8)
            block[:h, :w] = fn(downsample, x0, y0, w, h)
            yield block


def write_pyramidal_tiff(
    path: str | Path,
    tile_fn: TileFn,
    size: tuple[int, int],
    mpp: float | None = 0.5,
    *,
    downsamples: tuple[int, ...] = (1, 4, 16),
    tile: int = 256,
    compression: str = "jpeg",
    description: str | None = None,
) -> Path:
    """Write a (width, height) = `size` pyramid whose level pixels come from `tile_fn` (streamed tile by
    tile, so slides larger than memory work); `mpp=None` writes no pixel size. Levels under 16 px stop."""
    width, height = size
    levels = []
    for i, ds in enumerate(downsamples):
        w, h = max(1, width // ds), max(1, height // ds)
        if i > 0 and min(w, h) < 16:
            break
        res = None if mpp is None else (1e4 / (mpp * ds), 1e4 / (mpp * ds))
        levels.append(Level(_tiles(tile_fn, ds, w, h, tile), (h, w), res))
    return write_levels(
        path,
        levels,
        tile=tile,
        compression=compression,
        description=description,
        bigtiff=width * height * 3 > 2**31,
    )


def array_tile_fn(rgb: np.ndarray) -> TileFn:
    """A TileFn over an in-memory level-0 RGB array (reduced levels are area-downsampled on demand)."""
    cache: dict[int, np.ndarray] = {1: rgb}

    def fn(ds: int, x0: int, y0: int, w: int, h: int) -> np.ndarray:
        if ds not in cache:
            img = Image.fromarray(rgb)
            cache[ds] = np.asarray(
                img.resize((max(1, rgb.shape[1] // ds), max(1, rgb.shape[0] // ds)), Image.Resampling.BOX)
            )
        return cache[ds][y0 : y0 + h, x0 : x0 + w]

    return fn


def write_array_tiff(path: str | Path, rgb: np.ndarray, mpp: float | None = 0.5, **kwargs) -> Path:
    """Write an in-memory RGB uint8 [H, W, 3] level 0 as a pyramidal TIFF (see write_pyramidal_tiff)."""
    return write_pyramidal_tiff(path, array_tile_fn(rgb), (rgb.shape[1], rgb.shape[0]), mpp, **kwargs)


def tissue_like(height: int, width: int, seed: int = 0, blobs: int = 6) -> np.ndarray:
    """A synthetic H&E-like RGB image: textured pink/purple blobs on white glass (tests, benchmarks)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    field = np.zeros((height, width), np.float32)
    for _ in range(blobs):
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        r = rng.uniform(0.08, 0.2) * min(height, width)
        field = np.maximum(field, 1.0 - ((yy - cy) ** 2 + (xx - cx) ** 2) / (r * r))
    tissue = field > 0
    out = np.full((height, width, 3), 245, np.uint8)
    noise = rng.integers(-40, 40, size=(height, width), dtype=np.int16)
    nuclei = rng.random((height, width)) < 0.02
    pink = np.array([225, 140, 190], np.int16)
    purple = np.array([110, 60, 160], np.int16)
    colour = np.where(nuclei[..., None], purple, pink) + noise[..., None] // 2
    out[tissue] = np.clip(colour[tissue], 0, 255).astype(np.uint8)
    return out

"""Pyramidal tiled JPEG TIFF that OpenSlide reads (a top-level page per level, resolution in cm)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image


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
    """Write pyramid levels (level 0 at `mpp` um/px) as a tiled JPEG TIFF; deterministic bytes."""
    h, w = levels[0].shape[:2]
    with tifffile.TiffWriter(path, bigtiff=False) as tif:
        for i, img in enumerate(levels):
            # exact pixel size of this level (level sizes are rounded)
            px_per_cm_x = 1e4 / (mpp * w / img.shape[1])
            px_per_cm_y = 1e4 / (mpp * h / img.shape[0])
            tif.write(
                img,
                photometric="rgb",
                compression="jpeg",
                compressionargs={"level": quality},
                tile=(tile, tile),
                subfiletype=0 if i == 0 else 1,
                resolution=(px_per_cm_x, px_per_cm_y),
                resolutionunit="CENTIMETER",
                description="mmdlm synthetic H&E slide" if i == 0 else None,
                software="mmdlm",
                metadata=None,
                maxworkers=1,
            )

"""Config section owned by mmdlm.slides: tiling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from mmdlm.config_base import StrictModel


class TilingConfig(StrictModel):
    """Tiling parameters. Every field except `workers` is part of a tile store's params_hash: changing one
    makes existing stores stale, so the next run redoes them."""

    #: Requested magnifications; um/px = 10 / magnification (10x ~ 1.0 um/px, 5x ~ 2.0 um/px).
    magnifications: tuple[float, ...] = (10.0, 5.0)
    #: Side of a stored tile in pixels (the paper: 224).
    tile_size: int = Field(224, ge=8, le=4096)
    #: Keep a tile only if at least this fraction of its area is tissue in the mask.
    tissue_fraction: float = Field(0.5, ge=0.0, le=1.0)
    #: Optional cap per slide and magnification; tiles are sampled with the run seed (None: keep all).
    max_tiles_per_slide: int | None = Field(None, ge=1)
    #: Slides tiled in parallel (process pool); not part of the params hash.
    workers: int = Field(1, ge=1)
    #: Resolution of the thumbnail the tissue mask is computed on (um/px); coarser is faster.
    mask_mpp: float = Field(8.0, gt=0)
    #: Upper bound on the thumbnail's longer side (px), whatever mask_mpp asks for.
    thumbnail_max_side: int = Field(4096, ge=64)
    #: Use the scanner's associated thumbnail (when it covers the image finely enough) for the mask and QC
    #: images when the pyramid has no level within 2x of their scale, instead of decoding a much finer level.
    use_associated_thumbnail: bool = True
    #: QC thumbnail (qc/<slide_id>.jpg): about qc_mpp um/px, longer side at most qc_max_side.
    qc_mpp: float = Field(2.0, gt=0)
    qc_max_side: int = Field(1024, ge=64)
    #: Pixels brighter than this (0-255 value, HSV V channel) with low saturation are background.
    background_value: int = Field(220, ge=0, le=255)
    #: Pixels darker than this (0-255 value) are not tissue (black pen, scanner edges, folds in ink).
    dark_value: int = Field(40, ge=0, le=255)
    #: Floor for the saturation threshold: the (multi-)Otsu cut is never below this (0-255).
    min_saturation: int = Field(20, ge=0, le=255)
    #: Remove pen marks: saturated pixels with a hue in this range (degrees; green/blue inks;
    #: H&E is pink/purple).
    pen_filter: bool = True
    pen_hue_range: tuple[float, float] = (70.0, 230.0)
    #: Morphology on the mask: closing radius and minimum object/hole size, in um.
    closing_um: float = Field(16.0, ge=0)
    min_object_um2: float = Field(20000.0, ge=0)
    #: Drop a tile whose grayscale Laplacian variance is below this (out of focus / flat); 0 disables.
    blur_threshold: float = Field(5.0, ge=0)
    #: Slide-reading backend (mmdlm.slides.reader.READERS): openslide, or tiffslide (pure Python, also opens
    #: fsspec paths). Both give identical tiles on the slides tested (tests/slides/test_backends.py); the
    #: hash counts it only when it is not openslide, so existing stores stay fresh.
    reader: Literal["openslide", "tiffslide"] = "openslide"
    #: HDF5 compression of the tiles dataset (chunk = one tile): none, lzf or gzip (level 1).
    compression: Literal["none", "lzf", "gzip"] = "none"

    @field_validator("magnifications")
    @classmethod
    def _positive_unique(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("at least one magnification is required")
        if any(m <= 0 for m in value):
            raise ValueError("magnifications must be positive")
        if len({f"{m:g}" for m in value}) != len(value):
            raise ValueError("magnifications must be distinct")
        return value

    @field_validator("pen_hue_range")
    @classmethod
    def _hue_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not (0 <= lo < hi <= 360):
            raise ValueError("pen_hue_range must be (lo, hi) with 0 <= lo < hi <= 360")
        return value

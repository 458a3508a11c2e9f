"""Tissue detection on a slide thumbnail: Otsu on saturation, background/dark/pen filters, morphology.

Also the per-tile blur measure (variance of the Laplacian), applied to tiles as they are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color, filters, morphology

from mmdlm.slides.config import TilingConfig
from mmdlm.slides.levels import best_level
from mmdlm.slides.reader import SlideReader

#: Rows of a pyramid level read at once while building a thumbnail (bounds memory on huge slides).
_STRIP_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Thumbnail:
    """An RGB thumbnail of the whole slide and its scale (thumbnail px per level-0 px, per axis)."""

    rgb: np.ndarray  # uint8 [h, w, 3]
    scale_x: float
    scale_y: float


@dataclass(frozen=True)
class TissueMask:
    """Boolean tissue mask at thumbnail resolution with its scale (mask px per level-0 px) and diagnostics."""

    mask: np.ndarray  # bool [h, w]
    scale_x: float
    scale_y: float
    saturation_threshold: float  # 0-255, after the min_saturation floor
    pen_fraction: float  # fraction of thumbnail pixels removed as pen marks
    thumbnail: Thumbnail

    @property
    def tissue_fraction(self) -> float:
        """Fraction of the slide area that is tissue."""
        return float(self.mask.mean()) if self.mask.size else 0.0


def slide_thumbnail(slide: SlideReader, mpp: float, max_side: int) -> Thumbnail:
    """RGB thumbnail at about `mpp` um/px (longer side at most `max_side`),
    read in strips from the best level."""
    width, height = slide.dimensions
    downsample = max(mpp / slide.mpp.x, max(width, height) / max_side, 1.0)
    tw, th = max(1, round(width / downsample)), max(1, round(height / downsample))
    level = best_level(slide, downsample)
    lw, lh = slide.level_dimensions[level]
    lds = slide.level_downsamples[level]
    rows_per_strip = max(1, _STRIP_BYTES // max(1, 4 * lw))
    # thumbnail rows per strip, so each strip maps onto whole thumbnail rows (no seams)
    t_rows = max(1, int(rows_per_strip * th / lh))
    out = np.empty((th, tw, 3), dtype=np.uint8)
    for t0 in range(0, th, t_rows):
        t1 = min(th, t0 + t_rows)
        r0, r1 = round(t0 * lh / th), max(round(t0 * lh / th) + 1, round(t1 * lh / th))
        r1 = min(r1, lh)
        strip = slide.read_region((0, round(r0 * lds)), level, (lw, r1 - r0))
        out[t0:t1] = np.asarray(Image.fromarray(strip).resize((tw, t1 - t0), Image.Resampling.BOX))
    return Thumbnail(out, tw / width, th / height)


def tissue_mask_from_rgb(rgb: np.ndarray, mpp: float, cfg: TilingConfig) -> tuple[np.ndarray, float, float]:
    """Tissue mask of an RGB thumbnail at `mpp` um/px -> (mask, saturation threshold 0-255, pen fraction)."""
    hsv = color.rgb2hsv(rgb)
    hue = hsv[..., 0] * 360.0
    sat = hsv[..., 1] * 255.0
    val = hsv[..., 2] * 255.0
    if np.ptp(sat) > 0:
        otsu = float(filters.threshold_otsu(sat))
    else:
        otsu = float(sat.flat[0]) + 1.0
    threshold = max(otsu, float(cfg.min_saturation))
    tissue = sat >= threshold
    tissue &= val >= cfg.dark_value  # black ink, scanner borders
    tissue &= rgb.min(axis=-1) <= cfg.background_value  # bright glass with a colour cast
    pen = np.zeros_like(tissue)
    if cfg.pen_filter:
        lo, hi = cfg.pen_hue_range
        pen = tissue & (hue >= lo) & (hue <= hi)
        tissue &= ~pen
    radius = round(cfg.closing_um / mpp)
    if radius >= 1:
        tissue = morphology.closing(tissue, morphology.disk(radius)).astype(bool)
    min_px = int(cfg.min_object_um2 / (mpp * mpp))
    if min_px >= 1:
        tissue = morphology.remove_small_objects(tissue, max_size=min_px)
        tissue = morphology.remove_small_holes(tissue, max_size=min_px)
    return tissue, threshold, float(pen.mean()) if pen.size else 0.0


def tissue_mask(slide: SlideReader, cfg: TilingConfig | None = None) -> TissueMask:
    """Tissue mask of a slide from a thumbnail at `cfg.mask_mpp` um/px (defaults: TilingConfig())."""
    cfg = cfg or TilingConfig()
    thumb = slide_thumbnail(slide, cfg.mask_mpp, cfg.thumbnail_max_side)
    mpp = slide.mpp.x / thumb.scale_x
    mask, threshold, pen_fraction = tissue_mask_from_rgb(thumb.rgb, mpp, cfg)
    return TissueMask(mask, thumb.scale_x, thumb.scale_y, threshold, pen_fraction, thumb)


def blur_score(tile: np.ndarray) -> float:
    """Variance of the Laplacian of the grayscale tile (0-255 scale): low means blurred or flat."""
    gray = tile.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(ndimage.laplace(gray).var())

"""Tissue detection on a slide thumbnail: multi-Otsu on saturation, background/dark/pen filters, morphology.

Also the per-tile blur measure (variance of the Laplacian), applied to tiles as they are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image
from skimage import filters, morphology

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

    @cached_property
    def integral(self) -> np.ndarray:
        """Summed-area table of the mask, [h + 1, w + 1] (int32: at most 4096^2 pixels), computed once."""
        h, w = self.mask.shape
        table = np.zeros((h + 1, w + 1), dtype=np.int32 if h * w < 2**31 else np.int64)
        np.cumsum(self.mask, axis=0, dtype=table.dtype, out=table[1:, 1:])
        np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
        return table

    @property
    def tissue_fraction(self) -> float:
        """Fraction of the slide area that is tissue."""
        return float(self.mask.mean()) if self.mask.size else 0.0


def _close_enough(source: tuple[int, int], size: tuple[int, int], slack: float, max_side: int) -> bool:
    """Whether an image of `source` (w, h) px may stand in for one of `size` unresampled: at least as large,
    at most `slack` larger on each axis, and within `max_side`."""
    fits = all(t <= s <= t * (1.0 + slack) for s, t in zip(source, size, strict=True))
    return fits and max(source) <= max_side


def _associated_thumbnail(
    slide: SlideReader, downsample: float, size: tuple[int, int], slack: float = 0.0, max_side: int = 0
) -> Thumbnail | None:
    """The scanner's own whole-image thumbnail resized to `size` (as it is when `_close_enough`), if the
    slide has one that covers the image (same aspect ratio within 1%) at least as finely as `downsample`."""
    image = slide.associated_image("thumbnail")
    if image is None:
        return None
    width, height = slide.dimensions
    aw, ah = image.size
    if abs((aw / ah) / (width / height) - 1.0) > 0.01 or width / aw > downsample * (1.0 + 1e-6):
        return None
    if _close_enough(image.size, size, slack, max_side):
        return Thumbnail(np.asarray(image), aw / width, ah / height)
    rgb = np.asarray(image.resize(size, Image.Resampling.BOX))
    return Thumbnail(rgb, size[0] / width, size[1] / height)


def slide_thumbnail(
    slide: SlideReader,
    mpp: float,
    max_side: int,
    *,
    associated: bool = False,
    finer: Thumbnail | None = None,
    slack: float = 0.0,
) -> Thumbnail:
    """RGB thumbnail at about `mpp` um/px (longer side at most `max_side`); resized from `finer` when that
    thumbnail already has at least this resolution (no second decode); else, with `associated`, the
    scanner's thumbnail stands in when the pyramid has no level within 2x of that scale; otherwise read in
    strips from the best level. A `finer` or scanner thumbnail at most `slack` (a fraction) larger than the
    target is used as it is, not resampled."""
    width, height = slide.dimensions
    downsample = max(mpp / slide.mpp.x, max(width, height) / max_side, 1.0)
    tw, th = max(1, round(width / downsample)), max(1, round(height / downsample))
    if finer is not None and finer.rgb.shape[1] >= tw and finer.rgb.shape[0] >= th:
        if _close_enough((finer.rgb.shape[1], finer.rgb.shape[0]), (tw, th), slack, max_side):
            return finer
        rgb = np.asarray(Image.fromarray(finer.rgb).resize((tw, th), Image.Resampling.BOX))
        return Thumbnail(rgb, tw / width, th / height)
    level = best_level(slide, downsample)
    lw, lh = slide.level_dimensions[level]
    lds = slide.level_downsamples[level]
    if (
        associated and lds * 2 < downsample
    ):  # no pyramid level near this scale: avoid decoding the whole slide
        thumb = _associated_thumbnail(slide, downsample, (tw, th), slack, max_side)
        if thumb is not None:
            return thumb
    rows_per_strip = max(1, _STRIP_BYTES // max(1, 4 * lw))
    # thumbnail rows per strip, so each strip maps onto whole thumbnail rows (no seams)
    t_rows = max(1, int(rows_per_strip * th / lh))
    out = np.empty((th, tw, 3), dtype=np.uint8)
    for t0 in range(0, th, t_rows):
        t1 = min(th, t0 + t_rows)
        r0, r1 = round(t0 * lh / th), max(round(t0 * lh / th) + 1, round(t1 * lh / th))
        r1 = min(r1, lh)
        strip = slide.read_region((0, round(r0 * lds)), level, (lw, r1 - r0))
        if strip.shape[:2] == (t1 - t0, tw):  # the level is already the thumbnail's size
            out[t0:t1] = strip
        else:
            out[t0:t1] = np.asarray(Image.fromarray(strip).resize((tw, t1 - t0), Image.Resampling.BOX))
    return Thumbnail(out, tw / width, th / height)


def saturation_threshold(sat: np.ndarray) -> float:
    """Glass/tissue boundary on saturation (0-255): the lower of three-class Otsu thresholds (glass, pale
    tissue, dense stain), so heavily stained spots cannot pull the cut above pale tissue as two-class Otsu
    does; plain Otsu when the image has too few grey levels for three classes."""
    try:
        return float(filters.threshold_multiotsu(sat, classes=3)[0])
    except ValueError:
        pass
    return float(filters.threshold_otsu(sat)) if np.ptp(sat) > 0 else float(sat.flat[0]) + 1.0


def _shifted_reduce(mask: np.ndarray, offsets: np.ndarray, dilate: bool) -> np.ndarray:
    """OR (dilate) or AND (erode) of `mask` shifted by each (dy, dx) offset; pixels outside the image count
    as False for OR and True for AND, so they never decide the result."""
    r = int(np.abs(offsets).max())
    h, w = mask.shape
    padded = np.pad(mask, r, constant_values=not dilate)
    out = np.full(mask.shape, not dilate)
    op = np.logical_or if dilate else np.logical_and
    for dy, dx in offsets:
        op(out, padded[r + dy : r + dy + h, r + dx : r + dx + w], out=out)
    return out


def closing_disk(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary closing by skimage.morphology.disk(radius), pixels outside the image ignored: the same result
    as skimage.morphology.closing(mask, disk(radius)) (tested), about 10x faster on large masks (boolean
    OR/AND of shifted views instead of grey-level min/max filters)."""
    offsets = np.argwhere(morphology.disk(radius).astype(bool)) - radius  # symmetric: no mirroring needed
    mask = np.asarray(mask, dtype=bool)
    return _shifted_reduce(_shifted_reduce(mask, offsets, dilate=True), offsets, dilate=False)


def tissue_mask_from_rgb(rgb: np.ndarray, mpp: float, cfg: TilingConfig) -> tuple[np.ndarray, float, float]:
    """Tissue mask of an RGB thumbnail at `mpp` um/px -> (mask, saturation threshold 0-255, pen fraction)."""
    hsv = np.asarray(Image.fromarray(rgb).convert("HSV"))  # PIL: H, S, V all on 0..255
    hue = hsv[..., 0].astype(np.float32) * (360.0 / 255.0)
    sat = hsv[..., 1].astype(np.float32)
    val = hsv[..., 2].astype(np.float32)
    otsu = saturation_threshold(sat)
    threshold = max(otsu, float(cfg.min_saturation))
    tissue = sat >= threshold
    tissue &= val >= cfg.dark_value  # black ink, scanner borders
    darkest = np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])  # = rgb.min(-1), 15x faster
    tissue &= darkest <= cfg.background_value  # bright glass with a colour cast
    pen = np.zeros_like(tissue)
    if cfg.pen_filter:
        lo, hi = cfg.pen_hue_range
        pen = tissue & (hue >= lo) & (hue <= hi)
        tissue &= ~pen
    radius = round(cfg.closing_um / mpp)
    if radius >= 1:
        tissue = closing_disk(tissue, radius)
    min_px = int(cfg.min_object_um2 / (mpp * mpp))
    if min_px >= 1:
        tissue = morphology.remove_small_objects(tissue, max_size=min_px)
        tissue = morphology.remove_small_holes(tissue, max_size=min_px)
    return tissue, threshold, float(pen.mean()) if pen.size else 0.0


def tissue_mask(slide: SlideReader, cfg: TilingConfig | None = None) -> TissueMask:
    """Tissue mask of a slide from a thumbnail at `cfg.mask_mpp` um/px (defaults: TilingConfig())."""
    cfg = cfg or TilingConfig()
    thumb = slide_thumbnail(
        slide, cfg.mask_mpp, cfg.thumbnail_max_side, associated=cfg.use_associated_thumbnail
    )
    mpp = slide.mpp.x / thumb.scale_x
    mask, threshold, pen_fraction = tissue_mask_from_rgb(thumb.rgb, mpp, cfg)
    return TissueMask(mask, thumb.scale_x, thumb.scale_y, threshold, pen_fraction, thumb)


def blur_score(tile: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of the tile's green channel (0-255, interior pixels; green carries most
    of the luminance): low means blurred or flat. Exact integer arithmetic (the Laplacian fits int16)."""
    g = tile[..., 1].astype(np.int16)
    lap = g[:-2, 1:-1] + g[2:, 1:-1]
    lap += g[1:-1, :-2]
    lap += g[1:-1, 2:]
    lap -= 4 * g[1:-1, 1:-1]
    flat = lap.ravel()
    n = flat.size
    total = int(flat.sum(dtype=np.int64))
    squares = int(np.einsum("i,i->", flat, flat, dtype=np.int64))
    return float((squares - total * total / n) / n)


def is_blurred(tile: np.ndarray, threshold: float) -> bool:
    """`blur_score(tile) < threshold`, settled by the tile's top quarter when it can be: the variance over all
    n Laplacian values is at least n_part / n times the variance over any part of them (the whole's sum of
    squared deviations covers the part's, about a mean no better than the part's own), so a textured top
    quarter clears the threshold for the tile exactly, at a quarter of the work."""
    if threshold <= 0:
        return False
    h, w = tile.shape[:2]
    rows = h // 4 + 2  # interior rows 1 .. h // 4
    if 3 <= rows < h and w >= 3:
        part_share = (rows - 2) / (h - 2)
        if blur_score(tile[:rows]) * part_share >= threshold * (1.0 + 1e-9):  # margin for float rounding
            return False
    return blur_score(tile) < threshold

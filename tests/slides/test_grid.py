"""Magnification -> level, tissue mask, tile grid and tile reading on the real Aperio slide and synthetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from skimage.color import rgb2hsv

from mmdlm.errors import MmdlmError
from mmdlm.slides import open_slide, read_tile, tile_geometry, tile_grid, tissue_mask
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.grid import grid_coords
from mmdlm.slides.tissue import slide_thumbnail
from mmdlm.synth.tiff import write_array_tiff


def stained_fraction(tile: np.ndarray) -> float:
    """Independent of the mask code: share of pixels with HSV saturation above 0.15 (stain, not glass)."""
    return float((rgb2hsv(tile)[..., 1] > 0.15).mean())


@pytest.mark.parametrize(("magnification", "mpp"), [(10.0, 1.0), (5.0, 2.0)])
def test_real_slide_tiles_at_10x_and_5x(cmu_slide: Path, magnification: float, mpp: float) -> None:
    with open_slide(cmu_slide) as slide:
        geometry = tile_geometry(slide, magnification, 224)
        # single-level 0.499 um/px slide: read at level 0, box-average 2x2 (10x) or 4x4 (5x): 449 and 898 px
        # regions snap to 448 and 896 (0.2 % scale change) for an exact integer reduction
        assert geometry.level == 0 and geometry.needs_resize
        assert geometry.level0_size == geometry.read_size == round(mpp / 0.5) * 224
        assert abs(geometry.level0_size - 224 * mpp / 0.499) <= 2 * mpp
        assert geometry.effective_mpp == pytest.approx(mpp, rel=0.005)
        assert geometry.effective_mpp == pytest.approx(geometry.level0_size * 0.499 / 224)
        mask = tissue_mask(slide)
        coords = tile_grid(slide, magnification, 224, 0.5, mask=mask)
        everything = grid_coords(*slide.dimensions, geometry.level0_size)
        tiles = np.stack([read_tile(slide, xy, magnification, 224) for xy in everything])
    assert coords.dtype == np.int64 and coords.ndim == 2 and coords.shape[1] == 2
    assert len(coords) >= 3  # tiles found
    # inside the slide bounds, on the grid, unique, row-major
    assert (coords >= 0).all()
    assert (coords[:, 0] + geometry.level0_size <= 2220).all() and (
        coords[:, 1] + geometry.level0_size <= 2967
    ).all()
    assert (coords % geometry.level0_size == 0).all()
    assert len({tuple(c) for c in coords.tolist()}) == len(coords)
    assert np.array_equal(coords, coords[np.lexsort((coords[:, 0], coords[:, 1]))])
    # tile size right
    assert tiles.shape[1:] == (224, 224, 3) and tiles.dtype == np.uint8
    # on tissue: every kept tile is more stained than every rejected one, and mostly stained itself
    kept = np.array([any((c == k).all() for k in coords) for c in everything])
    stained = np.array([stained_fraction(t) for t in tiles])
    assert stained[kept].min() > stained[~kept].max()
    assert stained[kept].min() > 0.3 and stained[kept].mean() > 0.5
    assert 0 < kept.sum() < len(everything)  # the slide has glass too


def test_effective_mpp_matches_an_independent_downsample(cmu_slide: Path) -> None:
    """A 10x tile is the level-0 region averaged over 2x2 blocks (0.499 -> ~1.0 um/px), not 1x1 or 4x4 ones.
    Compared on the tile's first 64 px."""
    with open_slide(cmu_slide) as slide:
        for xy in [(898, 898), (898, 1796)]:
            tile = read_tile(slide, xy, 10.0, 224)[:64, :64].astype(np.float32)
            region = slide.read_region(xy, 0, (256, 256)).astype(np.float32)
            blocks2 = region[:128, :128].reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
            blocks4 = region.reshape(64, 4, 64, 4, 3).mean(axis=(1, 3))
            assert np.abs(tile - blocks2).mean() < 2.0
            assert np.abs(tile - region[:64, :64]).mean() > 20.0  # 20x would look like this
            assert np.abs(tile - blocks4).mean() > 20.0  # 5x would look like this


def test_pyramid_level_choice(synthetic_slide: Path) -> None:
    """0.25 um/px with downsamples 1, 4, 16: 10x (1.0 um/px) is exactly level 1; 5x reads level 1, halved;
    2.5x is exactly level 2; 80x would need upsampling and is refused."""
    with open_slide(synthetic_slide) as slide:
        assert slide.level_downsamples == (1.0, 4.0, 16.0)
        g10 = tile_geometry(slide, 10.0, 64)
        assert (g10.level, g10.read_size, g10.level0_size, g10.needs_resize) == (1, 64, 256, False)
        assert g10.effective_mpp == pytest.approx(1.0)
        g5 = tile_geometry(slide, 5.0, 64)
        assert (g5.level, g5.read_size, g5.level0_size, g5.needs_resize) == (1, 128, 512, True)
        assert g5.effective_mpp == pytest.approx(2.0)
        g25 = tile_geometry(slide, 2.5, 64)
        assert (g25.level, g25.read_size, g25.needs_resize) == (2, 64, False)
        g20 = tile_geometry(slide, 20.0, 64)
        assert (g20.level, g20.read_size, g20.level0_size) == (0, 128, 128)
        with pytest.raises(MmdlmError, match="finer than the slide") as exc:
            tile_geometry(slide, 80.0, 64)
        assert exc.value.field == "magnification" and exc.value.file == str(synthetic_slide)
        tile = read_tile(slide, (512, 512), 10.0, 64)
        assert tile.shape == (64, 64, 3)


def test_synthetic_tiles_lie_on_the_known_tissue(synthetic_slide: Path, synthetic_rgb: np.ndarray) -> None:
    truth = synthetic_rgb.min(axis=-1) < 240  # the generator's tissue
    with open_slide(synthetic_slide) as slide:
        mask = tissue_mask(slide)
        for magnification in (10.0, 5.0):
            geometry = tile_geometry(slide, magnification, 64)
            coords = tile_grid(slide, magnification, 64, 0.5, mask=mask)
            assert len(coords) > 0
            s = geometry.level0_size
            fractions = [truth[y : y + s, x : x + s].mean() for x, y in coords]
            assert min(fractions) >= 0.4
            rejected = [c for c in grid_coords(2048, 1536, s).tolist() if c not in coords.tolist()]
            assert max(truth[y : y + s, x : x + s].mean() for x, y in rejected) <= 0.6


def test_blank_slide_has_no_tissue(blank_slide: Path) -> None:
    with open_slide(blank_slide) as slide:
        mask = tissue_mask(slide)
        assert not mask.mask.any()
        assert len(tile_grid(slide, 10.0, 64, 0.5, mask=mask)) == 0


def test_pen_marks_are_not_tissue(tmp_path: Path, synthetic_rgb: np.ndarray) -> None:
    rgb = synthetic_rgb.copy()
    rgb[100:160, 50:1950] = (30, 90, 200)  # a thick blue pen line across the glass
    rgb[1400:1460, 50:1950] = (40, 160, 60)  # and a green one
    path = write_array_tiff(tmp_path / "pen.tiff", rgb, mpp=0.25, downsamples=(1, 4, 16))
    with open_slide(path) as slide:
        with_filter = tissue_mask(slide)
        without = tissue_mask(slide, TilingConfig(pen_filter=False))
    scale = with_filter.scale_y
    band = slice(int(100 * scale) + 1, int(160 * scale))
    assert without.mask[band].mean() > 0.8  # the ink is saturated: without the filter it looks like tissue
    assert with_filter.mask[band].mean() < 0.05
    assert with_filter.pen_fraction > 0.02
    # away from the ink (beyond the morphology's reach) the tissue is the same with and without the filter
    away = np.ones(with_filter.mask.shape[0], bool)
    for y0, y1 in ((100, 160), (1400, 1460)):
        away[max(0, int(y0 * scale) - 4) : int(y1 * scale) + 5] = False
    assert with_filter.mask[away].any()
    np.testing.assert_array_equal(with_filter.mask[away], without.mask[away])


def test_pale_tissue_is_kept_next_to_dense_stain(tmp_path: Path) -> None:
    """Three populations (glass, pale speckled tissue, dense red spots): two-class Otsu would cut between pale
    tissue and the spots and lose the tissue; the mask must cover the pale region."""
    rng = np.random.default_rng(0)
    h, w = 1536, 2048
    yy, xx = np.mgrid[0:h, 0:w]
    region = (yy - 768) ** 2 + (xx - 1024) ** 2 < 600**2
    rgb = np.full((h, w, 3), 246, np.uint8)
    speckle = region & (rng.random((h, w)) < 0.25)
    rgb[speckle] = (215, 120, 175)
    for cy, cx in ((600, 800), (900, 1250), (700, 1300)):
        rgb[(yy - cy) ** 2 + (xx - cx) ** 2 < 110**2] = (190, 20, 50)
    path = write_array_tiff(tmp_path / "pale.tiff", rgb, mpp=0.5, downsamples=(1, 4, 16))
    with open_slide(path) as slide:
        mask = tissue_mask(slide)
    small = np.asarray(Image.fromarray(region).resize(mask.mask.shape[::-1], Image.Resampling.NEAREST))
    assert mask.mask[small].mean() > 0.9  # the pale tissue is tissue
    assert mask.mask[~small].mean() < 0.05  # the glass is not


def test_thumbnail_from_a_finer_one_matches_a_fresh_decode(synthetic_slide: Path) -> None:
    """The QC thumbnail is resized from the mask's thumbnail when that is at least as fine: same size and
    scale as decoding the pyramid again, pixels within JPEG/resampling noise; a coarser one is not used."""
    with open_slide(synthetic_slide) as slide:
        fine = slide_thumbnail(slide, 2.0, 4096)
        direct = slide_thumbnail(slide, 4.0, 4096)
        reused = slide_thumbnail(slide, 4.0, 4096, finer=fine)
        assert slide_thumbnail(slide, 2.0, 4096, finer=fine) is fine  # same size: no work at all
        coarse = slide_thumbnail(slide, 8.0, 4096)
        not_used = slide_thumbnail(slide, 4.0, 4096, finer=coarse)
    assert reused.rgb.shape == direct.rgb.shape == (96, 128, 3) and reused.scale_x == direct.scale_x
    assert np.abs(reused.rgb.astype(int) - direct.rgb).mean() < 2.0
    np.testing.assert_array_equal(not_used.rgb, direct.rgb)


def test_qc_thumbnail_takes_the_scanners_thumbnail_as_it_is_when_close(cmu_slide: Path) -> None:
    """'About qc_mpp': the Aperio thumbnail (a few % finer than 2 um/px) is used unresampled with slack,
    resized to the exact target without; never past max_side."""
    with open_slide(cmu_slide) as slide:
        scanner = slide.associated_image("thumbnail")
        exact = slide_thumbnail(slide, 2.0, 1024, associated=True)
        close = slide_thumbnail(slide, 2.0, 1024, associated=True, slack=0.1)
        capped = slide_thumbnail(slide, 2.0, 700, associated=True, slack=0.1)
        width, height = slide.dimensions
    assert exact.rgb.shape[:2] == (round(height / (2.0 / 0.499)), round(width / (2.0 / 0.499)))
    assert close.rgb.shape[:2] == scanner.size[::-1] != exact.rgb.shape[:2]
    np.testing.assert_array_equal(close.rgb, np.asarray(scanner))
    assert close.scale_x == scanner.size[0] / width and close.scale_y == scanner.size[1] / height
    assert max(capped.rgb.shape[:2]) == 700


def test_blur_score_is_the_variance_of_scipys_laplacian(cmu_slide: Path) -> None:
    """blur_score equals the variance of scipy.ndimage.laplace over interior pixels (green channel) on real
    tiles; blurring a tile lowers it, a flat tile scores 0."""
    from scipy import ndimage

    from mmdlm.slides.tissue import blur_score

    with open_slide(cmu_slide) as slide:
        tiles = [read_tile(slide, xy, 10.0, 224) for xy in ((600, 900), (1200, 1500), (0, 0))]
    for tile in tiles:
        reference = np.var(ndimage.laplace(tile[..., 1].astype(np.float64))[1:-1, 1:-1])
        assert blur_score(tile) == pytest.approx(reference, rel=1e-12, abs=1e-9)
    sharp = tiles[1]
    blurred = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(3)))
    assert blur_score(sharp) > 100 > 5 * blur_score(blurred) > 0
    assert blur_score(np.full((224, 224, 3), 200, np.uint8)) == 0.0
    extreme = np.zeros((224, 224, 3), np.uint8)
    extreme[::2, ::2] = 255  # the largest Laplacian magnitudes (+-1020) stay exact
    reference = np.var(ndimage.laplace(extreme[..., 1].astype(float))[1:-1, 1:-1])
    assert blur_score(extreme) == pytest.approx(reference, rel=1e-12)


def test_is_blurred_decides_as_the_full_score(cmu_slide: Path) -> None:
    """is_blurred(tile, t) == (blur_score(tile) < t) on real tiles at thresholds around each tile's score,
    including tiles whose top quarter is flat but whose rest is not, and whose top quarter settles it."""
    from mmdlm.slides.tissue import blur_score, is_blurred

    with open_slide(cmu_slide) as slide:
        tiles = [read_tile(slide, xy, 10.0, 224) for xy in ((600, 900), (1200, 1500), (0, 0), (1800, 2400))]
    flat_top = tiles[1].copy()
    flat_top[:100] = 200  # the shortcut cannot settle it: the full score decides
    textured_top = np.full_like(tiles[1], 200)
    textured_top[:60] = tiles[1][:60]  # all the texture in the top quarter
    blurred = np.asarray(Image.fromarray(tiles[1]).filter(ImageFilter.GaussianBlur(3)))
    for tile in [*tiles, flat_top, textured_top, blurred, tiles[1][:5], tiles[1][:, :7]]:
        score = blur_score(tile)
        for t in (0.0, 1.0, 5.0, score * 0.2, score * 0.99, score, score * 1.01, score * 4.0, 1e6):
            assert is_blurred(tile, t) == (score < t), (tile.shape, score, t)
    quarter = blur_score(textured_top[:58]) * 56 / 222
    assert blur_score(textured_top) > quarter > 5.0  # the case the shortcut settles


@pytest.mark.parametrize("radius", [1, 2, 3, 5])
def test_closing_disk_equals_skimage(cmu_slide: Path, radius: int) -> None:
    """closing_disk gives skimage.morphology.closing(mask, disk(r)) exactly: on the real slide's saturation
    mask, on speckled blobs, and on masks touching the border, empty or full."""
    from scipy import ndimage
    from skimage import morphology

    from mmdlm.slides.tissue import closing_disk

    with open_slide(cmu_slide) as slide:
        thumb = slide_thumbnail(slide, 4.0, 4096, associated=True)
    saturation = np.asarray(Image.fromarray(thumb.rgb).convert("HSV"))[..., 1]
    rng = np.random.default_rng(radius)
    blobs = ndimage.zoom(rng.random((30, 40)), 8, order=1) > 0.55
    blobs ^= rng.random(blobs.shape) < 0.03
    edge = np.zeros((30, 40), bool)
    edge[0, :] = edge[:, -1] = True
    edge[15, 3] = True
    masks = [saturation > 25, blobs, edge, np.zeros((9, 7), bool), np.ones((9, 7), bool)]
    for mask in masks:
        expected = morphology.closing(mask, morphology.disk(radius)).astype(bool)
        np.testing.assert_array_equal(closing_disk(mask, radius), expected)
    assert not np.array_equal(closing_disk(blobs, radius), blobs)  # the cases really change

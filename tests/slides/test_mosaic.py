"""mmdlm.slides.mosaic: coarse tiles assembled from the fine grid's regions are the tiles a single read gives,
each level pixel is decoded once, and tiling with shared reads writes the same stores as without."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmdlm.slides import open_slide, open_store, tile_grid, tile_slides
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.grid import read_tile_at
from mmdlm.slides.levels import tile_geometry
from mmdlm.slides.mosaic import ReadGroup, iter_group_tiles, mosaic_factor, read_groups
from mmdlm.slides.reader import SlideReader


def test_mosaic_factor_needs_one_level_whole_coordinates_and_whole_strides(
    cmu_slide: Path, synthetic_slide: Path
) -> None:
    with open_slide(cmu_slide) as slide:  # 0.499 um/px, one level: everything reads level 0
        g10, g5, g25 = (tile_geometry(slide, m, 224) for m in (10, 5, 2.5))
        g3 = tile_geometry(slide, 3, 224)
    assert (g10.read_size, g5.read_size, g25.read_size) == (448, 896, 1792)
    assert mosaic_factor(g10, g5) == 2 and mosaic_factor(g10, g25) == 4 and mosaic_factor(g5, g25) == 2
    assert mosaic_factor(g5, g10) is None  # coarser than the source
    assert g3.read_size % g10.read_size != 0 and mosaic_factor(g10, g3) is None  # strides not whole
    with open_slide(synthetic_slide) as slide:  # 0.25 um/px, downsamples 1, 4, 16
        s10, s5 = tile_geometry(slide, 10, 96), tile_geometry(slide, 5, 96)
        s20 = tile_geometry(slide, 20, 96)
    assert (s10.level, s10.read_size, s5.level, s5.read_size) == (1, 96, 1, 192)
    assert mosaic_factor(s10, s5) == 2
    assert s20.level == 0 and mosaic_factor(s20, s10) is None  # different levels
    # a scanner's inexact downsample (Aperio: 4.0002) puts reads at fractional level coordinates: not shared
    odd = dataclasses.replace(s10, level_downsample=4.0002)
    assert mosaic_factor(odd, dataclasses.replace(s5, level_downsample=4.0002)) is None


def test_read_groups(cmu_slide: Path) -> None:
    with open_slide(cmu_slide) as slide:
        g10, g5, g25 = (tile_geometry(slide, m, 224) for m in (10, 5, 2.5))
    (group,) = read_groups([g5, g25, g10])
    assert group == ReadGroup(g10, ((g5, 2), (g25, 4)))
    assert group.band == 1792 and group.geometries == (g10, g5, g25)
    assert read_groups([g5, g10], share=False) == [ReadGroup(g5), ReadGroup(g10)]


class _Counting:
    """A reader whose decoded pixels are counted (every read goes through read_argb)."""

    def __init__(self, slide: SlideReader) -> None:
        self.pixels = 0
        self.slide = slide
        original = slide.read_argb

        def counted(location, level, size):
            self.pixels += int(size[0]) * int(size[1])
            return original(location, level, size)

        slide.read_argb = counted  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "slide_fixture, tile_size, fraction, mags",
    [
        ("cmu_slide", 224, 0.5, (10.0, 5.0)),  # the paper's tiles: 448 and 896 px regions of level 0
        ("cmu_slide", 96, 0.2, (10.0, 5.0, 2.5)),  # two magnifications assembled from the 10x grid
        # 2.5x averages 8 x 8 blocks of 196-px pieces: blocks straddle pieces, the whole region is assembled
        ("cmu_slide", 98, 0.2, (10.0, 5.0, 2.5)),
        ("synthetic_slide", 96, 0.3, (10.0, 5.0)),  # 40x pyramid: level 1 (downsample 4) read exactly
    ],
    ids=["cmu-224", "cmu-96-three", "cmu-98-straddling", "synthetic-level1"],
)
def test_group_tiles_are_single_reads_decoded_once(
    request: pytest.FixtureRequest, slide_fixture: str, tile_size: int, fraction: float, mags: tuple
) -> None:
    """Every tile equals read_tile_at of its own region; each magnification comes row-major and complete; the
    pixels decoded are those of the distinct fine-grid pieces the tiles cover, fewer than reading each
    tile's region (what tiling each magnification alone decodes)."""
    path = request.getfixturevalue(slide_fixture)
    with open_slide(path) as slide:
        geometries = [tile_geometry(slide, m, tile_size) for m in mags]
        coords = {m: tile_grid(slide, m, tile_size, fraction, cfg=TilingConfig()) for m in mags}
        (group,) = read_groups(geometries)
        counter = _Counting(slide)
        got: dict[float, list] = {m: [] for m in mags}
        for geometry, xy, tile in iter_group_tiles(slide, group, coords):
            got[geometry.magnification].append((tuple(int(v) for v in xy), tile))
        decoded = counter.pixels
        for g in geometries:
            m = g.magnification
            assert len(coords[m]) > 0
            assert [xy for xy, _ in got[m]] == [tuple(xy) for xy in coords[m].tolist()]
            for xy, tile in got[m]:
                np.testing.assert_array_equal(tile, read_tile_at(slide, xy, g))
    naive = sum(len(coords[g.magnification]) * g.read_size**2 for g in geometries)
    fine = group.source
    pieces = {tuple(xy) for xy in coords[fine.magnification].tolist()}
    for g, k in group.assembled:
        step = fine.level0_size
        for x, y in coords[g.magnification].tolist():
            pieces.update((x + i * step, y + j * step) for j in range(k) for i in range(k))
    assert decoded == len(pieces) * fine.read_size**2 < naive


def test_tiling_with_shared_reads_writes_the_stores_of_single_reads(
    tmp_path: Path, cmu_slide: Path, synthetic_slide: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline's stores (tiles, coords, counts) are byte-identical with and without shared reads, on the
    real slide (level 0) and on a 40x pyramid (level 1), at three magnifications."""
    cfg = TilingConfig(tile_size=96, magnifications=(10.0, 5.0, 2.5), tissue_fraction=0.3)
    table = pd.DataFrame(
        [("cmu", "P1", str(cmu_slide)), ("syn", "P2", str(synthetic_slide))],
        columns=["slide_id", "patient_id", "path"],
    )
    shared = tile_slides(table, tmp_path / "shared", cfg, workers=1, progress=False)
    with monkeypatch.context() as patch:
        patch.setattr(SlideReader, "reads_argb", property(lambda self: False))
        single = tile_slides(table, tmp_path / "single", cfg, workers=1, progress=False)
    assert shared["tiles"] == single["tiles"] and all(n > 0 for n in shared["tiles"].values())
    for slide_id in ("cmu", "syn"):
        with open_store(tmp_path / "shared" / f"{slide_id}.h5") as a, open_store(
            tmp_path / "single" / f"{slide_id}.h5"
        ) as b:
            for m in cfg.magnifications:
                np.testing.assert_array_equal(a.coords(m), b.coords(m))
                np.testing.assert_array_equal(a.tiles(m)[()], b.tiles(m)[()])

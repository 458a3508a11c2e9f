"""Markup tiles from the tile store: the real CMU-1-Small-Region slide tiled without a cap gives the same
tiles, scores and files as decoding the slide; any store that does not hold exactly the markup grid falls back
to the slide, and a store of another slide is an error naming the file and field."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from mmdlm.errors import MmdlmError
from mmdlm.explain.config import ExplainConfig
from mmdlm.explain.markup import SlideTileDataset
from mmdlm.explain.tilesource import StoreTileDataset, choose_tile_source, store_for_slide, store_index
from mmdlm.explain.wsi import MarkupResult, markup_slide
from mmdlm.model import MultimodalNet
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.grid import tile_grid
from mmdlm.slides.levels import tile_geometry
from mmdlm.slides.pipeline import tile_slides
from mmdlm.slides.reader import open_slide

TILE = 64
FRACTION = 0.5


@pytest.fixture(scope="module")
def slide_path(shared_data: Path) -> Path:
    return shared_data / "slides" / "CMU-1-Small-Region.svs"


def _tile(slide_path: Path, out: Path, **tiling) -> Path:
    """Tile the slide as `mmdlm tile` does; returns the tiles dir."""
    cfg = TilingConfig(**{"tile_size": TILE, "tissue_fraction": FRACTION, **tiling})
    slides = pd.DataFrame({"slide_id": ["cmu1"], "patient_id": ["P1"], "path": [str(slide_path)]})
    summary = tile_slides(slides, out, cfg, workers=1, progress=False)
    assert summary["counts"]["done"] == 1
    return out


@pytest.fixture(scope="module")
def tiles_dir(slide_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tile(slide_path, tmp_path_factory.mktemp("tiles"))  # no cap: the store holds the whole grid


@pytest.fixture(scope="module")
def store(tiles_dir: Path) -> Path:
    path = store_for_slide(store_index(tiles_dir), "cmu1", 10.0)
    assert path is not None and path.is_file()
    return path


@pytest.fixture(scope="module")
def model() -> MultimodalNet:
    torch.manual_seed(0)
    return MultimodalNet(4, task="5yss", width=16, pretrained="none").eval()


def _markup(model, slide_path: Path, out: Path, store: Path | None, **cfg) -> MarkupResult:
    context = {"radiology": torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(2)),
               "genomics": torch.tensor([[1.0, 0.0, 1.0, 0.0]])}
    ex = ExplainConfig(markup_batch_size=32, thumbnail_max_side=256, **cfg)
    return markup_slide(model, slide_path, out, "cmu1", tile_size=TILE, tissue_fraction=FRACTION,
                        context=context, cfg=ex, store=store, image_size=48)


def _grid(slide_path: Path, magnification: float = 10.0, tile_size: int = TILE, fraction: float = FRACTION):
    with open_slide(slide_path) as slide:
        geometry = tile_geometry(slide, magnification, tile_size)
        return geometry, tile_grid(slide, magnification, tile_size, fraction)


def test_store_and_slide_markups_are_identical(model, slide_path: Path, store: Path, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mmdlm.explain"):
        from_store = _markup(model, slide_path, tmp_path / "store", store, markup_workers=1)
    from_slide = _markup(model, slide_path, tmp_path / "slide", None, markup_workers=1)
    assert from_store.scores.tile_source.kind == "store" and from_slide.scores.tile_source.kind == "slide"
    assert "markup cmu1: tiles from the store" in caplog.text
    _, expected = _grid(slide_path)
    assert len(expected) > 20
    for result in (from_store, from_slide):  # exactly the slide's tissue tiles, in the grid's order
        assert np.array_equal(result.scores.coords, expected)
    np.testing.assert_allclose(from_store.scores.scores, from_slide.scores.scores, atol=1e-5, rtol=0)
    store_json = json.loads(from_store.summary.read_text())
    slide_json = json.loads(from_slide.summary.read_text())
    assert store_json["tile_source"] == "store" and slide_json["tile_source"] == "slide"
    assert {k: v for k, v in store_json.items() if k not in ("tile_source", "score_mean", "certainty_mean")} \
        == {k: v for k, v in slide_json.items() if k not in ("tile_source", "score_mean", "certainty_mean")}
    assert store_json["score_mean"] == pytest.approx(slide_json["score_mean"], abs=1e-5)
    # store tiles read by DataLoader worker processes (each opens its own HDF5 handle) give the same scores
    workers = _markup(model, slide_path, tmp_path / "workers", store, markup_store_workers=1)
    np.testing.assert_allclose(workers.scores.scores, from_store.scores.scores, atol=1e-6, rtol=0)


def test_store_holds_the_slide_readers_pixels(slide_path: Path, store: Path) -> None:
    geometry, coords = _grid(slide_path)
    stored = StoreTileDataset(store, 10.0, len(coords))
    decoded = SlideTileDataset(slide_path, coords, geometry)
    try:
        for i in range(len(coords)):
            assert torch.equal(stored[i], decoded[i])
    finally:
        stored.close()
        decoded.close()


def test_other_grids_fall_back_to_the_slide(slide_path: Path, store: Path) -> None:
    geometry, coords = _grid(slide_path)
    assert choose_tile_source(store, slide_path, geometry, coords, "cmu1").kind == "store"
    # another tissue fraction: other coords
    _, looser = _grid(slide_path, fraction=0.2)
    source = choose_tile_source(store, slide_path, geometry, looser, "cmu1")
    assert source.kind == "slide" and "differ from the markup grid" in source.reason
    # another tile size: other geometry
    small, small_coords = _grid(slide_path, tile_size=32)
    source = choose_tile_source(store, slide_path, small, small_coords, "cmu1")
    assert source.kind == "slide" and "tile_size 64" in source.reason
    # a magnification the store lacks
    wide, wide_coords = _grid(slide_path, magnification=2.5)
    source = choose_tile_source(store, slide_path, wide, wide_coords, "cmu1")
    assert source.kind == "slide" and "no mag_2.5x group" in source.reason
    # no store, or a store file that is gone
    assert choose_tile_source(None, slide_path, geometry, coords).kind == "slide"
    assert choose_tile_source(store.with_name("gone.h5"), slide_path, geometry, coords).kind == "slide"
    assert store_index(None) is None and store_for_slide(None, "cmu1", 10.0) is None


def test_capped_or_blur_filtered_store_falls_back(slide_path: Path, tmp_path: Path) -> None:
    capped = _tile(slide_path, tmp_path / "capped", max_tiles_per_slide=5)
    path = store_for_slide(store_index(capped), "cmu1", 10.0)
    geometry, coords = _grid(slide_path)
    source = choose_tile_source(path, slide_path, geometry, coords, "cmu1")
    assert source.kind == "slide" and "max_tiles_per_slide: 5" in source.reason
    # 32 px tiles: the blur filter drops a few flat grid tiles from the store, so its coords are not the grid
    blurred = _tile(slide_path, tmp_path / "blurred", tile_size=32)
    path = store_for_slide(store_index(blurred), "cmu1", 10.0)
    geometry, coords = _grid(slide_path, tile_size=32)
    source = choose_tile_source(path, slide_path, geometry, coords, "cmu1")
    assert source.kind == "slide" and f"differ from the markup grid ({len(coords)} tiles)" in source.reason


def test_changed_slide_file_falls_back(slide_path: Path, store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.svs"
    shutil.copyfile(slide_path, copy)  # same pixels, another mtime: content_hash differs
    geometry, coords = _grid(slide_path)
    source = choose_tile_source(store, copy, geometry, coords, "cmu1")
    assert source.kind == "slide" and "content_hash" in source.reason


def test_store_of_another_slide_is_an_error(model, slide_path: Path, store: Path, tmp_path: Path) -> None:
    geometry, coords = _grid(slide_path)
    with pytest.raises(MmdlmError) as err:
        choose_tile_source(store, slide_path, geometry, coords, "cmu2")
    assert str(store) in str(err.value) and "field slide_id" in str(err.value) and "'cmu1'" in str(err.value)
    with pytest.raises(MmdlmError, match="field slide_id"):
        markup_slide(model, slide_path, tmp_path, "cmu2", tile_size=TILE, tissue_fraction=FRACTION,
                     store=store)


def test_malformed_store_is_an_error(slide_path: Path, store: Path, tmp_path: Path) -> None:
    broken = tmp_path / "cmu1.h5"
    shutil.copyfile(store, broken)
    with h5py.File(broken, "a") as fh:
        fh["mag_10x"]["tiles"].resize(3, axis=0)  # fewer tiles than coords
    geometry, coords = _grid(slide_path)
    with pytest.raises(MmdlmError, match="mag_10x/tiles has shape") as err:
        choose_tile_source(broken, slide_path, geometry, coords, "cmu1")
    assert str(broken) in str(err.value)
    no_coords = tmp_path / "no_coords.h5"
    shutil.copyfile(store, no_coords)
    with h5py.File(no_coords, "a") as fh:
        del fh["mag_10x"]["coords"]
    with pytest.raises(MmdlmError, match="malformed tile store") as err:
        choose_tile_source(no_coords, slide_path, geometry, coords, "cmu1")
    assert str(no_coords) in str(err.value)
    not_hdf5 = tmp_path / "junk.h5"
    not_hdf5.write_bytes(b"not a store")
    with pytest.raises(MmdlmError, match="not a readable tile store"):
        choose_tile_source(not_hdf5, slide_path, geometry, coords, "cmu1")

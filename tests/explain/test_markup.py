"""Sliding-window markup on the real CMU-1-Small-Region slide: exactly the tissue tiles, valid QuPath GeoJSON,
a PNG of the thumbnail's size; and the fixed-context scorer equals the plain fused forward pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmdlm.data.transforms import normalise
from mmdlm.explain.config import ExplainConfig
from mmdlm.explain.markup import TileScorer
from mmdlm.explain.qupath import geojson_errors
from mmdlm.explain.wsi import MarkupResult, markup_slide
from mmdlm.modalities import MODALITIES
from mmdlm.model import MultimodalNet
from mmdlm.slides.grid import tile_grid
from mmdlm.slides.reader import open_slide
from mmdlm.slides.tissue import slide_thumbnail

TILE = 64
FRACTION = 0.5


@pytest.fixture(scope="module")
def slide_path(shared_data: Path) -> Path:
    return shared_data / "slides" / "CMU-1-Small-Region.svs"


@pytest.fixture(scope="module")
def model() -> MultimodalNet:
    torch.manual_seed(0)
    return MultimodalNet(4, task="5yss", width=16, pretrained="none").eval()


@pytest.fixture(scope="module")
def markup(model: MultimodalNet, slide_path: Path, tmp_path_factory: pytest.TempPathFactory) -> MarkupResult:
    cfg = ExplainConfig(markup_batch_size=32, markup_workers=1, thumbnail_max_side=512)
    context = {"radiology": torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(2)),
               "genomics": torch.tensor([[1.0, 0.0, 1.0, 0.0]])}
    return markup_slide(model, slide_path, tmp_path_factory.mktemp("markup"), "cmu1", tile_size=TILE,
                        tissue_fraction=FRACTION, context=context, cfg=cfg)


def test_markup_covers_exactly_the_tissue_tiles(markup: MarkupResult, slide_path: Path) -> None:
    with open_slide(slide_path) as slide:
        expected = tile_grid(slide, 10.0, TILE, FRACTION)
    assert len(expected) > 20
    assert {tuple(c) for c in markup.scores.coords} == {tuple(c) for c in expected}
    assert len(markup.scores.scores) == len(expected)
    assert np.isfinite(markup.scores.scores).all()
    assert ((markup.scores.scores >= 0) & (markup.scores.scores <= 1)).all()  # p(deceased)
    geo = json.loads(markup.geojson.read_text())
    assert len(geo["features"]) == len(expected)
    feature_xy = {tuple(f["geometry"]["coordinates"][0][0]) for f in geo["features"]}
    assert feature_xy == {tuple(c) for c in expected}


def test_geojson_validates_with_python_geojson(markup: MarkupResult) -> None:
    geojson = pytest.importorskip("geojson")  # python-geojson (pip geojson 3.x): independent RFC 7946 checks
    obj = geojson.loads(markup.geojson.read_text())
    assert isinstance(obj, geojson.FeatureCollection)
    assert obj.is_valid, obj.errors()
    assert len(obj["features"]) == len(markup.scores.coords)


def test_geojson_structure_inside_the_slide(markup: MarkupResult, slide_path: Path) -> None:
    with open_slide(slide_path) as slide:
        width, height = slide.dimensions
    raw = json.loads(markup.geojson.read_text())
    assert raw["type"] == "FeatureCollection" and isinstance(raw["features"], list)
    assert geojson_errors(raw, width, height) == []
    side = markup.scores.level0_size
    assert side == 128  # 10x on a 0.499 um/px slide: 64 px tiles span ~128 level-0 px
    for feat in raw["features"]:
        ring = np.asarray(feat["geometry"]["coordinates"][0])
        assert ring.shape == (5, 2) and (ring[0] == ring[-1]).all()
        assert ring[:, 0].min() >= 0 and ring[:, 1].min() >= 0
        assert ring[:, 0].max() <= width and ring[:, 1].max() <= height
        assert np.ptp(ring[:, 0]) == side and np.ptp(ring[:, 1]) == side
        assert feat["type"] == "Feature" and feat["geometry"]["type"] == "Polygon"
        assert len(feat["geometry"]["coordinates"]) == 1  # one exterior ring, no holes
        props = feat["properties"]
        assert props["objectType"] == "tile"
        assert props["classification"]["name"] in ("alive", "deceased")
        assert len(props["classification"]["color"]) == 3
        p = props["measurements"]["p_dead"]
        assert props["measurements"]["certainty"] == pytest.approx(max(p, 1 - p), abs=1e-6)
        assert props["classification"]["name"] == ("deceased" if p >= 0.5 else "alive")


def test_png_has_the_thumbnails_size(markup: MarkupResult, slide_path: Path) -> None:
    with open_slide(slide_path) as slide:
        thumb = slide_thumbnail(slide, slide.mpp.x, 512)
    with Image.open(markup.png) as img:
        assert img.size == (thumb.rgb.shape[1], thumb.rgb.shape[0])
        drawn = np.asarray(img.convert("RGB"))
    assert max(drawn.shape[:2]) == 512
    # tiles are tinted, the rest of the thumbnail is left as it was
    changed = np.abs(drawn.astype(int) - thumb.rgb.astype(int)).sum(-1) > 0
    x, y = markup.scores.coords[0]
    cx, cy = int((x + 64) * thumb.scale_x), int((y + 64) * thumb.scale_y)
    assert changed[cy, cx]
    assert changed.mean() < 0.9
    assert markup.figure.is_file() and markup.summary.is_file()
    summary = json.loads(markup.summary.read_text())
    assert summary["n_tiles"] == len(markup.scores.coords)
    assert sum(summary["classes"].values()) == summary["n_tiles"]
    assert summary["context"] == ["radiology", "genomics"]


def test_fixed_context_scorer_equals_the_fused_forward(model: MultimodalNet) -> None:
    gen = torch.Generator().manual_seed(3)
    tiles = torch.randn(5, 3, TILE, TILE, generator=gen)
    context = {"tile_5x": torch.randn(1, 3, TILE, TILE, generator=gen),
               "genomics": torch.rand(1, 4, generator=gen)}
    scorer = TileScorer(model, "tile_10x", context)
    got = scorer(tiles)
    inputs = {"tile_10x": tiles, **{m: x.expand(5, *x.shape[1:]) for m, x in context.items()}}
    mask = torch.tensor([[m in ("tile_10x", "tile_5x", "genomics") for m in MODALITIES]] * 5)
    with torch.no_grad():
        expected = torch.softmax(model(inputs, mask).out, dim=1)[:, 1]
    assert torch.allclose(got, expected, atol=1e-5)
    # the model's own branches are back in place after scoring
    assert type(model.branches["tile_5x"]).__name__ == "ImageBranch"
    # muted: the tile alone
    muted = TileScorer(model, "tile_10x", None)(tiles)
    alone = torch.tensor([[m == "tile_10x" for m in MODALITIES]] * 5)
    with torch.no_grad():
        expected_alone = torch.softmax(model({"tile_10x": tiles}, alone).out, dim=1)[:, 1]
    assert torch.allclose(muted, expected_alone, atol=1e-5)
    assert not torch.allclose(muted, got, atol=1e-4)
    # the GPU path's bfloat16 autocast (runs on CPU too) gives the same scores to bf16 precision
    bf16 = TileScorer(model, "tile_10x", context, bf16=True)(tiles)
    assert bf16.dtype == torch.float32 and torch.allclose(bf16, got, atol=0.03)
    # uint8 tiles (what the markup workers deliver) are normalised as mmdlm.data does in training
    raw = torch.randint(0, 256, (3, 3, TILE, TILE), dtype=torch.uint8, generator=gen)
    assert torch.allclose(scorer(raw), scorer(normalise(raw)), atol=1e-6)


def test_cox_markup_muted_context(slide_path: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = MultimodalNet(4, task="cox", width=16, pretrained="none").eval()
    cfg = ExplainConfig(markup_workers=0, thumbnail_max_side=300, risk_quantiles=3, markup_magnification=5.0)
    reference = np.linspace(-1.0, 1.0, 30)  # the run's patient risks
    result = markup_slide(model, slide_path, tmp_path, "cmu1", tile_size=TILE, tissue_fraction=FRACTION,
                          cfg=cfg, risk_reference=reference)
    with open_slide(slide_path) as slide:
        expected = tile_grid(slide, 5.0, TILE, FRACTION)
        width, height = slide.dimensions
    assert {tuple(c) for c in result.scores.coords} == {tuple(c) for c in expected}
    assert result.scores.context == ()  # muted: the 5x tile alone
    raw = json.loads(result.geojson.read_text())
    assert geojson_errors(raw, width, height) == []
    edges = np.quantile(reference, [1 / 3, 2 / 3])
    for feat, risk in zip(raw["features"], result.scores.scores, strict=True):
        m = feat["properties"]["measurements"]
        assert m["risk"] == pytest.approx(float(risk), abs=1e-6) and 0.0 <= m["certainty"] <= 1.0
        q = int(np.searchsorted(edges, m["risk"], side="right"))
        assert feat["properties"]["classification"]["name"] == f"risk Q{q + 1}"
    with Image.open(result.png) as img:
        assert max(img.size) == 300
    assert json.loads(result.summary.read_text())["risk_reference"] == "run patients"


def test_markup_reads_the_slide_with_the_configured_reader(
    markup: MarkupResult, model: MultimodalNet, slide_path: Path, tmp_path: Path, slide_reader_spy
) -> None:
    """tiling.reader reaches the markup (grid, tiles, thumbnail): tiffslide gives the same tile scores."""
    import mmdlm.explain.markup as markup_mod
    from mmdlm.slides.config import TilingConfig

    used = slide_reader_spy(markup_mod)
    cfg = ExplainConfig(markup_batch_size=32, markup_workers=0, thumbnail_max_side=512)
    context = {"radiology": torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(2)),
               "genomics": torch.tensor([[1.0, 0.0, 1.0, 0.0]])}
    other = markup_slide(model, slide_path, tmp_path, "cmu1", tile_size=TILE, tissue_fraction=FRACTION,
                         context=context, cfg=cfg, tiling_cfg=TilingConfig(reader="tiffslide"))
    assert len(used) >= 3 and set(used) == {"tiffslide"}
    np.testing.assert_array_equal(other.scores.coords, markup.scores.coords)
    np.testing.assert_allclose(other.scores.scores, markup.scores.scores, atol=1e-5)

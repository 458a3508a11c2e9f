"""Tile classes (5YSS, Cox risk quantiles) and the GeoJSON checks on broken input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import percentileofscore

from mmdlm.explain.classes import classes_5yss, classes_cox
from mmdlm.explain.qupath import geojson_errors, markup_geojson, tile_ring


def test_5yss_classes_and_certainty() -> None:
    c = classes_5yss(np.array([0.1, 0.5, 0.9, 0.3]))
    assert [c.names[i] for i in c.index] == ["alive", "deceased", "deceased", "alive"]
    np.testing.assert_allclose(c.certainty, [0.9, 0.5, 0.9, 0.7])
    np.testing.assert_allclose(c.strength, [0.8, 0.0, 0.8, 0.4])


def test_cox_quantile_classes_against_a_reference() -> None:
    reference = np.arange(100, dtype=float)  # quartile edges 24.75, 49.5, 74.25
    c = classes_cox(np.array([-5.0, 10.0, 30.0, 60.0, 99.0, 500.0]), 4, reference)
    np.testing.assert_array_equal(c.index, [0, 0, 1, 2, 3, 3])
    assert c.names == ("risk Q1", "risk Q2", "risk Q3", "risk Q4")
    risks = [-5.0, 10.0, 30.0, 60.0, 99.0, 500.0]
    mid_rank = np.array([percentileofscore(reference, r, kind="mean") / 100.0 for r in risks])
    np.testing.assert_allclose(c.certainty, np.abs(2 * mid_rank - 1))
    np.testing.assert_allclose(c.certainty, [1.0, 0.79, 0.39, 0.21, 0.99, 1.0])
    # without a reference: the slide's own tiles, so each quartile holds a quarter of them
    own = classes_cox(np.linspace(0, 1, 40), 4)
    np.testing.assert_array_equal(np.bincount(own.index), [10, 10, 10, 10])
    assert own.colours[0][2] > own.colours[0][0] and own.colours[-1][0] > own.colours[-1][2]  # blue .. red


def test_geojson_checks_catch_broken_features() -> None:
    coords = np.array([[0, 0], [100, 0]])
    geo = markup_geojson(coords, 100, np.array([0.2, 0.8]), classes_5yss(np.array([0.2, 0.8])))
    assert geojson_errors(geo, 200, 100) == []
    assert any("bounds" in e for e in geojson_errors(geo, 150, 100))
    open_ring = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                            "coordinates": [tile_ring(0, 0, 10)[:-1]]}}]}
    assert any("closed" in e for e in geojson_errors(open_ring, 100, 100))
    clockwise = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                            "coordinates": [tile_ring(0, 0, 10)[::-1]]}}]}
    assert any("winding" in e for e in geojson_errors(clockwise, 100, 100))
    assert geojson_errors({"type": "Feature"}, 1, 1) == ["top level is not a FeatureCollection"]
    point = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": None, "geometry": {"type": "Point", "coordinates": [1, 1]}}]}
    assert geojson_errors(point, 10, 10) == ["feature 0: geometry is not a Polygon"]


@pytest.mark.parametrize("size", [1, 224])
def test_tile_ring_is_closed_and_counter_clockwise(size: int) -> None:
    ring = np.asarray(tile_ring(7, 11, size), dtype=float)
    assert (ring[0] == ring[-1]).all()
    area = 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    assert area == size * size

"""The markup as GeoJSON that QuPath imports: one tile Feature per scored tile, level-0 pixel coordinates.

QuPath reads a FeatureCollection whose features carry `properties.objectType` ("tile"), a `classification`
{name, color [r, g, b]} and `measurements` {name: value}. Rings follow RFC 7946: closed, exterior
counter-clockwise (positive shoelace area with x right and y as given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmdlm.atomic import write_text_atomic
from mmdlm.explain.classes import TileClasses


def tile_ring(x: int, y: int, size: int) -> list[list[int]]:
    """Closed square ring of a tile: top-left (x, y), side `size`, counter-clockwise (positive area)."""
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def markup_geojson(coords: np.ndarray, level0_size: int, scores: np.ndarray, classes: TileClasses
                   ) -> dict[str, Any]:
    """FeatureCollection with one Polygon Feature per tile (classification and measurements)."""
    features = []
    for i, (x, y) in enumerate(np.asarray(coords, dtype=np.int64).reshape(-1, 2)):
        k = int(classes.index[i])
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [tile_ring(int(x), int(y), int(level0_size))]},
            "properties": {
                "objectType": "tile",
                "classification": {"name": classes.names[k], "color": list(classes.colours[k])},
                "measurements": {classes.score_name: float(scores[i]),
                                 "certainty": float(classes.certainty[i])},
            },
        })
    return {"type": "FeatureCollection", "features": features}


def _ring_area(ring: list[list[float]]) -> float:
    pts = np.asarray(ring, dtype=np.float64)
    return 0.5 * float(np.sum(pts[:-1, 0] * pts[1:, 1] - pts[1:, 0] * pts[:-1, 1]))


def geojson_errors(obj: Any, width: float, height: float) -> list[str]:
    """RFC 7946 structure checks of a Polygon FeatureCollection inside a width x height slide; [] if valid."""
    errors: list[str] = []
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        return ["top level is not a FeatureCollection"]
    features = obj.get("features")
    if not isinstance(features, list):
        return ["'features' is not an array"]
    for i, feat in enumerate(features):
        where = f"feature {i}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            errors.append(f"{where}: not a Feature")
            continue
        if not isinstance(feat.get("properties"), dict | type(None)):
            errors.append(f"{where}: properties is neither an object nor null")
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Polygon":
            errors.append(f"{where}: geometry is not a Polygon")
            continue
        rings = geom.get("coordinates")
        if not isinstance(rings, list) or not rings:
            errors.append(f"{where}: Polygon has no rings")
            continue
        for r, ring in enumerate(rings):
            ok = isinstance(ring, list) and len(ring) >= 4 and all(
                isinstance(p, list) and len(p) in (2, 3) and all(isinstance(v, int | float) and np.isfinite(v)
                                                                 for v in p) for p in ring)
            if not ok:
                errors.append(f"{where} ring {r}: not >= 4 positions of 2-3 finite numbers")
                continue
            if ring[0] != ring[-1]:
                errors.append(f"{where} ring {r}: not closed (first != last position)")
            area = _ring_area(ring)
            if (r == 0 and area <= 0) or (r > 0 and area >= 0):
                errors.append(f"{where} ring {r}: wrong winding (exterior CCW, holes CW) or zero area")
            xs = [p[0] for p in ring]
            ys = [p[1] for p in ring]
            if min(xs) < 0 or min(ys) < 0 or max(xs) > width or max(ys) > height:
                errors.append(f"{where} ring {r}: outside the slide bounds 0..{width} x 0..{height}")
    return errors


def write_geojson(path: str | Path, obj: dict[str, Any]) -> Path:
    """Write GeoJSON atomically (compact: one feature per tile adds up on large slides)."""
    import json

    return write_text_atomic(path, json.dumps(obj, separators=(",", ":")) + "\n")

"""Maximum Feret diameter of a 2D region in mm: the distance between its two farthest pixel centres."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

_CROSS = ndimage.generate_binary_structure(2, 1)


def boundary_points(region: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Physical (row, col) mm coordinates of the region's pixels that touch the outside (4-neighbourhood)."""
    region = np.asarray(region, dtype=bool)
    edge = region & ~ndimage.binary_erosion(region, _CROSS, border_value=0)
    return np.argwhere(edge) * np.asarray(spacing, dtype=float)


def max_feret_diameter(region: np.ndarray, spacing: tuple[float, float]) -> float:
    """Largest distance (mm) between two pixel centres of a 2D binary region; 0 for one pixel or none.

    Interior pixels cannot be farthest apart, so only boundary pixels count; their convex hull vertices
    hold the farthest pair (brute force when the points are collinear).
    """
    pts = boundary_points(region, spacing)
    if len(pts) < 2:
        return 0.0
    if len(pts) > 3:
        try:
            pts = pts[ConvexHull(pts).vertices]
        except QhullError:  # collinear points: any pair may be extreme
            pass
    return float(pdist(pts).max())

"""Voxel arrays in a fixed anatomical order (LPS, as SimpleITK's DICOMOrient 'LPS'), as zero-copy views."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from mmdlm.errors import MmdlmError

#: Planes, each with the LPS array axis that is fixed in it ([S, P, L] numpy order), in output order.
PLANE_AXIS: dict[str, int] = {"axial": 0, "coronal": 1, "sagittal": 2}


def lps_axes(image: sitk.Image) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """For numpy axes [S, P, L]: which numpy axis of the image array feeds each, and whether it is flipped."""
    d = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)  # column k = direction of index axis k
    perm = np.abs(d).argmax(
        axis=0
    )  # index axis k runs mostly along physical axis perm[k] (0=x/L,1=y/P,2=z/S)
    if sorted(perm.tolist()) != [0, 1, 2]:
        raise MmdlmError(
            f"image direction {np.round(d, 3).tolist()} is too oblique to name its planes", field="direction"
        )
    order, flips = [], []
    for phys in (2, 1, 0):
        k = int(np.flatnonzero(perm == phys)[0])
        order.append(2 - k)  # numpy axis of sitk index axis k
        flips.append(bool(d[phys, k] < 0))
    return tuple(order), tuple(flips)


def lps_view(array: np.ndarray, image: sitk.Image) -> np.ndarray:
    """`array` (numpy [z, y, x] of `image`) as a view ordered [S, P, L]: index grows towards S, P and L."""
    order, flips = lps_axes(image)
    view = np.transpose(array, order)
    for axis, flip in enumerate(flips):
        if flip:
            view = np.flip(view, axis=axis)
    return view


def lps_spacing(image: sitk.Image) -> tuple[float, float, float]:
    """Voxel spacing (mm) along the [S, P, L] axes of lps_view."""
    order, _ = lps_axes(image)
    sp = image.GetSpacing()  # (x, y, z) = index axes 0, 1, 2; numpy axis a holds index axis 2 - a
    return tuple(float(sp[2 - a]) for a in order)  # type: ignore[return-value]


def plane_spacing(spacing_spl: tuple[float, float, float], plane: str) -> tuple[float, float]:
    """(row, column) spacing of a slice of `plane` taken from an [S, P, L] array."""
    axis = PLANE_AXIS[plane]
    rest = [spacing_spl[a] for a in range(3) if a != axis]
    return rest[0], rest[1]

"""Feret diameter against brute force; LPS views against SimpleITK's DICOMOrient."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from mmdlm.radiology.feret import max_feret_diameter
from mmdlm.radiology.orient import lps_spacing, lps_view


def brute_feret(region: np.ndarray, spacing: tuple[float, float]) -> float:
    pts = np.argwhere(region) * np.asarray(spacing)
    return float(pdist(pts).max()) if len(pts) > 1 else 0.0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shape=st.tuples(st.integers(1, 25), st.integers(1, 25)),
    spacing=st.tuples(st.floats(0.3, 5.0), st.floats(0.3, 5.0)),
    density=st.floats(0.02, 0.9),
)
def test_feret_equals_brute_force(seed, shape, spacing, density) -> None:
    region = np.random.default_rng(seed).random(shape) < density
    assert max_feret_diameter(region, spacing) == pytest.approx(
        brute_feret(region, spacing), rel=1e-12, abs=1e-12
    )


def test_feret_degenerate_cases() -> None:
    assert max_feret_diameter(np.zeros((4, 4), bool), (1, 1)) == 0.0
    one = np.zeros((4, 4), bool)
    one[1, 2] = True
    assert max_feret_diameter(one, (1, 1)) == 0.0
    line = np.zeros((9, 9), bool)
    line[:, 4] = True  # collinear pixel centres: 8 gaps of 2.5 mm
    assert max_feret_diameter(line, (2.5, 1.0)) == pytest.approx(20.0)
    disc = np.hypot(*np.ogrid[-20:21, -20:21]) <= 20  # disc of radius 20 px at 0.5 mm: 20 mm across
    assert max_feret_diameter(disc, (0.5, 0.5)) == pytest.approx(20.0)


@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("signs", [(1, 1, 1), (-1, 1, -1), (1, -1, -1)])
def test_lps_view_matches_dicomorient(perm, signs) -> None:
    rng = np.random.default_rng(3)
    img = sitk.GetImageFromArray(rng.integers(0, 100, size=(4, 5, 6)).astype(np.int16))
    img.SetSpacing((0.7, 1.1, 2.3))
    direction = np.zeros((3, 3))
    for k in range(3):
        direction[perm[k], k] = signs[k]
    img.SetDirection(tuple(direction.ravel()))
    ref = sitk.DICOMOrient(img, "LPS")
    assert ref.GetDirection() == pytest.approx(np.eye(3).ravel())
    np.testing.assert_array_equal(
        lps_view(sitk.GetArrayViewFromImage(img), img), sitk.GetArrayViewFromImage(ref)
    )
    assert lps_spacing(img) == pytest.approx(ref.GetSpacing()[::-1])


def test_ct_window_and_mri_normalisation() -> None:
    from mmdlm.radiology.render import normalise_range, window_ct

    hu = np.array([-1000.0, -160.0, 40.0, 240.0, 3000.0])
    np.testing.assert_array_equal(window_ct(hu, 400.0, 40.0), [0, 0, 128, 255, 255])
    np.testing.assert_array_equal(window_ct(hu, 2000.0, 0.0), [0, 107, 133, 158, 255])
    np.testing.assert_array_equal(
        normalise_range(np.array([0.0, 10.0, 60.0, 110.0]), 10.0, 110.0), [0, 0, 128, 255]
    )
    assert not normalise_range(np.ones(4), 1.0, 1.0).any()


def test_sample_square_keeps_physical_size() -> None:
    """A 10 mm bright square on 0.5 x 2 mm pixels stays 10 mm wide on square output pixels."""
    from mmdlm.radiology.render import sample_square

    img = np.zeros((200, 50))
    img[80:100, 20:25] = 1.0  # rows 40..50 mm, cols 40..50 mm (pixel edges)
    out = sample_square(img, (0.5, 2.0), centre_mm=(44.75, 45.0), side_mm=40.0, size=80, fill=0.0)
    rows = np.flatnonzero(out[:, 40] > 0.5)
    cols = np.flatnonzero(out[40, :] > 0.5)
    assert abs(len(rows) * 0.5 - 10.0) <= 1.0 and abs(len(cols) * 0.5 - 10.0) <= 2.0

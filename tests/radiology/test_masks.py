"""Masks against their images: same grid, another grid (resampled), no tumour, no overlap, partial overlap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from mmdlm.errors import MmdlmError
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.dicom import read_dicom_series
from mmdlm.radiology.planes import max_diameter_planes
from mmdlm.radiology.volume import fit_mask
from mmdlm.radiology.warn import RadiologyWarning

SPACING = (2.0, 1.5, 3.0)
ORIGIN = (-40.0, -30.0, 100.0)


@pytest.fixture
def series(tmp_path: Path, series_writer, make_phantom):
    hu, mask = make_phantom()
    series_writer(tmp_path / "s", hu)
    return read_dicom_series(tmp_path / "s", "P1"), mask


def test_phantom_planes_match_the_ellipsoid(series, make_mask_image) -> None:
    image, mask = series
    cfg = RadiologyConfig(image_size=48, margin_mm=5.0)
    planes = {p.plane: p for p in max_diameter_planes(image, make_mask_image(mask, SPACING, ORIGIN), cfg)}
    # Tumour centre voxel (z 9, y 18, x 25): every plane passes through it. Axial: x extent 25 +- 12 px
    # at 2 mm -> 48 mm across; coronal (z, x): 48 mm; sagittal (z, y): y 18 +- 9 at 1.5 = 27 vs
    # z 9 +- 5 at 3 = 30.
    assert planes["axial"].slice_index == 9 and planes["axial"].diameter_mm == pytest.approx(48.0)
    assert planes["coronal"].slice_index == 18 and planes["coronal"].diameter_mm == pytest.approx(48.0)
    assert planes["sagittal"].slice_index == 25
    assert planes["sagittal"].diameter_mm == pytest.approx(np.hypot(30.0, 3.0), rel=0.05)
    # The tumour (120 HU) is brighter than the body (40 HU) in the W400/L40 window, centred in the crop.
    ax = planes["axial"].pixels.astype(float)
    assert ax[20:28, 20:28].mean() > ax[2:6, 20:28].mean() + 30


def test_mask_on_another_grid_is_resampled(series, make_mask_image) -> None:
    image, mask = series
    cfg = RadiologyConfig(image_size=48)
    same = max_diameter_planes(image, make_mask_image(mask, SPACING, ORIGIN), cfg)
    # The same mask on a 2x finer grid (nearest-neighbour upsampling), then fitted back onto the image.
    fine = make_mask_image(
        mask.repeat(2, 0).repeat(2, 1).repeat(2, 2),
        [s / 2 for s in SPACING],
        [o - s / 4 for o, s in zip(ORIGIN, SPACING, strict=True)],
    )
    fitted = fit_mask(fine, image)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(fitted), mask)
    other = max_diameter_planes(image, fine, cfg)
    assert [(p.slice_index, p.diameter_mm) for p in other] == [(p.slice_index, p.diameter_mm) for p in same]


def test_mask_labels(series, make_mask_image) -> None:
    image, mask = series
    labelled = make_mask_image(mask, SPACING, ORIGIN, label=2)
    assert fit_mask(labelled, image, labels=(2,)).GetSize() == image.GetSize()
    with pytest.raises(MmdlmError) as err:
        fit_mask(labelled, image, labels=(1,), patient_id="P1", mask_file="m.nii.gz")
    assert (
        err.value.one_line() == "file m.nii.gz, patient P1, field mask_path: mask has no tumour (labels [1])"
    )


def test_mask_with_no_tumour(series, make_mask_image) -> None:
    image, mask = series
    with pytest.raises(MmdlmError) as err:
        max_diameter_planes(
            image,
            make_mask_image(np.zeros_like(mask), SPACING, ORIGIN),
            RadiologyConfig(),
            patient_id="P1",
            mask_file="/x/tumour_mask.nii.gz",
        )
    e = err.value
    assert (e.patient, e.file, e.field) == ("P1", "/x/tumour_mask.nii.gz", "mask_path")
    assert "mask has no tumour (nonzero voxels)" in e.message


def test_mask_that_does_not_overlap(series, make_mask_image) -> None:
    image, mask = series
    far = make_mask_image(mask, SPACING, (ORIGIN[0], ORIGIN[1], ORIGIN[2] + 500.0))
    with pytest.raises(MmdlmError) as err:
        max_diameter_planes(image, far, RadiologyConfig(), patient_id="P1", mask_file="m.nii.gz")
    assert err.value.patient == "P1" and err.value.file == "m.nii.gz" and err.value.field == "mask_path"
    assert "mask does not overlap its image" in err.value.message


def test_mask_partly_outside(series, make_mask_image) -> None:
    image, mask = series
    # Shifted 30 mm (10 slices) up: the tumour spans slices 4..14, so 5 of its 11 slices leave the
    # 20-slice image.
    shifted = make_mask_image(mask, SPACING, (ORIGIN[0], ORIGIN[1], ORIGIN[2] + 30.0))
    with pytest.raises(MmdlmError, match=r"mask does not fit its image: only \d+% of the tumour"):
        fit_mask(shifted, image, patient_id="P1", min_fraction=0.9)
    with pytest.warns(RadiologyWarning, match="of the tumour volume lies outside the image"):
        fitted = fit_mask(shifted, image, patient_id="P1", min_fraction=0.3)
    assert 0 < sitk.GetArrayViewFromImage(fitted).sum() < mask.sum()

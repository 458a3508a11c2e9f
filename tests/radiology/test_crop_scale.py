"""The default fixed field of view keeps tumour size: pixel diameter proportional to physical diameter."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.planes import max_diameter_planes
from mmdlm.radiology.warn import RadiologyWarning

SPACING_MM = 1.0  # isotropic voxels
SHAPE = 200  # 200 mm cube of body (40 HU)


def _sphere(diameter_mm: float) -> tuple[sitk.Image, sitk.Image]:
    """A CT volume with one tumour sphere of `diameter_mm` (120 HU in 40 HU body) and its mask."""
    z, y, x = np.mgrid[:SHAPE, :SHAPE, :SHAPE].astype(np.float32)
    c = (SHAPE - 1) / 2.0
    inside = (z - c) ** 2 + (y - c) ** 2 + (x - c) ** 2 <= (diameter_mm / 2.0) ** 2
    hu = np.where(inside, 120.0, 40.0).astype(np.float32)
    image, mask = sitk.GetImageFromArray(hu), sitk.GetImageFromArray(inside.astype(np.uint8))
    for im in (image, mask):
        im.SetSpacing((SPACING_MM,) * 3)
    return image, mask


def _pixel_diameter(pixels: np.ndarray) -> float:
    """Equivalent-circle diameter (output pixels) of the bright tumour disc (120 HU -> 178, body -> 128)."""
    area = float((pixels > 153).sum())
    return 2.0 * np.sqrt(area / np.pi)


@pytest.fixture(scope="module")
def spheres() -> dict[float, tuple[sitk.Image, sitk.Image]]:
    return {d: _sphere(d) for d in (16.0, 40.0, 70.0)}


def test_default_crop_is_fixed_fov() -> None:
    cfg = RadiologyConfig()
    assert cfg.crop == "fixed_fov" and cfg.field_of_view_mm >= 140.0


def test_pixel_diameter_is_proportional_to_physical_diameter(spheres) -> None:
    cfg = RadiologyConfig(image_size=64)  # the default crop: 160 mm field of view -> 2.5 mm per pixel
    mm_per_px = cfg.field_of_view_mm / cfg.image_size
    measured = {}
    for d, (image, mask) in spheres.items():
        planes = max_diameter_planes(image, mask, cfg, modality="CT")
        for p in planes:
            assert p.crop_box["crop"] == "fixed_fov" and p.crop_box["side_mm"] == pytest.approx(160.0)
            assert p.crop_box["output_pixel_mm"] == pytest.approx(mm_per_px)
            assert p.crop_box["tumour_fits"]
            # within one output pixel of the physical diameter in pixels
            assert _pixel_diameter(p.pixels) == pytest.approx(d / mm_per_px, abs=1.0), (d, p.plane)
        measured[d] = _pixel_diameter(planes[0].pixels)
    ratio = measured[70.0] / measured[16.0]
    assert ratio == pytest.approx(70.0 / 16.0, rel=0.12)


def test_bbox_crop_fills_the_frame_alike(spheres) -> None:
    """The bounding-box option (the former default) erases size: a 16 and a 70 mm tumour look the same."""
    cfg = RadiologyConfig(image_size=64, crop="bbox", margin_mm=0.0)
    sizes = [_pixel_diameter(max_diameter_planes(*spheres[d], cfg, modality="CT")[0].pixels)
             for d in (16.0, 70.0)]
    assert sizes[1] / sizes[0] == pytest.approx(1.0, abs=0.1)


def test_tumour_larger_than_the_field_of_view_warns(spheres) -> None:
    image, mask = spheres[70.0]
    with pytest.warns(RadiologyWarning, match="exceeds field_of_view_mm 50 mm"):
        planes = max_diameter_planes(image, mask, RadiologyConfig(image_size=32, field_of_view_mm=50.0),
                                     modality="CT", patient_id="P1")
    assert not planes[0].crop_box["tumour_fits"]


def test_meta_json_records_mm_per_pixel(tmp_path, spheres) -> None:
    import json

    import pandas as pd

    from mmdlm.radiology.pipeline import extract_patient

    image, mask = spheres[40.0]
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(mask, str(tmp_path / "mask.nii.gz"))
    rows = pd.DataFrame([{"patient_id": "P1", "kind": "nifti", "path": str(tmp_path / "ct.nii.gz"),
                          "modality": "CT", "plane": "", "mask_path": str(tmp_path / "mask.nii.gz")}])
    extract_patient("P1", rows, tmp_path / "RAD", RadiologyConfig(image_size=40, field_of_view_mm=120.0))
    meta = json.loads((tmp_path / "RAD" / "P1" / "meta.json").read_text())
    assert meta["crop"] == "fixed_fov" and meta["field_of_view_mm"] == 120.0
    assert meta["mm_per_pixel"] == pytest.approx(3.0)
    assert [p["mm_per_pixel"] for p in meta["planes"].values()] == pytest.approx([3.0, 3.0, 3.0])

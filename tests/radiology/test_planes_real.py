"""Planes of maximum diameter on real masks, checked against an independent brute force (nibabel, all pairs).

The brute force reads the NIfTI with nibabel in RAS+ canonical order, takes every slice of every plane, and
measures the largest distance between any two tumour pixel centres in mm; indices are mapped to the LPS order
mmdlm reports (S = z, P = flipped y, L = flipped x).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.distance import pdist

from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.planes import mask_diameter_planes, max_diameter_planes


def brute_force_planes(
    ras: np.ndarray, zooms: tuple[float, float, float]
) -> dict[str, tuple[list[int], float]]:
    """Per plane: (LPS slice indices reaching the maximum, max diameter mm) of a RAS [x, y, z] mask."""
    nx, ny, _ = ras.shape
    out = {}
    for plane, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
        sp = [zooms[a] for a in range(3) if a != axis]
        diam = []
        for k in range(ras.shape[axis]):
            pts = np.argwhere(np.take(ras, k, axis=axis)) * np.asarray(sp)
            diam.append(float(pdist(pts).max()) if len(pts) > 1 else 0.0)
        diam = np.asarray(diam)
        best = np.flatnonzero(np.isclose(diam, diam.max(), rtol=1e-9))
        to_lps = {"axial": lambda k: k, "coronal": lambda k: ny - 1 - k, "sagittal": lambda k: nx - 1 - k}[
            plane
        ]
        out[plane] = (sorted(int(to_lps(k)) for k in best), float(diam.max()))
    return out


def canonical_mask(img: nib.Nifti1Image, labels: tuple[int, ...]) -> tuple[np.ndarray, tuple[float, ...]]:
    can = nib.as_closest_canonical(img)
    assert nib.aff2axcodes(can.affine) == ("R", "A", "S")
    data = np.asanyarray(can.dataobj)
    return np.isin(data, labels), tuple(float(z) for z in can.header.get_zooms()[:3])


def check_against_brute_force(planes, expected) -> None:
    assert [p.plane for p in planes] == ["axial", "coronal", "sagittal"]
    for p in planes:
        indices, diameter = expected[p.plane]
        assert p.diameter_mm == pytest.approx(diameter, rel=1e-9), p.plane
        assert p.slice_index in indices, (p.plane, p.slice_index, indices)


@pytest.fixture(scope="module")
def ct_dir(shared_data: Path) -> Path:
    return shared_data / "ct"


@pytest.mark.parametrize(
    ("mask_name", "labels"),
    [
        ("example_seg_fast_kidney_left.nii.gz", ()),
        ("example_seg_fast_kidney_right.nii.gz", ()),
        ("example_seg.nii.gz", (2,)),  # TotalSegmentator label 2 = right kidney
        ("example_seg.nii.gz", (3,)),  # label 3 = left kidney
    ],
)
def test_totalsegmentator_kidney_as_lesion(ct_dir: Path, mask_name: str, labels: tuple[int, ...]) -> None:
    ct = sitk.ReadImage(str(ct_dir / "example_ct_sm.nii.gz"))
    mask = sitk.ReadImage(str(ct_dir / mask_name))
    cfg = RadiologyConfig(mask_labels=labels, image_size=96, crop="bbox", margin_mm=10.0)
    planes = max_diameter_planes(ct, mask, cfg, modality="CT", patient_id="TS")
    ras, zooms = canonical_mask(nib.load(ct_dir / mask_name), labels or tuple(range(1, 256)))
    assert zooms == (3.0, 3.0, 3.0)
    expected = brute_force_planes(ras, zooms)
    check_against_brute_force(planes, expected)
    for p in planes:
        assert 30.0 < p.diameter_mm < 150.0  # a kidney, in mm
        assert p.pixels.shape == (96, 96) and p.pixels.dtype == np.uint8
        # The crop holds the kidney's bounding box plus the margin, centred, in square mm.
        box = p.crop_box
        assert box["row_min"] <= box["tumour_rows"][0] and box["tumour_rows"][1] <= box["row_max"]
        assert box["col_min"] <= box["tumour_cols"][0] and box["tumour_cols"][1] <= box["col_max"]
        assert box["side_mm"] == pytest.approx(
            max(np.diff(box["tumour_rows"])[0] + 1, np.diff(box["tumour_cols"])[0] + 1) * 3.0 + 20.0
        )
    # Mask-only computation agrees with the image path.
    only = mask_diameter_planes(mask, labels)
    assert [(p.plane, p.slice_index, p.diameter_mm) for p in only] == [
        (p.plane, p.slice_index, p.diameter_mm) for p in planes
    ]


def test_kidney_plane_rendering_is_windowed_ct(ct_dir: Path) -> None:
    """The kidney crop is soft tissue: W400/L40 puts the kidney parenchyma mid-grey, not black or white."""
    ct = sitk.ReadImage(str(ct_dir / "example_ct_sm.nii.gz"))
    mask = sitk.ReadImage(str(ct_dir / "example_seg_fast_kidney_left.nii.gz"))
    cfg = RadiologyConfig(image_size=64, crop="bbox", margin_mm=0.0)
    planes = max_diameter_planes(ct, mask, cfg, modality="CT")
    axial = planes[0]
    centre = axial.pixels[24:40, 24:40]
    assert 90 < float(np.median(centre)) < 230  # ~0..200 HU -> 102..230


@pytest.mark.parametrize("case", ["case_00000", "case_00004", "case_00010"])
def test_kits_tumour_planes_mask_only(shared_data: Path, case: str) -> None:
    path = shared_data / "kits19" / f"{case}_segmentation.nii.gz"
    img = nib.load(path)
    data = np.asanyarray(img.dataobj)
    if case == "case_00000":
        assert data.shape == (611, 512, 512)
    # Crop both readers to the tumour's bounding box (+1 voxel) so the brute force stays fast.
    tumour = data == 2
    span = [np.flatnonzero(tumour.any(axis=tuple(b for b in range(3) if b != a))) for a in range(3)]
    lo = np.maximum([s[0] - 1 for s in span], 0)
    hi = np.minimum([s[-1] + 2 for s in span], data.shape)
    crop_nib = img.slicer[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    mask = sitk.ReadImage(str(path))[
        int(lo[0]) : int(hi[0]), int(lo[1]) : int(hi[1]), int(lo[2]) : int(hi[2])
    ]  # NIfTI axis i = SimpleITK index axis i
    assert mask.GetSize() == tuple(int(h - lo_) for h, lo_ in zip(hi, lo, strict=True))
    planes = mask_diameter_planes(mask, labels=(2,))
    ras, zooms = canonical_mask(crop_nib, (2,))
    check_against_brute_force(planes, brute_force_planes(ras, zooms))
    for p in planes:
        assert 10.0 < p.diameter_mm < 200.0
    # Kidney (label 1) + tumour (2) together are larger than the tumour alone.
    both = mask_diameter_planes(mask, labels=(1, 2))
    assert all(b.diameter_mm >= p.diameter_mm for b, p in zip(both, planes, strict=True))

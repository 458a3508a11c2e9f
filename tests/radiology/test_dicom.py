"""DICOM reading: the real JPEG 2000 CT series, single slices, bad series (several series, missing slices)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from mmdlm.errors import MmdlmError
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.dicom import MODALITY_KEY, SERIES_UID_KEY, read_dicom_series, read_dicom_slice
from mmdlm.radiology.images import read_ready_image
from mmdlm.radiology.warn import RadiologyWarning


@pytest.fixture(scope="module")
def j2k_folder(shared_data: Path) -> Path:
    folder = shared_data / "ct" / "example_ct_dicom"
    if not folder.is_dir():
        pytest.skip("example_ct_dicom missing")
    return folder


@pytest.fixture(scope="module")
def j2k_image(j2k_folder: Path) -> sitk.Image:
    return read_dicom_series(j2k_folder, "P1")


def test_jpeg2000_series_geometry_and_hu(j2k_folder: Path, j2k_image: sitk.Image) -> None:
    first = pydicom.dcmread(next(iter(sorted(j2k_folder.iterdir()))), stop_before_pixels=True)
    assert first.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.90"  # JPEG 2000 lossless
    image = j2k_image
    assert image.GetSize() == (512, 512, 20)
    sx, sy, sz = image.GetSpacing()
    assert sx == pytest.approx(0.9765625) and sy == pytest.approx(0.9765625)
    assert round(sx, 2) == 0.98
    assert sz == pytest.approx(2.0)
    assert image.GetDirection() == pytest.approx((1, 0, 0, 0, 1, 0, 0, 0, 1))
    # Sorted by position along the normal: origin is the lowest slice (z = -804.5 of -766.5 .. -804.5).
    assert image.GetOrigin() == pytest.approx((-249.51171875, -437.51171875, -804.5))
    hu = sitk.GetArrayViewFromImage(image)
    assert hu.min() == pytest.approx(-1024.0)  # air outside the reconstruction circle, RescaleIntercept -1024
    assert 1000 < hu.max() < 3100  # bone, not raw stored values
    assert -1000 < float(np.median(hu)) < 100  # abdomen: air around, soft tissue in the body
    soft = np.mean((hu > -100) & (hu < 100))
    assert 0.15 < soft < 0.6
    assert image.GetMetaData(MODALITY_KEY) == "CT"
    assert image.GetMetaData(SERIES_UID_KEY) == ""  # this anonymised series has an empty UID


def test_jpeg2000_series_equals_simpleitk_reader(j2k_folder: Path, j2k_image: sitk.Image) -> None:
    """An independent reader (SimpleITK/GDCM) gives the same voxels and geometry."""
    ours = j2k_image
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(j2k_folder)))
    ref = reader.Execute()
    assert ours.GetSize() == ref.GetSize()
    assert ours.GetSpacing() == pytest.approx(ref.GetSpacing())
    assert ours.GetOrigin() == pytest.approx(ref.GetOrigin())
    assert ours.GetDirection() == pytest.approx(ref.GetDirection())
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ours), sitk.GetArrayViewFromImage(ref))


def test_pydicom_ct_slice_is_a_ready_image(shared_data: Path) -> None:
    path = shared_data / "ct" / "pydicom_CT_small.dcm"
    sl = read_dicom_slice(path)
    assert sl.pixels.shape == (128, 128)
    assert sl.spacing == pytest.approx((0.661468, 0.661468))
    assert sl.modality == "CT"
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(sl.pixels, hu)
    cfg = RadiologyConfig(image_size=64)
    pixels, info = read_ready_image(path, cfg)
    assert pixels.shape == (64, 64) and pixels.dtype == np.uint8
    assert info["source"] == "dicom_slice" and info["modality"] == "CT"
    # W400/L40: HU <= -160 -> 0, >= 240 -> 255; the slice holds both air/fat and bone.
    assert pixels.min() == 0 and pixels.max() == 255
    big = read_ready_image(path, RadiologyConfig(image_size=128))[0]
    expected = np.clip((hu + 160) / 400, 0, 1) * 255  # same grid at 128 px (square, same field): compare
    assert np.abs(big.astype(float) - expected).mean() < 3.0


def test_series_sorted_by_position_with_rescale(tmp_path: Path, series_writer, make_phantom) -> None:
    hu, _ = make_phantom()
    series_writer(tmp_path / "s", hu, slope=0.5, intercept=-1000.0)
    image = read_dicom_series(tmp_path / "s")
    np.testing.assert_allclose(sitk.GetArrayViewFromImage(image), hu, atol=0.5)
    assert image.GetSpacing() == pytest.approx((2.0, 1.5, 3.0))
    assert image.GetOrigin() == pytest.approx((-40.0, -30.0, 100.0))


def test_two_series_in_one_folder(tmp_path: Path, series_writer, make_phantom) -> None:
    hu, _ = make_phantom()
    series_writer(tmp_path / "s", hu, series_uid="1.2.3.4.1")
    series_writer(tmp_path / "s" / "other", hu[:5], series_uid="1.2.3.4.2")
    with pytest.raises(MmdlmError) as err:
        read_dicom_series(tmp_path / "s", "TCGA-XX-0001")
    msg = err.value.one_line()
    assert "2 DICOM series" in msg and "1.2.3.4.1: 20 files" in msg and "1.2.3.4.2: 5 files" in msg
    assert err.value.patient == "TCGA-XX-0001" and err.value.field == "SeriesInstanceUID"
    assert err.value.file == str(tmp_path / "s")
    with pytest.warns(RadiologyWarning, match="using the largest, 1.2.3.4.1"):
        image = read_dicom_series(tmp_path / "s", "TCGA-XX-0001", multi_series="largest")
    assert image.GetSize()[2] == 20


def test_missing_slice(tmp_path: Path, series_writer, make_phantom) -> None:
    hu, _ = make_phantom()
    series_writer(tmp_path / "s", hu, skip=(7,))
    with pytest.raises(MmdlmError) as err:
        read_dicom_series(tmp_path / "s", "TCGA-XX-0002")
    e = err.value
    assert e.patient == "TCGA-XX-0002" and e.field == "ImagePositionPatient"
    assert "missing slice" in e.message and "gap of 6 mm" in e.message and "median spacing 3 mm" in e.message
    # The file named is the slice right after the gap (z = 100 + 8 * 3).
    assert pydicom.dcmread(e.file).ImagePositionPatient[2] == pytest.approx(124.0)


def test_bad_files_in_series_folder(tmp_path: Path, series_writer, make_phantom) -> None:
    hu, _ = make_phantom(shape=(6, 20, 20), centre=(3, 10, 10), radii=(2, 4, 4))
    series_writer(tmp_path / "s", hu)
    (tmp_path / "s" / "notes.txt").write_text("not dicom")
    with pytest.warns(RadiologyWarning, match="not a DICOM file; ignored"):
        assert read_dicom_series(tmp_path / "s").GetSize() == (20, 20, 6)
    (tmp_path / "s" / "broken.dcm").write_bytes(b"\x00" * 10)
    with pytest.raises(MmdlmError, match="not a readable DICOM file"):
        read_dicom_series(tmp_path / "s")
    shutil.rmtree(tmp_path / "s")
    (tmp_path / "s").mkdir()
    with pytest.raises(MmdlmError, match="no DICOM image files"):
        read_dicom_series(tmp_path / "s", "P")


def test_file_without_an_image_is_ignored_with_a_warning(tmp_path: Path, series_writer, make_phantom) -> None:
    hu, _ = make_phantom(shape=(5, 16, 16), centre=(2, 8, 8), radii=(2, 3, 3))
    series_writer(tmp_path / "s", hu)
    report = pydicom.Dataset()
    report.file_meta = pydicom.dataset.FileMetaDataset()
    report.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    report.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # basic text SR
    report.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    report.Modality = "SR"
    report.save_as(tmp_path / "s" / "report.dcm", enforce_file_format=True)
    with pytest.warns(RadiologyWarning, match="report.dcm.*DICOM file without an image"):
        assert read_dicom_series(tmp_path / "s").GetSize() == (16, 16, 5)

"""Synthetic radiology: TCIA-layout DICOM (HU rescale, geometry), mask on the same grid and on the tumour."""

from __future__ import annotations

import csv

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.uid import CTImageStorage, MRImageStorage


def _series(out, pid):
    folders = [p for p in (out / "radiology" / pid).glob("*/*") if p.is_dir()]
    assert len(folders) == 1
    return folders[0]


def _truth(out):
    with (out / "truth.csv").open() as fh:
        return {r["patient_id"]: r for r in csv.DictReader(fh)}


def test_dicom_series_attributes_and_volume(cohort, small_cfg):
    out, _ = cohort
    truth = _truth(out)
    modalities = set()
    for pid, row in truth.items():
        folder = _series(out, pid)
        files = sorted(folder.glob("*.dcm"), key=lambda p: int(p.stem))
        datasets = [pydicom.dcmread(f) for f in files]
        ds0 = datasets[0]
        assert folder.name == ds0.SeriesInstanceUID and folder.parent.name == ds0.StudyInstanceUID
        assert {d.SeriesInstanceUID for d in datasets} == {ds0.SeriesInstanceUID}
        assert len({d.SOPInstanceUID for d in datasets}) == len(files)
        assert [d.InstanceNumber for d in datasets] == list(range(1, len(files) + 1))
        assert ds0.Modality == row["modality"]
        modalities.add(ds0.Modality)
        assert ds0.PatientID == pid and str(ds0.PatientName).startswith("SYNTH^")
        assert ds0.InstitutionName == "Synthetic Hospital" and ds0.PatientBirthDate
        assert list(map(float, ds0.ImageOrientationPatient)) == [1, 0, 0, 0, 1, 0]
        z = sorted(float(d.ImagePositionPatient[2]) for d in datasets)
        assert np.allclose(np.diff(z), float(ds0.SliceThickness))
        if ds0.Modality == "CT":
            assert ds0.SOPClassUID == CTImageStorage
            assert float(ds0.PixelSpacing[0]) == small_cfg.ct_pixel_mm
            assert len(files) == small_cfg.ct_slices
            hu = np.stack(
                [d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in datasets]
            )
            assert hu.min() < -900  # air
            assert 300 < hu.max() < 1500  # bone, no absurd values
            assert ((hu > -150) & (hu < -50)).mean() > 0.02  # fat
        else:
            assert ds0.SOPClassUID == MRImageStorage
            assert "RescaleSlope" not in ds0
    assert modalities == {"CT", "MR"}


def _read_series(folder):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def test_mask_is_on_the_series_grid_and_on_the_tumour(cohort):
    out, _ = cohort
    truth = _truth(out)
    for pid, row in truth.items():
        img = _read_series(_series(out, pid))
        mask = sitk.ReadImage(str(out / "radiology" / pid / "tumour_mask.nii.gz"))
        assert img.GetSize() == mask.GetSize()
        assert np.allclose(img.GetOrigin(), mask.GetOrigin(), atol=1e-3)
        assert np.allclose(img.GetSpacing(), mask.GetSpacing(), atol=1e-3)
        assert np.allclose(img.GetDirection(), mask.GetDirection(), atol=1e-6)
        vol = sitk.GetArrayFromImage(img).astype(float)
        m = sitk.GetArrayFromImage(mask).astype(bool)
        voxel_ml = np.prod(img.GetSpacing()) / 1000.0
        # the mask volume is the ellipsoid of truth.csv (coarse grid: within 35%)
        assert abs(m.sum() * voxel_ml / float(row["tumour_volume_ml"]) - 1) < 0.35
        inside = vol[m]
        shell = sitk.GetArrayFromImage(sitk.BinaryDilate(mask, [3, 3, 1])).astype(bool) & ~m
        if row["modality"] == "CT":
            assert 60 < np.median(inside) < 170  # enhancing soft-tissue tumour, HU
            assert np.median(inside) > np.median(vol[shell]) + 20 or np.median(vol[shell]) > 150
        else:
            assert 150 < np.median(inside) < 500


def test_mask_world_coordinates_match_the_dicom(cohort):
    """The mask centroid in LPS (SimpleITK) equals the centroid computed from the DICOM geometry by hand."""
    out, _ = cohort
    pid = sorted(_truth(out))[0]
    folder = _series(out, pid)
    datasets = [pydicom.dcmread(f) for f in folder.glob("*.dcm")]
    datasets.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    mask = sitk.ReadImage(str(out / "radiology" / pid / "tumour_mask.nii.gz"))
    m = sitk.GetArrayFromImage(mask)
    zc, yc, xc = (np.nonzero(m)[k].mean() for k in range(3))
    sp = float(datasets[0].PixelSpacing[0])
    ipp = np.array([float(v) for v in datasets[0].ImagePositionPatient])
    by_hand = ipp + np.array([xc * sp, yc * sp, float(datasets[round(zc)].ImagePositionPatient[2]) - ipp[2]])
    via_itk = np.array(mask.TransformContinuousIndexToPhysicalPoint((xc, yc, zc)))
    assert np.allclose(by_hand[:2], via_itk[:2], atol=1e-3)
    assert abs(by_hand[2] - via_itk[2]) <= float(datasets[0].SliceThickness) / 2 + 1e-3

"""Slides and radiology folders: GDC / flat / TCIA layouts, the mapping file, real DICOM headers and NIfTI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmdlm.cohort.matching import read_mapping, tcga_patient
from mmdlm.cohort.radiology_folder import plane_from_orientation, scan_radiology
from mmdlm.cohort.slides_folder import scan_slides
from mmdlm.errors import MmdlmError

EXT = (".svs", ".tif", ".tiff")


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def link(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)
    return dst


def test_tcga_patient():
    assert tcga_patient("TCGA-B0-5081-01Z-00-DX1.5d0f.svs") == "TCGA-B0-5081"
    assert tcga_patient("tcga-b0-5081-01A") == "TCGA-B0-5081"
    assert tcga_patient("XTCGA-B0-50811") is None and tcga_patient("slide_7.svs") is None


def test_slides_gdc_and_flat(tmp_path):
    root = tmp_path / "slides"
    touch(root / "0f1e-uuid" / "TCGA-AA-0001-01Z-00-DX1.0F1E.svs")
    touch(root / "77aa-uuid" / "TCGA-AA-0001-01Z-00-DX2.77AA.svs")
    touch(root / "TCGA-AA-0002-01Z-00-DX1.CC.tiff")  # flat
    touch(root / "0f1e-uuid" / "annotations.txt")  # not a slide
    touch(root / ".partial" / "TCGA-AA-0003-01Z-00-DX1.DD.svs")  # hidden: skipped
    scan = scan_slides(root, {"TCGA-AA-0001", "TCGA-AA-0002", "TCGA-AA-0003"}, EXT)
    t = scan.table.sort_values("slide_id")
    assert t["patient_id"].tolist() == ["TCGA-AA-0001", "TCGA-AA-0001", "TCGA-AA-0002"]
    assert t["slide_id"].tolist()[2] == "TCGA-AA-0002-01Z-00-DX1.CC"
    assert all(Path(p).is_absolute() for p in t["path"]) and scan.unmatched == []


def test_slides_duplicate_slide_id(tmp_path):
    touch(tmp_path / "a" / "TCGA-AA-0001-01Z-00-DX1.X.svs")
    touch(tmp_path / "b" / "TCGA-AA-0001-01Z-00-DX1.X.svs")
    with pytest.raises(MmdlmError) as exc:
        scan_slides(tmp_path, {"TCGA-AA-0001"}, EXT)
    assert exc.value.field == "slide_id"


def test_mapping_file(tmp_path):
    root = tmp_path / "slides"
    touch(root / "hospital" / "scan_17.svs")
    touch(root / "scan_18.svs")
    touch(root / "scan_19.svs")
    mapping = tmp_path / "map.csv"
    mapping.write_text("file,patient_id\nhospital/scan_17.svs,H-1\nscan_18.svs,H-2\nscan_19.svs,H-404\n")
    scan = scan_slides(root, {"H-1", "H-2"}, EXT, read_mapping(mapping))
    assert dict(zip(scan.table["slide_id"], scan.table["patient_id"], strict=True)) == {
        "scan_17": "H-1",
        "scan_18": "H-2",
    }
    assert [Path(p).name for p in scan.unmatched] == ["scan_19.svs"]  # maps to a patient not in the study
    mapping.write_text("file,patient_id\nscan_18.svs,H-1\nscan_18.svs,H-2\n")
    with pytest.raises(MmdlmError) as exc:
        read_mapping(mapping)
    assert exc.value.field == "file" and exc.value.row == 3


@pytest.mark.parametrize(
    ("iop", "plane"),
    [
        ([1, 0, 0, 0, 1, 0], "axial"),
        ([1, 0, 0, 0, 0, -1], "coronal"),
        ([0, 1, 0, 0, 0, -1], "sagittal"),
        (None, ""),
        ([1, 0, 0, 1, 0, 0], ""),
    ],
)
def test_plane_from_orientation(iop, plane):
    assert plane_from_orientation(iop) == plane


def test_radiology_tcia_layout_real_dicom(shared_data, tmp_path):
    """Real DICOM series (JPEG 2000, bare UID file names) in TCIA layout, a NIfTI volume and a mask."""
    ct = shared_data / "ct"
    root = tmp_path / "radiology"
    series = root / "TCGA-AA-0001" / "1.2.3.study" / "1.2.3.series"
    for f in sorted((ct / "example_ct_dicom").iterdir()):
        link(f, series / f.name)
    link(ct / "example_seg_fast_kidney_left.nii.gz", root / "TCGA-AA-0001" / "tumour_mask.nii.gz")
    link(ct / "example_seg.nii.gz", root / "TCGA-AA-0001" / "organs_seg.nii.gz")  # a second mask candidate
    link(ct / "example_ct_sm.nii.gz", root / "TCGA-AA-0002" / "ct_volume.nii.gz")
    link(ct / "pydicom_CT_small.dcm", root / "stray" / "x" / "1.dcm")  # PatientID 1CT1: no patient
    scan = scan_radiology(root, {"TCGA-AA-0001", "TCGA-AA-0002"})
    t = scan.table.set_index("patient_id")
    assert t.loc["TCGA-AA-0001", "kind"] == "dicom_series" and t.loc["TCGA-AA-0001", "modality"] == "CT"
    assert t.loc["TCGA-AA-0001", "plane"] == "axial"
    assert t.loc["TCGA-AA-0001", "path"] == str(series.resolve())
    assert t.loc["TCGA-AA-0001", "mask_path"].endswith("TCGA-AA-0001/tumour_mask.nii.gz")
    assert (t.loc["TCGA-AA-0002", "kind"], t.loc["TCGA-AA-0002", "modality"]) == ("nifti", "CT")
    assert t.loc["TCGA-AA-0002", "mask_path"] == ""
    assert [Path(p).name for p in scan.unmatched] == ["x"]


def test_radiology_patient_from_dicom_tag_and_skipped_modality(shared_data, tmp_path):
    import pydicom

    root = tmp_path / "radiology"
    ds = pydicom.dcmread(shared_data / "ct" / "pydicom_CT_small.dcm")
    ds.save_as(root.joinpath("series_a").mkdir(parents=True) or root / "series_a" / "1.dcm")
    ds.PatientID, ds.Modality = "1CT1", "SEG"
    ds.save_as(root.joinpath("series_b").mkdir() or root / "series_b" / "1.dcm")
    scan = scan_radiology(root, {"1CT1"})
    assert scan.table["patient_id"].tolist() == ["1CT1"]  # matched through the PatientID tag
    assert scan.skipped_modalities == {"SEG": 1}
    assert any("other modalities" in w for w in scan.warnings)


def test_radiology_unreadable_dicom_is_named(tmp_path):
    bad = touch(tmp_path / "r" / "TCGA-AA-0001" / "s" / "1.dcm", b"not dicom at all")
    with pytest.raises(MmdlmError) as exc:
        scan_radiology(tmp_path / "r", {"TCGA-AA-0001"})
    assert exc.value.file == str(bad)

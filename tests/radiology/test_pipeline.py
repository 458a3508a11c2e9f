"""The cohort runner and `mmdlm radiology`: store layout, index, reruns, bad input, and privacy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from PIL import Image, PngImagePlugin

from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.pipeline import extract_cohort
from mmdlm.radiology.store import read_index

SPACING = (2.0, 1.5, 3.0)
ORIGIN = (-40.0, -30.0, 100.0)


@pytest.fixture
def cohort(tmp_path: Path, series_writer, make_phantom, make_mask_image, write_cohort, identity, shared_data):
    """Four patients: DICOM series + mask (identifying attributes), NIfTI + mask, ready images, no mask."""
    root = tmp_path / "cohort"
    hu, mask = make_phantom()
    uid = series_writer(root / "radiology" / "TCGA-AA-0001" / "study" / "series", hu, identity=identity)
    sitk.WriteImage(
        make_mask_image(mask, SPACING, ORIGIN), str(root / "radiology" / "TCGA-AA-0001" / "m.nii.gz")
    )
    vol = sitk.GetImageFromArray(hu)
    vol.SetSpacing(SPACING)
    vol.SetOrigin(ORIGIN)
    (root / "nifti").mkdir(parents=True)
    sitk.WriteImage(sitk.Cast(vol, sitk.sitkInt16), str(root / "nifti" / "ct.nii.gz"))
    sitk.WriteImage(make_mask_image(mask, SPACING, ORIGIN, label=2), str(root / "nifti" / "seg.nii.gz"))
    # A PNG carrying identifying text chunks: only its pixels may be used.
    info = PngImagePlugin.PngInfo()
    for key, value in identity.items():
        info.add_text(key, value)
    Image.fromarray((np.arange(60 * 40).reshape(60, 40) % 251).astype(np.uint8)).save(
        root / "chosen_coronal.png", pnginfo=info
    )
    series_writer(root / "radiology" / "TCGA-AA-0004" / "s", hu[:6], identity=identity)
    rows = [
        {
            "patient_id": "TCGA-AA-0001",
            "path": "radiology/TCGA-AA-0001/study/series",
            "kind": "dicom_series",
            "modality": "CT",
            "mask_path": "radiology/TCGA-AA-0001/m.nii.gz",
        },
        {
            "patient_id": "TCGA-AA-0002",
            "path": "nifti/ct.nii.gz",
            "kind": "nifti",
            "modality": "CT",
            "mask_path": "nifti/seg.nii.gz",
        },
        {
            "patient_id": "TCGA-AA-0003",
            "path": str(shared_data / "ct" / "pydicom_CT_small.dcm"),
            "kind": "image",
            "modality": "CT",
            "plane": "axial",
        },
        {
            "patient_id": "TCGA-AA-0003",
            "path": "chosen_coronal.png",
            "kind": "image",
            "modality": "CT",
            "plane": "coronal",
        },
        {
            "patient_id": "TCGA-AA-0004",
            "path": "radiology/TCGA-AA-0004/s",
            "kind": "dicom_series",
            "modality": "CT",
        },
    ]
    write_cohort(root, rows)
    return root, uid


def test_cli_writes_the_store(tmp_path: Path, cohort, run_cli) -> None:
    root, uid = cohort
    rad = tmp_path / "RAD"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("radiology:\n  image_size: 40\n  crop: bbox\n  margin_mm: 6.0\n  mask_labels: []\n")
    code, out, err = run_cli("radiology", "--cohort", root, "--out", rad, "--config", cfg)
    assert code == 0, err
    assert "4 patients: 3 extracted, 0 fresh (skipped), 1 without mask, 0 failed; 8 images" in out
    assert "patient TCGA-AA-0004: volume without a tumour mask" in err
    index = read_index(rad)
    assert len(index) == 8
    assert index.groupby("patient_id")["plane"].apply(list).to_dict() == {
        "TCGA-AA-0001": ["axial", "coronal", "sagittal"],
        "TCGA-AA-0002": ["axial", "coronal", "sagittal"],
        "TCGA-AA-0003": ["axial", "coronal"],
    }
    for path in index["path"]:
        with Image.open(path) as im:
            assert im.mode == "L" and im.size == (40, 40)
    vol = index[index.patient_id == "TCGA-AA-0001"].set_index("plane")
    nii = index[index.patient_id == "TCGA-AA-0002"].set_index("plane")
    # The same phantom read from DICOM and from NIfTI gives the same planes and diameters.
    pd.testing.assert_frame_equal(vol[["diameter_mm", "slice_index"]], nii[["diameter_mm", "slice_index"]])
    assert vol.loc["axial", "slice_index"] == 9 and vol.loc["axial", "diameter_mm"] == pytest.approx(48.0)
    assert index[index.patient_id == "TCGA-AA-0003"]["diameter_mm"].isna().all()
    meta = json.loads((rad / "TCGA-AA-0001" / "meta.json").read_text())
    assert meta["series_uid"] == uid and meta["modality"] == "CT" and meta["source_kind"] == "dicom_series"
    assert meta["spacing_mm"] == {"S": 3.0, "P": 1.5, "L": 2.0}
    assert meta["planes"]["axial"]["crop_box"]["side_mm"] == pytest.approx(25 * 2.0 + 12.0)
    summary = json.loads((rad / "summary.json").read_text())
    assert summary["counts"] == {"done": 3, "fresh": 0, "no_mask": 1, "failed": 0}
    assert summary["from_volume"] == 2 and summary["from_images"] == 1 and summary["planes"]["sagittal"] == 2
    # Rerun: nothing changed -> fresh; --force redoes.
    code, out, _ = run_cli("radiology", "--cohort", root, "--out", rad, "--config", cfg)
    assert code == 0 and "0 extracted, 3 fresh (skipped)" in out
    code, out, _ = run_cli("radiology", "--cohort", root, "--out", rad, "--config", cfg, "--force", "--quiet")
    assert code == 0 and out == ""
    assert json.loads((rad / "summary.json").read_text())["counts"]["done"] == 3
    assert not [p for p in rad.iterdir() if ".tmp-" in p.name]


def test_no_identifying_attribute_in_any_output(tmp_path: Path, cohort, identity, run_cli) -> None:
    root, _ = cohort
    # A ready DICOM slice carrying the identifying attributes too.
    src = next((root / "radiology" / "TCGA-AA-0001" / "study" / "series").glob("*.dcm"))
    shutil.copy(src, root / "slice.dcm")
    radiology = pd.read_csv(root / "radiology.csv", dtype=str, keep_default_na=False)
    extra = {
        "patient_id": "TCGA-AA-0004",
        "path": "slice.dcm",
        "kind": "image",
        "modality": "CT",
        "plane": "axial",
        "mask_path": "",
    }
    pd.concat([radiology, pd.DataFrame([extra])]).to_csv(root / "radiology.csv", index=False)
    rad = tmp_path / "RAD"
    code, _, err = run_cli("radiology", "--cohort", root, "--out", rad, "-q")
    assert code == 0, err
    files = [p for p in rad.rglob("*") if p.is_file()]
    assert len([p for p in files if p.suffix == ".png"]) == 9
    needles = [v for v in identity.values()] + ["Doe", "Quincy", "Secretive", "Saint Example", "19610203"]
    for needle in needles:  # the scan can see them: every value is in the input files
        assert needle.encode().lower() in src.read_bytes().lower()
        assert needle.encode().lower() in (root / "chosen_coronal.png").read_bytes().lower()
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode().lower() not in data.lower(), (path, needle)
    for path in rad.rglob("*.png"):
        with Image.open(path) as im:
            assert not im.info and not getattr(im, "text", {})  # no text/metadata chunks at all
    # Messages shown to the user carry the cohort ID, never the DICOM PatientID.
    assert identity["PatientID"] not in err


def _one_patient_cohort(
    root: Path, case: str, series_writer, make_phantom, make_mask_image, write_cohort
) -> str:
    """A one-patient cohort broken in the way `case` names; returns the file the error must name."""
    hu, mask = make_phantom()
    series = root / "radiology" / "TCGA-BB-0001" / "series"
    mask_path = root / "radiology" / "TCGA-BB-0001" / "tumour_mask.nii.gz"
    series_writer(series, hu, skip=(5,) if case == "missing_slice" else ())
    if case == "two_series":
        series_writer(series / "extra", hu[:4], series_uid="1.2.3.999")
    origin = (-40.0, -30.0, 100.0 + (900.0 if case == "mask_elsewhere" else 0.0))
    sitk.WriteImage(make_mask_image(mask * (case != "empty_mask"), SPACING, origin), str(mask_path))
    write_cohort(
        root,
        [
            {
                "patient_id": "TCGA-BB-0001",
                "path": str(series),
                "kind": "dicom_series",
                "modality": "CT",
                "mask_path": str(mask_path),
            }
        ],
    )
    return {"missing_slice": str(series / "IM"), "two_series": str(series)}.get(case, str(mask_path))


@pytest.mark.parametrize(
    ("case", "field", "words"),
    [
        ("missing_slice", "ImagePositionPatient", "missing slice(s): gap of 6 mm"),
        ("two_series", "SeriesInstanceUID", "folder holds 2 DICOM series"),
        ("mask_elsewhere", "mask_path", "mask does not overlap its image"),
        ("empty_mask", "mask_path", "mask has no tumour (nonzero voxels)"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(
    tmp_path: Path, case, field, words, series_writer, make_phantom, make_mask_image, write_cohort, run_cli
) -> None:
    named = _one_patient_cohort(
        tmp_path / "c", case, series_writer, make_phantom, make_mask_image, write_cohort
    )
    rad = tmp_path / "RAD"
    code, _, err = run_cli("radiology", "--cohort", tmp_path / "c", "--out", rad, "-q")
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("mmdlm: error:")]
    assert len(lines) == 1, err
    line = lines[0]
    assert "1 of 1 patients failed" in line and "patient TCGA-BB-0001" in line and f"field {field}" in line
    assert words in line and f"file {named}" in line
    summary = json.loads((rad / "summary.json").read_text())
    assert summary["counts"]["failed"] == 1 and summary["failed"][0]["patient_id"] == "TCGA-BB-0001"
    assert read_index(rad).empty and not (rad / "TCGA-BB-0001").exists()


def test_a_failed_patient_does_not_stop_the_others(
    tmp_path: Path, cohort, series_writer, make_phantom, run_cli
) -> None:
    root, _ = cohort
    hu, _ = make_phantom()
    series = root / "radiology" / "TCGA-AA-0001" / "study" / "series"
    shutil.rmtree(series)
    series_writer(series, hu, skip=(5,))
    rad = tmp_path / "RAD"
    code, _, err = run_cli("radiology", "--cohort", root, "--out", rad, "-q")
    assert code == 2 and "1 of 4 patients failed" in err and "patient TCGA-AA-0001" in err
    assert set(read_index(rad)["patient_id"]) == {"TCGA-AA-0002", "TCGA-AA-0003"}


def test_image_rows_need_a_plane(tmp_path: Path, shared_data: Path) -> None:
    table = pd.DataFrame(
        [
            {
                "patient_id": "P1",
                "path": str(shared_data / "ct" / "pydicom_CT_small.dcm"),
                "kind": "image",
                "modality": "CT",
                "plane": "",
                "mask_path": "",
            }
        ]
    )
    summary = extract_cohort(table, tmp_path / "RAD", RadiologyConfig(image_size=32))
    assert summary["counts"]["failed"] == 1
    reason = summary["failed"][0]["reason"]
    assert "patient P1" in reason and "field plane" in reason and "pydicom_CT_small.dcm" in reason


def test_unsafe_patient_id_is_refused(tmp_path: Path) -> None:
    from mmdlm.errors import MmdlmError

    table = pd.DataFrame([{"patient_id": "../evil", "path": "x", "kind": "image", "plane": "axial"}])
    with pytest.raises(MmdlmError, match="patient ID '../evil' contains a path separator"):
        extract_cohort(table, tmp_path / "RAD", RadiologyConfig())

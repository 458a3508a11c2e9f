"""load_manifest: typed tables, validation with file/row/patient/field, path resolution rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdlm.cohort.manifest import load_manifest
from mmdlm.errors import MmdlmError

PATIENTS = """patient_id,time,event,endpoint,label_5y,t_stage,n_stage,m_stage,grade,stage,age,sex
P1,70.5,0,DSS,0,1,0,0,2,1,60,male
P2,20,1,DSS,1,3,,0,3,3,55,female
P3,,,DSS,,2,1,1,4,4,71,male
"""


def write(
    root: Path,
    patients: str = PATIENTS,
    slides: str | None = None,
    radiology: str | None = None,
    alterations: str | None = None,
    features: list[str] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "patients.csv").write_text(patients)
    for name, text in (
        ("slides.csv", slides),
        ("radiology.csv", radiology),
        ("alterations.csv", alterations),
    ):
        if text is not None:
            (root / name).write_text(text)
    if features is not None:
        (root / "features.json").write_text(json.dumps({"features": features}))
    return root


def err_of(root: Path, **kw) -> MmdlmError:
    with pytest.raises(MmdlmError) as exc:
        load_manifest(root, **kw)
    return exc.value


def test_hand_written_manifest_loads(tmp_path):
    root = write(
        tmp_path / "c",
        slides="patient_id,slide_id,path\nP1,s1,slides/s1.svs\nP2,s2,/abs/s2.svs\n",
        radiology="patient_id,path,kind,modality,plane,mask_path\nP1,rad/P1,dicom_series,CT,axial,rad/P1/m.nii.gz\n",
        alterations="patient_id,VHL_mut,BAP1_mut\nP1,1,0\nP2,0,0\n",
        features=["VHL_mut", "BAP1_mut"],
    )
    m = load_manifest(root)
    assert m.root == root.resolve()
    assert list(m.patients["patient_id"]) == ["P1", "P2", "P3"]
    assert str(m.patients["event"].dtype) == "Int64" and m.patients["time"].dtype == float
    assert m.patients["n_stage"].isna().tolist() == [False, True, False]
    assert len(m.with_endpoint()) == 2
    assert m.endpoint == "DSS"
    assert m.slides["path"].tolist() == [str(root.resolve() / "slides/s1.svs"), "/abs/s2.svs"]
    assert m.radiology["mask_path"].iloc[0] == str(root.resolve() / "rad/P1/m.nii.gz")
    assert m.features == ["VHL_mut", "BAP1_mut"]
    assert m.alteration_vector("P1").tolist() == [1.0, 0.0] and m.alteration_vector("P3") is None
    av = m.availability()
    assert av.loc["P1"].tolist() == [True, True, True, True] and av.loc["P3"].tolist() == [False] * 4


def test_optional_files_absent(tmp_path):
    m = load_manifest(write(tmp_path / "c"))
    assert m.slides.empty and m.radiology.empty and m.alterations.empty and m.features == []


def test_patient_id_stays_a_string(tmp_path):
    m = load_manifest(write(tmp_path / "c", patients="patient_id,time,event\n007,1,0\n"))
    assert m.patients["patient_id"].tolist() == ["007"]


@pytest.mark.parametrize(
    ("patients", "field", "row", "word"),
    [
        ("patient_id,time\nP1,3\n", "event", None, "missing required column"),
        ("patient_id,time,event\nP1,3,0\nP1,4,1\n", "patient_id", 3, "duplicate"),
        ("patient_id,time,event\nP1,-3,0\n", "time", 2, "negative"),
        ("patient_id,time,event\nP1,abc,0\n", "time", 2, "not a number"),
        ("patient_id,time,event\nP1,3,2\n", "event", 2, "0 or 1"),
        ("patient_id,time,event\nP1,3,\n", "event", 2, "both"),
        ("patient_id,time,event\n,3,0\n", "patient_id", 2, "empty"),
        ("patient_id,time,event,grade\nP1,3,0,G2\n", "grade", 2, "not a number"),
        ("patient_id,time,event,endpoint\nP1,3,0,RFS\n", "endpoint", 2, "one of"),
    ],
)
def test_patients_validation(tmp_path, patients, field, row, word):
    err = err_of(write(tmp_path / "c", patients=patients))
    assert err.field == field and err.row == row and word in err.message
    assert err.file.endswith("patients.csv")


def test_relative_path_may_not_escape(tmp_path):
    root = write(tmp_path / "c", slides="patient_id,slide_id,path\nP1,s1,../outside.svs\n")
    err = err_of(root)
    assert (err.field, err.row, err.patient) == ("path", 2, "P1") and "escapes" in err.message
    root = write(
        tmp_path / "d", radiology="patient_id,path,kind,modality,plane,mask_path\nP1,a/../../x,nifti,CT,,\n"
    )
    assert "escapes" in err_of(root).message


def test_slides_and_radiology_validation(tmp_path):
    root = write(tmp_path / "a", slides="patient_id,slide_id,path\nP9,s1,/x.svs\n")
    assert (err_of(root).patient, err_of(root).field) == ("P9", "patient_id")
    root = write(tmp_path / "b", slides="patient_id,slide_id,path\nP1,s1,/x.svs\nP2,s1,/y.svs\n")
    assert err_of(root).field == "slide_id" and err_of(root).row == 3
    root = write(tmp_path / "c", radiology="patient_id,path,kind,modality\nP1,/x,dicom_series,PET\n")
    assert err_of(root).field == "modality"
    root = write(tmp_path / "d", radiology="patient_id,path,kind,modality,plane\nP1,/x,nifti,CT,oblique\n")
    assert err_of(root).field == "plane"


def test_alterations_validation(tmp_path):
    root = write(tmp_path / "a", alterations="patient_id,VHL_mut\nP1,2\n", features=["VHL_mut"])
    assert (err_of(root).field, err_of(root).patient) == ("VHL_mut", "P1")
    root = write(tmp_path / "b", alterations="patient_id,VHL_mut\nP1,\n", features=["VHL_mut"])
    assert err_of(root).field == "VHL_mut"
    root = write(tmp_path / "c", alterations="patient_id,VHL_mut\nP1,1\n", features=["BAP1_mut"])
    assert err_of(root).field == "features"
    root = write(tmp_path / "d", alterations="patient_id,VHL_mut\nP1,1\nP1,0\n", features=["VHL_mut"])
    assert err_of(root).field == "patient_id" and "duplicate" in err_of(root).message


def test_check_files(tmp_path):
    (tmp_path / "c" / "slides").mkdir(parents=True)
    (tmp_path / "c" / "slides" / "s1.svs").write_bytes(b"x")
    root = write(
        tmp_path / "c", slides="patient_id,slide_id,path\nP1,s1,slides/s1.svs\nP2,s2,slides/s2.svs\n"
    )
    assert len(load_manifest(root).slides) == 2
    err = err_of(root, check_files=True)
    assert (err.patient, err.row) == ("P2", 3) and "not found" in err.message


def test_missing_folder(tmp_path):
    assert "not found" in err_of(tmp_path / "nope").message

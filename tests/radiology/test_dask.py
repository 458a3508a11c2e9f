"""Radiology on a Dask LocalCluster started from the config (2 single-thread workers) and on a local pool:
the same RAD/ files, byte for byte, as the one-process run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from mmdlm.executor import ExecutorConfig
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.pipeline import extract_cohort

pytest.importorskip("distributed")
#: a hung cluster or pool fails the test instead of hanging the suite
pytestmark = pytest.mark.timeout(300)

SPACING = (2.0, 1.5, 3.0)
ORIGIN = (-40.0, -30.0, 100.0)
CFG = RadiologyConfig(image_size=40, margin_mm=6.0, mask_labels=[])


@pytest.fixture
def table(tmp_path: Path, series_writer, make_phantom, make_mask_image) -> pd.DataFrame:
    """Five patients: four DICOM series of tumours of different sizes with masks, one NIfTI without a mask."""
    rows = []
    for i, radii in enumerate([(5.0, 9.0, 12.0), (4.0, 7.0, 9.0), (6.0, 10.0, 8.0), (3.0, 6.0, 6.0)]):
        pid = f"TCGA-AA-000{i}"
        hu, mask = make_phantom(radii=radii)
        series_writer(tmp_path / pid / "series", hu)
        sitk.WriteImage(make_mask_image(mask, SPACING, ORIGIN), str(tmp_path / pid / "mask.nii.gz"))
        rows.append({"patient_id": pid, "path": str(tmp_path / pid / "series"), "kind": "dicom_series",
                     "modality": "CT", "mask_path": str(tmp_path / pid / "mask.nii.gz")})
    hu, _ = make_phantom()
    vol = sitk.GetImageFromArray(hu)
    vol.SetSpacing(SPACING)
    sitk.WriteImage(sitk.Cast(vol, sitk.sitkInt16), str(tmp_path / "ct.nii.gz"))
    rows.append({"patient_id": "TCGA-AA-0009", "path": str(tmp_path / "ct.nii.gz"), "kind": "nifti",
                 "modality": "CT"})
    return pd.DataFrame(rows)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("summary.json", ".mmdlm.lock")}


def test_dask_and_pool_runs_write_the_one_process_files(table: pd.DataFrame, tmp_path: Path) -> None:
    ref = extract_cohort(table, tmp_path / "one", CFG)
    assert ref["counts"] == {"done": 4, "fresh": 0, "no_mask": 1, "failed": 0}
    expected = _files(tmp_path / "one")
    assert len(expected) == 4 * 4 + 1  # 3 planes + meta.json per patient, index.csv
    on_dask = ExecutorConfig(kind="dask", workers=2, timeout_s=120)
    for name, executor in (("pool", ExecutorConfig(workers=2)), ("dask", on_dask)):
        summary = extract_cohort(table, tmp_path / name, CFG, executor=executor)
        assert _files(tmp_path / name) == expected, name
        drop = ("seconds",)
        assert {k: v for k, v in summary.items() if k not in drop} == {
            k: v for k, v in ref.items() if k not in drop
        }
    assert any("volume without a tumour mask" in w for w in summary["warnings"])  # warnings come back
    assert json.loads((tmp_path / "dask" / "summary.json").read_text())["counts"]["done"] == 4

"""Every patient of the synthetic cohort (`mmdlm synth`) gets three planes; the tumour lies in each crop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy.spatial.distance import pdist

from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.pipeline import extract_cohort
from mmdlm.radiology.store import read_index
from mmdlm.synth import writer as synth  # the project's own module: a plain import (no skip)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from mmdlm.synth.config import SynthConfig

    out = tmp_path_factory.mktemp("synth") / "cohort"
    cfg = SynthConfig(patients=6, slide_width=256, slide_height=256, slide_downsamples=(1,), mri_fraction=0.5)
    return out, synth.write_synthetic_cohort(out, cfg)


def test_every_synthetic_patient_gets_three_planes_with_the_tumour_in_the_crop(
    synthetic, tmp_path: Path
) -> None:
    root, summary = synthetic
    rows = [
        {
            "patient_id": im["patient_id"],
            "path": str(root / im["series"]),
            "kind": "dicom_series",
            "modality": im["modality"],
            "plane": "",
            "mask_path": str(root / im["mask"]),
        }
        for im in summary["images"]
    ]
    assert {r["modality"] for r in rows} == {"CT", "MR"}
    rad = tmp_path / "RAD"
    cfg = RadiologyConfig(image_size=48, crop="bbox", margin_mm=8.0)
    result = extract_cohort(pd.DataFrame(rows), rad, cfg)
    assert result["counts"] == {"done": 6, "fresh": 0, "no_mask": 0, "failed": 0}, result["failed"]
    index = read_index(rad)
    assert len(index) == 18
    planes = index.groupby("patient_id")["plane"].apply(sorted).to_dict()
    assert planes == {r["patient_id"]: ["axial", "coronal", "sagittal"] for r in rows}
    for row in rows:
        pid = row["patient_id"]
        meta = json.loads((rad / pid / "meta.json").read_text())
        assert meta["modality"] == row["modality"]
        assert meta["intensity"]["kind"] == ("ct_window" if row["modality"] == "CT" else "mr_percentiles")
        # Independent check: SimpleITK's own reorientation of the mask to LPS, numpy order [S, P, L].
        mask = sitk.GetArrayFromImage(sitk.DICOMOrient(sitk.ReadImage(row["mask_path"]), "LPS")) > 0
        sp = meta["spacing_mm"]
        for plane, axis, spacing in (
            ("axial", 0, (sp["P"], sp["L"])),
            ("coronal", 1, (sp["S"], sp["L"])),
            ("sagittal", 2, (sp["S"], sp["P"])),
        ):
            info = meta["planes"][plane]
            cut = np.take(mask, info["slice_index"], axis=axis)
            assert cut.any(), (pid, plane)
            pts = np.argwhere(cut)
            assert info["diameter_mm"] == pytest.approx(pdist(pts * np.asarray(spacing)).max(), abs=1e-3)
            box = info["crop_box"]
            (r0, c0), (r1, c1) = pts.min(0), pts.max(0)
            assert box["row_min"] < r0 and r1 < box["row_max"], (pid, plane)
            assert box["col_min"] < c0 and c1 < box["col_max"], (pid, plane)
            # The margin is there on every side (in mm).
            assert (r0 - box["row_min"]) * spacing[0] >= 8.0 - 1e-6
            assert (box["col_max"] - c1) * spacing[1] >= 8.0 - 1e-6

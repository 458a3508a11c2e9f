"""`mmdlm demo` end to end at a tiny size: every report section holds real numbers, every image decodes, the
page renders in headless Chromium, and the run folder protects itself (config change, foreign folder)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

TINY = """seed: 0
synth:
  patients: 40
  seed: 3
  slide_width: 1024
  slide_height: 768
  ct_matrix: 48
  ct_slices: 16
tiling:
  magnifications: [10.0, 5.0]
  tile_size: 32
  max_tiles_per_slide: 4
  workers: 2
radiology:
  image_size: 32
data:
  image_size: 32
  val_images_per_modality: 1
model:
  pretrained: none
  width: 16
  encoder: {family: timm, name: test_vit, weights: random, input_size: 32}
features:
  num_workers: 0
mil:
  epochs_unimodal: 2
  epochs_multimodal: 1
  max_instances: 32
train:
  batch_size: 8
  epochs_unimodal: 1
  epochs_multimodal: 1
  cpu_threads: 1
cv:
  folds_cox: 2
  folds_5yss: 2
  bootstrap: 20
  configurations: [histo_10x, histo_5x, radiology, genomics, histo_radiology_genomics]
  configurations_5yss: [histo_radiology_genomics]
  cox_covariates: [t_stage, m_stage, grade]
explain:
  gallery_size: 1
  markup_workers: 0
  thumbnail_max_side: 256
demo:
  external_patients: 12
  external_configurations: [histo_radiology_genomics]
"""

SECTIONS = (
    "headline",
    "cohort",
    "cindex",
    "fivey",
    "km",
    "cox",
    "attention",
    "families",
    "external",
    "explain",
    "provenance",
)


@pytest.fixture(scope="module")
def demo_run(module_dir):
    """One tiny demo run shared by the tests of this module: (run folder, config path, stdout lines)."""
    from mmdlm.cli.app import main

    root = module_dir
    cfg = root / "tiny.yaml"
    cfg.write_text(TINY)
    run = root / "run"
    buf = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(buf):
        try:
            main(["demo", "--out", str(run), "--config", str(cfg), "--quiet"])
        except SystemExit as exc:
            assert exc.code in (0, None)
    return run, cfg, buf.getvalue().strip().splitlines()


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def test_last_line_is_the_report_and_outputs_are_complete(demo_run):
    run, _, lines = demo_run
    assert lines[-1] == str(run / "report.html")
    for name in (
        "config.yaml",
        "metrics.json",
        "predictions.csv",
        "report.json",
        "mmdlm.log",
        "pipeline.json",
        "explain/summary.json",
        "external/synthetic_external/metrics.json",
    ):
        assert (run / name).is_file(), name
    # no temporary sibling left under the run folder, no resume state of finished stages
    assert not [p for p in run.rglob(".*.tmp-*")]
    assert not list(run.glob("cv/*/fold_*/*/last.ckpt"))
    timings = json.loads((run / "pipeline.json").read_text())["stages_seconds"]
    assert set(timings) >= {"cross-validation", "explain", "report"} and all(v >= 0 for v in timings.values())


def test_report_json_holds_real_numbers(demo_run):
    run, _, _ = demo_run
    d = json.loads((run / "report.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert d["cohort"]["n_patients"] == 40 and d["cohort"]["events"] > 0
    assert set(d["cohort"]["modalities"]) == {"tile_10x", "tile_5x", "radiology", "genomics"}
    assert d["cohort"]["modalities"]["tile_10x"] == 40
    confs = [r["configuration"] for r in d["cindex_table"]]
    assert sorted(confs) == sorted(
        ["histo_10x", "histo_5x", "radiology", "genomics", "histo_radiology_genomics"]
    )
    for row in d["cindex_table"]:
        assert _number(row["mean"]) and 0 <= row["mean"] <= 1 and len(row["folds"]) == 2
        # the table is metrics.json's, not recomputed
        assert (
            row["mean"] == metrics["tasks"]["cox"]["configurations"][row["configuration"]]["c_index"]["mean"]
        )
    assert d["headline"]["fused"] == "histo_radiology_genomics" and _number(d["headline"]["fused_c_index"])
    assert {r["factor"] for r in d["clinical_cindex"]} >= {"grade", "t_stage", "m_stage", "age"}
    assert all(_number(r["cindex"]) for r in d["clinical_cindex"] if r["factor"] != "n_stage")
    assert _number(d["fivey"]["roc_auc"]["pooled"]) and len(d["fivey"]["roc_curve"]["fpr"]) >= 2
    assert len(d["km"]) == 2 and all(k["groups"] and k["at_risk"]["rows"] for k in d["km"])
    assert d["clinical_cox"] and {c["name"] for c in d["clinical_cox"]["covariates"]} == {
        "t_stage",
        "m_stage",
        "grade",
    }
    assert d["cox"] is not None or d["cox_error"]  # fitted, or the reason (tiny cohorts can lack events)
    att = d["attention"]["mean"]
    assert abs(sum(att.values()) - 1) < 1e-3 and all(0 <= v <= 1 for v in att.values())
    assert d["external"] and all(_number(r["external_mean"]) for r in d["external"])
    assert (run / d["images"]["gallery"]).is_file() and (run / d["images"]["markup"]).is_file()
    assert (run / d["images"]["markup_geojson"]).is_file()
    prov = d["provenance"]
    patients = run / "manifest" / "patients.csv"
    assert (
        prov["data_hashes"]["manifest/patients.csv"] == hashlib.sha256(patients.read_bytes()).hexdigest()[:16]
    )
    import torch

    assert prov["versions"]["torch"] == torch.__version__.split("+")[0] and prov["seed"] == 0


def test_both_families_side_by_side_on_the_same_folds(demo_run):
    run, _, _ = demo_run
    d = json.loads((run / "report.json").read_text())
    fam = d["families"]
    mil = json.loads((run / "mil" / "metrics.json").read_text())
    assert fam["same_folds"] == {"cox": True, "5yss": True}
    assert {(r["task"], r["configuration"]) for r in fam["rows"]} == {
        *(("cox", c) for c in ("histo_10x", "histo_5x", "radiology", "genomics", "histo_radiology_genomics")),
        ("5yss", "histo_radiology_genomics"),
    }
    for r in fam["rows"]:
        assert (
            r["mil"]["mean"]
            == mil["tasks"][r["task"]]["configurations"][r["configuration"]][r["metric"]]["mean"]
        )
        assert _number(r["mil"]["mean"]) and _number(r["end_to_end"]["mean"])
        assert (r["truth"] is not None) == (r["task"] == "cox") and (
            r["truth"] is None or 0.5 < r["truth"] <= 1
        )
    enc = d["provenance"]["encoder"]
    assert enc["encoder_name"] == "test_vit" and enc["encoder_weights_hash"] == "random-0"
    assert (run / d["images"]["mil_markup"]).is_file()
    geo = sorted((run / "mil" / "explain").rglob("*_attention.geojson"))
    assert geo and json.loads(geo[0].read_text())["features"]
    features = json.loads((run / "features" / "summary.json").read_text())
    assert (
        features["counts"]["failed"] == 0 and features["tiles"]["10x"] > 40 * 4
    )  # every tissue tile, no cap


def test_both_families_score_the_same_external_patients(demo_run):
    run, _, _ = demo_run
    e2e = json.loads((run / "external" / "synthetic_external" / "metrics.json").read_text())
    mil = json.loads((run / "mil" / "external" / "synthetic_external" / "metrics.json").read_text())
    conf = "histo_radiology_genomics"
    a, b = (m["tasks"]["cox"]["configurations"][conf] for m in (e2e, mil))
    assert e2e["shared_with_training"] == [] and mil["shared_with_training"] == []  # its own barcodes
    assert a["n_patients"] == b["n_patients"] > 0 and b["fold_models"]["c_index"]["folds"]
    assert len(b["fold_models"]["c_index"]["folds"]) == 2 and _number(b["ensemble"]["c_index"]["folds"][0])
    rows = json.loads((run / "report.json").read_text())["external"]
    fused = {r["family"]: r for r in rows if r["task"] == "cox" and r["configuration"] == conf}
    assert set(fused) == {"end_to_end", "mil"}
    assert fused["mil"]["ensemble"] == b["ensemble"]["c_index"]["folds"][0]
    assert fused["mil"]["n"] == a["n_patients"]
    pred = pd.read_csv(run / "mil" / "external" / "synthetic_external" / "predictions.csv")
    ext_ids = set(pd.read_csv(run / "external_cohort" / "manifest" / "patients.csv")["patient_id"])
    assert set(pred["patient_id"]) <= ext_ids and not (set(pred["patient_id"]) & set(
        pd.read_csv(run / "manifest" / "patients.csv")["patient_id"]))


def test_explain_cli_on_the_mil_run(demo_run, run_cli):
    run, _, _ = demo_run
    pid = sorted(p.name for p in (run / "mil" / "explain").iterdir())[0]
    code, out, err = run_cli("explain", "--run", run / "mil", "--patients", pid)
    assert code == 0, err
    assert "MIL maps of 1 patients" in out
    assert sorted(p.name for p in (run / "mil" / "explain").iterdir()) == [pid]
    assert len(list((run / "mil" / "explain" / pid).glob("*.geojson"))) == 4  # 10x, 5x x risk, attention


def test_html_has_every_section_and_every_image_decodes(demo_run):
    run, _, _ = demo_run
    html = (run / "report.html").read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    assert 'class="missing"' not in html.split('<section id="cox">')[0]  # nothing missing before the Cox part
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    names = ("cindex", "rocpr", "km", "km", "forest-or-none", "attention", "gallery", "markup")
    assert len(uris) >= len(names) - 1
    for uri in uris:
        image = Image.open(io.BytesIO(base64.b64decode(uri)))
        image.load()
        assert image.width > 50 and image.height > 50
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # self-contained


def test_report_renders_in_headless_chromium(demo_run, tmp_path):
    from mmdlm.report.screenshot import find_chromium, screenshot

    if find_chromium() is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    run, _, _ = demo_run
    png = screenshot(run / "report.html", tmp_path / "report.png")
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape[1] == 1280 and pixels.shape[0] > 3000  # the whole page, not one screen
    # real content: many distinct colours (figures), not a blank or error page
    assert len(np.unique(pixels.reshape(-1, 3)[::97], axis=0)) > 200


def test_rerun_with_another_config_needs_force(demo_run, run_cli, tmp_path):
    run, cfg, _ = demo_run
    other = tmp_path / "other.yaml"
    other.write_text(cfg.read_text().replace("seed: 0\n", "seed: 1\n", 1))
    code, _, err = run_cli("demo", "--out", run, "--config", other, "--quiet")
    assert code == 2 and "different config" in err and "--force" in err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code, _, err = run_cli("demo", "--out", foreign, "--config", cfg, "--force", "--quiet")
    assert code == 2 and "not an mmdlm run" in err and (foreign / "notes.txt").read_text() == "keep me"


def test_no_dicom_identifying_value_in_any_output(demo_run):
    """The synthetic DICOMs carry fake identifying attributes; none may reach any file the pipeline wrote."""
    import pydicom

    run, _, _ = demo_run
    dcm = next((run / "synth" / "radiology").rglob("*.dcm"))
    ds = pydicom.dcmread(dcm, stop_before_pixels=True)
    values = {str(ds.PatientName), str(ds.PatientBirthDate), str(ds.PatientAddress), str(ds.InstitutionName)}
    values |= {
        str(v) for v in ([ds.OtherPatientIDs] if isinstance(ds.OtherPatientIDs, str) else ds.OtherPatientIDs)
    }
    values = {v.encode() for v in values if len(v) >= 6}
    assert len(values) >= 4
    inputs = (run / "synth", run / "external_cohort" / "synth")
    scanned = 0
    for path in run.rglob("*"):
        if not path.is_file() or any(path.is_relative_to(p) for p in inputs):
            continue
        data = path.read_bytes()
        scanned += 1
        for v in values:
            assert v not in data, f"{v!r} found in {path.relative_to(run)}"
    assert scanned > 100  # manifest, stores, checkpoints, predictions, figures, report

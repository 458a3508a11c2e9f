import base64
import io
import re
from pathlib import Path

from PIL import Image

from mmdlm.report.html import render_html


def _images(html: str) -> list[Image.Image]:
    out = []
    for b64 in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        img = Image.open(io.BytesIO(base64.b64decode(b64)))
        img.load()
        out.append(img)
    return out


def test_every_section_and_figure_is_rendered(tmp_path: Path, report_data) -> None:
    html = render_html(report_data(), tmp_path)
    for section in ("cohort", "cindex", "fivey", "km", "cox", "attention", "explain", "provenance"):
        assert f'<section id="{section}">' in html
    images = _images(html)
    # C-index, ROC/PR, one KM, forest, attention
    assert len(images) == 5 and all(i.width > 200 and i.height > 100 for i in images)
    assert "0.0012" in html or "1.20e-03" in html
    assert "3.900" in html  # the model's hazard ratio from the data


def test_cohort_strings_are_escaped(tmp_path: Path, report_data) -> None:
    d = report_data(title="<script>alert(1)</script>")
    d["clinical_cindex"][0]["factor"] = "<img src=x onerror=alert(2)>"
    html = render_html(d, tmp_path)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_undefined_fold_comparisons_and_survival_metrics_are_shown(tmp_path: Path, report_data) -> None:
    d = report_data()
    row = d["cindex_table"][0]
    row.update(folds=[0.61, None, 0.65], mean=0.63, n_defined=2, n_folds=3, difference=-0.05,
               corrected_t_p=0.31, bootstrap_p=0.04, bootstrap_low=-0.09, bootstrap_high=-0.004,
               n_patients_compared=108, vs="histo_radiology")
    d["comparison_notes"] = ["3 folds: the Wilcoxon signed-rank test cannot reach p < 0.05"]
    d["reference_source"] = "pre-specified: the most fused configuration run"
    d["clinical_vs_model"] = [{"factor": "grade", "model": "histo_radiology", "n_patients_compared": 100,
                               "model_mean": 0.74, "factor_mean": 0.66, "difference": 0.08,
                               "bootstrap_low": 0.01, "bootstrap_high": 0.15, "corrected_t_p": 0.2,
                               "bootstrap_p": 0.03, "ttest_p": 0.1, "wilcoxon_p": 0.25}]
    d["survival_metrics"] = [{"configuration": "histo_radiology", "metrics": {
        "c_index": {"mean": 0.75, "n_defined": 3, "n_folds": 3},
        "c_index_uno": {"mean": 0.73, "n_defined": 3, "n_folds": 3},
        "auc_60m": {"mean": 0.777, "n_defined": 2, "n_folds": 3},
        "ibs": {"mean": 0.161, "n_defined": 3, "n_folds": 3}}}]
    d["fivey"]["calibration"] = {"predicted": [0.1, 0.5, 0.9], "observed": [0.2, 0.4, 0.8], "brier": 0.18,
                                 "n_bins": 3}
    d["external"][0].update(ensemble=0.723, ensemble_low=0.61, ensemble_high=0.82, shared_with_training=2,
                            note="a non-significant difference is not evidence that the model generalises")
    d["external_notes"] = [d["external"][0]["note"]]
    html = render_html(d, tmp_path)
    assert "0.610, undefined, 0.650" in html and "2/3" in html
    assert "cannot reach p &lt; 0.05" in html and "pre-specified" in html and "as in paper" in html
    assert "Nadeau" in html and "0.0400" not in html and "0.04" in html
    assert re.search(r"grade</td><td>histo_radiology</td><td>100</td>\s*<td>0.740</td><td>0.660</td>", html)
    assert "Uno&#39;s C" in html and "AUC(t) at 60m" in html and "0.777" in html and "0.161" in html
    assert "<b>0.723</b>" in html and "0.610 &ndash; 0.820" in html and "max (optimistic)" in html
    assert "shares 2 patient(s) with the training cohort" in html
    assert len(_images(html)) == 6  # + the calibration plot

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

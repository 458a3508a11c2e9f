"""Full-page screenshot of the HTML report in real headless Chromium (Debian's chromium package)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from mmdlm.errors import MmdlmError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Path of a Chromium executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    html: Path, png: Path, width: int = 1280, max_height: int = 16000, timeout: float = 120
) -> Path:
    """Render `html` headless at `width` px and save the whole page (trailing blank rows trimmed) as `png`."""
    exe = find_chromium()
    if exe is None:
        raise MmdlmError("Chromium not found (install Debian's 'chromium' package)", field="chromium")
    with tempfile.TemporaryDirectory(prefix="mmdlm-chromium-") as profile:
        raw = Path(profile) / "raw.png"
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{max_height}",
            f"--screenshot={raw}",
            html.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not raw.is_file():
            raise MmdlmError(f"Chromium failed to render the report: {proc.stderr.strip()[-300:]}", file=html)
        image = Image.open(raw).convert("RGB")
    pixels = np.asarray(image)
    background = pixels[-1, -1]
    content_rows = np.nonzero((np.abs(pixels.astype(int) - background).sum(axis=2) > 12).any(axis=1))[0]
    bottom = int(content_rows[-1]) + 24 if content_rows.size else pixels.shape[0]
    png.parent.mkdir(parents=True, exist_ok=True)
    image.crop((0, 0, image.width, min(bottom, image.height))).save(png)
    return png

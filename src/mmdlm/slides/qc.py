"""QC thumbnail: the slide with its kept tiles outlined, one colour per magnification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mmdlm.atomic import atomic_path
from mmdlm.names import id_path
from mmdlm.slides.tissue import Thumbnail

#: Outline colours per magnification rank (first configured magnification first).
COLOURS = ((0, 170, 0), (0, 90, 255), (230, 120, 0), (200, 0, 200))
#: QC images are JPEG at this quality with full-resolution chroma (4:4:4), so 1-2 px outlines keep their
#: colour: about 3x smaller and 10x faster to write than PNG (0.003 s against 0.035 s for a 0.4 MP image).
JPEG_QUALITY = 90
#: The QC image is "about qc_mpp": a thumbnail up to this much larger (scanner's or mask's) is used as it is.
QC_SLACK = 0.1
#: Names a QC image had in earlier versions (removed when its slide is retiled).
LEGACY_SUFFIXES = (".png",)


def qc_path(out_dir: Path, slide_id: str) -> Path:
    """Where a slide's QC image lives: out_dir/qc/<slide_id>.jpg."""
    return id_path(Path(out_dir) / "qc", slide_id, ".jpg", field="slide_id")


def qc_image(thumb: Thumbnail, tiles: list[tuple[np.ndarray, int]], max_side: int) -> Image.Image:
    """Thumbnail (longer side <= max_side) with each (coords [N, 2], level0_size)
    group outlined in its colour."""
    img = Image.fromarray(thumb.rgb)
    factor = min(1.0, max_side / max(img.size))
    if factor < 1.0:
        img = img.resize(
            (max(1, round(img.width * factor)), max(1, round(img.height * factor))), Image.Resampling.BOX
        )
    sx, sy = thumb.scale_x * factor, thumb.scale_y * factor
    draw = ImageDraw.Draw(img)
    for rank, (coords, size) in enumerate(tiles):
        colour = COLOURS[rank % len(COLOURS)]
        width = 2 if rank == 0 else 1
        for x, y in np.asarray(coords).reshape(-1, 2):
            draw.rectangle(
                [x * sx, y * sy, (x + size) * sx - 1, (y + size) * sy - 1], outline=colour, width=width
            )
    return img


def write_qc(path: Path, thumb: Thumbnail, tiles: list[tuple[np.ndarray, int]], max_side: int) -> Path:
    """Write the QC image (JPEG, see JPEG_QUALITY) atomically."""
    with atomic_path(path) as tmp:
        qc_image(thumb, tiles, max_side).save(tmp, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return path

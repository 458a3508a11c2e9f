"""User-chosen 2D images (PNG/JPEG or a single DICOM slice) -> square 8-bit images of the configured size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mmdlm.errors import MmdlmError
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.radiology.dicom import read_dicom_slice
from mmdlm.radiology.render import normalise_range, sample_square, window_ct
from mmdlm.radiology.warn import warn

#: Suffixes read as already-displayable pictures (pixels only: no metadata is read or kept).
PICTURE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _square_picture(gray: np.ndarray, size: int) -> np.ndarray:
    """Pad (black, centred) to a square, then resize to size x size (PIL, area-aware bilinear)."""
    h, w = gray.shape
    side = max(h, w)
    canvas = np.zeros((side, side), dtype=np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top : top + h, left : left + w] = gray
    return np.asarray(
        Image.fromarray(canvas).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    )


def read_ready_image(
    path: str | Path, cfg: RadiologyConfig, *, modality: str | None = None, patient_id: str | None = None
) -> tuple[np.ndarray, dict[str, object]]:
    """A user-chosen plane as a square uint8 image of cfg.image_size and its description.

    Pictures (PNG/JPEG/...) are taken as displayed (grayscale); a DICOM slice gets its modality LUT, then the
    CT window or the MRI percentiles of the slice, and is made square in mm (padded) before resizing.
    """
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("image file not found", file=path, patient=patient_id, field="path")
    if path.suffix.lower() in PICTURE_SUFFIXES:
        try:
            with Image.open(path) as im:
                im.load()
                gray = np.asarray(im.convert("L"))
        except (UnidentifiedImageError, OSError) as exc:
            raise MmdlmError(
                f"not a readable image ({exc.__class__.__name__})",
                file=path,
                patient=patient_id,
                field="path",
            ) from None
        return _square_picture(gray, cfg.image_size), {"source": "picture", "input_size": list(gray.shape)}
    sl = read_dicom_slice(path, patient_id)
    mod = (sl.modality or modality or "").upper()
    if modality and sl.modality and sl.modality.upper() != modality.upper():
        warn(
            f"manifest modality {modality} differs from the DICOM Modality {sl.modality}; "
            f"using {sl.modality}",
            file=path,
            patient=patient_id,
        )
    rows, cols = sl.pixels.shape
    extent = (rows * sl.spacing[0], cols * sl.spacing[1])
    side = max(extent)
    centre = ((rows - 1) / 2.0 * sl.spacing[0], (cols - 1) / 2.0 * sl.spacing[1])
    if mod == "CT":
        values = sample_square(sl.pixels, sl.spacing, centre, side, cfg.image_size, fill=-1024.0)
        pixels = window_ct(values, cfg.ct_window_width, cfg.ct_window_level)
        intensity = {"kind": "ct_window", "width": cfg.ct_window_width, "level": cfg.ct_window_level}
    elif mod == "MR":
        lo, hi = (float(v) for v in np.percentile(sl.pixels, cfg.mri_percentiles))
        values = sample_square(sl.pixels, sl.spacing, centre, side, cfg.image_size, fill=lo)
        pixels = normalise_range(values, lo, hi)
        intensity = {"kind": "mr_percentiles", "percentiles": list(cfg.mri_percentiles), "values": [lo, hi]}
    else:
        raise MmdlmError(
            f"modality {mod or '(empty)'!r} is not CT or MR", file=path, patient=patient_id, field="Modality"
        )
    if sl.inverted:
        pixels = 255 - pixels
    info = {
        "source": "dicom_slice",
        "modality": mod,
        "pixel_spacing_mm": list(sl.spacing),
        "input_size": [rows, cols],
        "output_pixel_mm": round(side / cfg.image_size, 6),
        "intensity": intensity,
    }
    return pixels, info

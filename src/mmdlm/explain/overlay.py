"""Grad-CAM overlays (heat map blended on the input) and the gallery of highest- and lowest-risk patients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

from mmdlm.atomic import atomic_path
from mmdlm.explain.figure import save_figure
from mmdlm.modalities import IMAGE_MODALITIES

#: Column titles of the gallery.
MODALITY_TITLES = {"tile_10x": "10x tile", "tile_5x": "5x tile", "radiology": "radiology plane"}


def blend_cam(rgb: np.ndarray, cam: np.ndarray, colormap: str = "jet", alpha: float = 0.45) -> np.ndarray:
    """uint8 [H, W, 3]: the colormapped CAM ([H, W] in [0, 1]) blended on `rgb` with weight `alpha * cam`."""
    cam = np.clip(np.nan_to_num(np.asarray(cam, dtype=np.float32)), 0.0, 1.0)
    if cam.shape != rgb.shape[:2]:
        raise ValueError(f"CAM {cam.shape} and image {rgb.shape[:2]} differ in size")
    heat = colormaps[colormap](cam)[..., :3].astype(np.float32) * 255.0
    weight = (alpha * (0.3 + 0.7 * cam))[..., None]  # weak evidence stays faintly coloured, strong is vivid
    out = rgb.astype(np.float32) * (1.0 - weight) + heat * weight
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write a uint8 RGB array as PNG atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(tmp, format="PNG")
    return path


@dataclass(frozen=True)
class GalleryRow:
    """One patient of the gallery: caption values and an overlay (uint8 RGB) per image modality."""

    patient_id: str
    score: float
    score_name: str  # "risk" or "p_dead"
    group: str  # e.g. "highest risk" / "lowest risk"
    overlays: Mapping[str, np.ndarray] = field(default_factory=dict)


def write_gallery(path: str | Path, rows: Sequence[GalleryRow], title: str = "Grad-CAM gallery") -> Path:
    """A grid PNG: one row per patient (caption: id, group, score), one column per image modality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("the gallery needs at least one patient")
    columns = [m for m in IMAGE_MODALITIES if any(m in r.overlays for r in rows)]
    fig, axes = plt.subplots(len(rows), max(1, len(columns)), figsize=(2.6 * max(1, len(columns)),
                             2.8 * len(rows)), squeeze=False)
    for i, row in enumerate(rows):
        for j, modality in enumerate(columns):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if modality in row.overlays:
                ax.imshow(row.overlays[modality])
            else:
                ax.text(0.5, 0.5, "absent", ha="center", va="center", transform=ax.transAxes)
            if i == 0:
                ax.set_title(MODALITY_TITLES.get(modality, modality), fontsize=9)
        axes[i][0].set_ylabel(f"{row.patient_id}\n{row.group}\n{row.score_name} {row.score:.3g}", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path)

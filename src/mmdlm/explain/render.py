"""Drawing a markup on the slide thumbnail: class colour per tile, certainty as opacity, and a legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmdlm.explain.classes import TileClasses
from mmdlm.explain.figure import save_figure
from mmdlm.slides.tissue import Thumbnail


def markup_overlay(thumb: Thumbnail, coords: np.ndarray, level0_size: int, classes: TileClasses,
                   min_alpha: float = 0.1, max_alpha: float = 0.75) -> np.ndarray:
    """uint8 RGB of exactly the thumbnail's size: each tile filled with its class colour, opacity from
    `min_alpha` (least certain) to `max_alpha` (most certain); untouched elsewhere."""
    base = thumb.rgb.astype(np.float32)
    h, w = base.shape[:2]
    colour = np.zeros_like(base)
    alpha = np.zeros((h, w, 1), dtype=np.float32)
    palette = np.asarray(classes.colours, dtype=np.float32)
    opacity = min_alpha + (max_alpha - min_alpha) * np.clip(classes.strength, 0.0, 1.0)
    for i, (x, y) in enumerate(np.asarray(coords, dtype=np.int64).reshape(-1, 2)):
        x0, x1 = round(x * thumb.scale_x), round((x + level0_size) * thumb.scale_x)
        y0, y1 = round(y * thumb.scale_y), round((y + level0_size) * thumb.scale_y)
        x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
        x1, y1 = max(min(x1, w), x0 + 1), max(min(y1, h), y0 + 1)
        colour[y0:y1, x0:x1] = palette[classes.index[i]]
        alpha[y0:y1, x0:x1] = opacity[i]
    out = base * (1.0 - alpha) + colour * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def write_markup_figure(path: str | Path, overlay: np.ndarray, classes: TileClasses, title: str,
                        context: str = "") -> Path:
    """PNG figure: the markup overlay with a legend (class colours and tile counts; opacity = certainty)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    h, w = overlay.shape[:2]
    scale = 8.0 / max(h, w)
    fig, ax = plt.subplots(figsize=(max(3.0, w * scale) + 2.6, max(3.0, h * scale)))
    ax.imshow(overlay)
    ax.set_axis_off()
    counts = np.bincount(classes.index, minlength=len(classes.names))
    handles = [Patch(facecolor=np.asarray(c) / 255.0, edgecolor="none", label=f"{name} ({n} tiles)")
               for name, c, n in zip(classes.names, classes.colours, counts, strict=True)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
              title="class (opacity = certainty)", title_fontsize=8)
    ax.set_title(title + (f"\n{context}" if context else ""), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, bbox_inches="tight")

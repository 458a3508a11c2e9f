"""Overlays: de-normalisation inverts mmdlm.data's normalisation, the CAM blend, the gallery grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from mmdlm.data.transforms import normalise, to_chw
from mmdlm.explain.imaging import tensor_to_rgb
from mmdlm.explain.overlay import GalleryRow, blend_cam, write_gallery


def test_tensor_to_rgb_inverts_the_training_normalisation() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, size=(20, 20, 3), dtype=np.uint8)
    back = tensor_to_rgb(normalise(to_chw(rgb, 20)[None])[0])
    assert back.dtype == np.uint8 and back.shape == (20, 20, 3)
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1


def test_blend_cam_colours_where_the_map_is_high() -> None:
    rgb = np.full((8, 8, 3), 128, dtype=np.uint8)
    cam = np.zeros((8, 8))
    cam[2, 3] = 1.0
    out = blend_cam(rgb, cam, "jet", alpha=1.0)
    hot = np.round(np.asarray(colormaps["jet"](1.0)[:3]) * 255)
    assert np.abs(out[2, 3].astype(float) - hot).max() <= 1  # full weight: the colormap's top colour
    cold = np.round(0.7 * 128 + 0.3 * np.asarray(colormaps["jet"](0.0)[:3]) * 255)
    assert np.abs(out[0, 0].astype(float) - cold).max() <= 1  # weak evidence: faint tint
    with pytest.raises(ValueError, match="differ in size"):
        blend_cam(rgb, np.zeros((4, 4)))


def test_gallery_grid(tmp_path: Path) -> None:
    img = np.zeros((16, 16, 3), dtype=np.uint8)
    rows = [GalleryRow("TCGA-SY-0001", 2.5, "risk", "highest risk", {"tile_10x": img, "radiology": img}),
            GalleryRow("TCGA-SY-0002", -1.0, "risk", "lowest risk", {"tile_10x": img})]
    path = write_gallery(tmp_path / "gallery.png", rows)
    with Image.open(path) as im:
        w, h = im.size
    assert im.format == "PNG"
    assert 2 * 260 * 0.9 <= w <= 2 * 260 * 1.1 and 2 * 280 * 0.9 <= h <= 2 * 280 * 1.1  # 2 columns x 2 rows
    with pytest.raises(ValueError):
        write_gallery(tmp_path / "empty.png", [])

"""Abdominal CT / T1 MRI phantom: body, fat, spine, aorta, liver, kidneys and a heterogeneous renal tumour.

Volumes are [z, y, x] on an axial grid in DICOM patient coordinates (LPS: +x patient left, +y posterior,
+z head); the tumour is an ellipsoid attached to one kidney whose diameters come from the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mmdlm.synth.histology import smooth_field


@dataclass(frozen=True)
class Grid:
    """An axial acquisition grid: rows x columns pixels, `slices` slices, and where slice 0 sits (mm, LPS)."""

    rows: int
    columns: int
    slices: int
    pixel_mm: float
    slice_mm: float
    origin: tuple[float, float, float]  # LPS position of voxel (z=0, y=0, x=0) centre

    def axes_mm(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """LPS coordinates (mm) of the voxel centres along z, y, x ([z,1,1], [1,y,1], [1,1,x])."""
        z = self.origin[2] + self.slice_mm * np.arange(self.slices, dtype=np.float32)
        y = self.origin[1] + self.pixel_mm * np.arange(self.rows, dtype=np.float32)
        x = self.origin[0] + self.pixel_mm * np.arange(self.columns, dtype=np.float32)
        return z[:, None, None], y[None, :, None], x[None, None, :]


#: Tissue intensities: CT in HU (nephrographic phase), MR in arbitrary T1 units.
CT_VALUES = {
    "air": -1000,
    "fat": -95,
    "muscle": 45,
    "bone": 650,
    "marrow": 250,
    "aorta": 170,
    "liver": 95,
    "kidney": 165,
    "sinus": -40,
    "tumour": 115,
    "tumour_necrosis": 25,
    "gas": -850,
}
MR_VALUES = {
    "air": 0,
    "fat": 900,
    "muscle": 380,
    "bone": 120,
    "marrow": 620,
    "aorta": 150,
    "liver": 520,
    "kidney": 450,
    "sinus": 850,
    "tumour": 330,
    "tumour_necrosis": 170,
    "gas": 0,
}


def _ellipsoid(
    z: np.ndarray, y: np.ndarray, x: np.ndarray, c: tuple[float, float, float], r: tuple[float, float, float]
) -> np.ndarray:
    """Normalised ellipsoid radius (< 1 inside) for centre c = (x, y, z) and semi-axes r = (x, y, z), mm."""
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2


def render_volume(
    rng: np.random.Generator, grid: Grid, tumour_axes_mm: tuple[float, float, float], side: str, modality: str
) -> tuple[np.ndarray, np.ndarray]:
    """(float32 intensities [z, y, x], uint8 tumour mask [z, y, x]) for one patient."""
    val = CT_VALUES if modality == "CT" else MR_VALUES
    z, y, x = grid.axes_mm()
    shape = (grid.slices, grid.rows, grid.columns)
    vol = np.full(shape, val["air"], dtype=np.float32)
    body_a, body_b = rng.uniform(135, 155), rng.uniform(100, 115)
    body = (x / body_a) ** 2 + ((y - 5) / body_b) ** 2
    inner = (x / (body_a - rng.uniform(12, 25))) ** 2 + ((y - 5) / (body_b - rng.uniform(10, 20))) ** 2
    body, inner = np.broadcast_to(body < 1, shape), np.broadcast_to(inner < 1, shape)
    vol[body] = val["fat"]
    vol[inner] = val["muscle"]
    # retroperitoneal / visceral fat around the kidneys
    vol[np.broadcast_to((((np.abs(x) - 65) / 45) ** 2 + ((y - 40) / 40) ** 2 < 1) & inner, shape)] = val[
        "fat"
    ]
    zmid = float(z.mean())
    # spine and aorta run the whole length
    spine = (x / 20) ** 2 + ((y - 60) / 18) ** 2
    vol[np.broadcast_to(spine < 1, shape)] = val["bone"]
    vol[np.broadcast_to(spine < 0.55, shape)] = val["marrow"]
    vol[np.broadcast_to(((x - 15) ** 2 + (y - 28) ** 2) < 11**2, shape)] = val["aorta"]
    # liver in the upper half, patient's right (-x)
    liver = _ellipsoid(z, y, x, (-70, -5, zmid + 60), (65, 70, 75)) < 1
    vol[liver & inner] = val["liver"]
    # bowel gas pockets anteriorly
    for _ in range(int(rng.integers(2, 6))):
        c = (rng.uniform(-60, 60), rng.uniform(-80, -40), zmid + rng.uniform(-80, 40))
        vol[_ellipsoid(z, y, x, c, (rng.uniform(6, 14),) * 3) < 1] = val["gas"]
    # kidneys with a fatty sinus
    kz = zmid + rng.uniform(-10, 10)
    for sx in (-1, 1):
        c = (sx * 72.0, 42.0, kz + (8 if sx < 0 else 0))
        k = _ellipsoid(z, y, x, c, (28, 24, 55))
        vol[k < 1] = val["kidney"]
        vol[_ellipsoid(z, y, x, (c[0] - sx * 8, c[1], c[2]), (8, 7, 25)) < 1] = val["sinus"]
    # tumour: ellipsoid bulging out of one kidney (lateral, anterior or a pole)
    sx = -1 if side == "right" else 1
    r = tuple(a / 2.0 for a in tumour_axes_mm)
    c = (sx * (72.0 + 0.45 * r[0]), 42.0 - rng.uniform(0, 0.3) * r[1], kz + rng.uniform(-0.4, 0.4) * 40)
    # keep the whole tumour inside the field of view and the body
    c = (
        float(np.clip(c[0], -body_a + r[0] + 5, body_a - r[0] - 5)) if r[0] < body_a - 5 else 0.0,
        float(np.clip(c[1], -body_b + r[1] + 5, body_b - r[1] + 5)),
        float(np.clip(c[2], float(z.min()) + r[2] + 2, float(z.max()) - r[2] - 2))
        if 2 * r[2] + 4 < float(z.max() - z.min())
        else zmid,
    )
    t = _ellipsoid(z, y, x, c, r)
    mask = t < 1
    # heterogeneous enhancement: bright rim, mottled interior with low-attenuation (necrotic/cystic) areas
    mottle = np.stack([smooth_field(rng, shape[1:], cell_um=4.0, sigma_um=6.0) for _ in range(shape[0])])
    tumour = val["tumour"] + 0.25 * (val["kidney"] - val["tumour"]) * np.clip(t * 2 - 0.8, 0, 1)
    tumour = tumour + 0.2 * abs(val["tumour"] - val["tumour_necrosis"]) * mottle
    core = (t < 0.35 * rng.uniform(0.3, 1.0)) & (mottle > 0)
    vol[mask] = tumour[mask]
    vol[core & mask] = val["tumour_necrosis"]
    # partial volume and noise
    vol = ndimage.gaussian_filter(vol, sigma=(0.4, 0.7, 0.7))
    if modality == "CT":
        vol += rng.normal(0.0, 12.0, shape).astype(np.float32)
    else:  # Rician-like magnitude noise and a smooth coil bias field
        bias = 1.0 + 0.12 * smooth_field(rng, shape[1:], cell_um=8.0, sigma_um=30.0)[None]
        vol = np.hypot(vol * bias + rng.normal(0, 18.0, shape), rng.normal(0, 18.0, shape)).astype(np.float32)
    return vol.astype(np.float32), mask.astype(np.uint8)

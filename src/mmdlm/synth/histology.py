"""H&E-like tissue at 1 um/px: clear-cell tumour whose nuclei show the grade, plus necrosis and haemorrhage.

Everything is vectorised numpy: cells are a jittered-grid Voronoi tessellation (nearest seed by an exact
distance transform), nuclei are per-cell irregular ellipses around the seeds, coarse regions
(tissue outline, necrosis, haemorrhage) are thresholded smooth random fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

#: RGB colours (0-255) of the stain classes.
BACKGROUND = (243, 241, 244)
CLEAR_CYTOPLASM = (242, 228, 238)
EOSINOPHILIC_CYTOPLASM = (226, 146, 184)
MEMBRANE = (206, 112, 162)
STROMA = (196, 84, 130)
NUCLEUS_LIGHT = (112, 76, 162)
NUCLEUS_DARK = (48, 22, 96)
NUCLEOLUS = (150, 30, 90)
NECROSIS = (236, 186, 206)
DEBRIS = (120, 70, 140)
HAEMORRHAGE = (186, 38, 56)


@dataclass(frozen=True)
class HistologyParams:
    """What a pathologist would see: fine (grade) features at ~10x and coarse (necrosis) features at ~5x."""

    grade_score: float  # 0..1: drives nuclear size, pleomorphism, hyperchromasia, nucleoli, eosinophilia
    necrosis_fraction: float  # fraction of the tissue area that is necrotic (pale, acellular)
    haemorrhage_fraction: float  # fraction of the tissue area that is haemorrhagic (red)

    @property
    def nuclear_diameter_um(self) -> float:
        """Mean nuclear diameter: ~5 um (G1) to ~12 um (G4)."""
        return 5.0 + 7.0 * self.grade_score


def smooth_field(
    rng: np.random.Generator, shape: tuple[int, int], cell_um: float, sigma_um: float
) -> np.ndarray:
    """Zero-mean, unit-variance smooth random field of `shape` (1 um/px), correlated over ~`sigma_um`."""
    h, w = shape
    lh, lw = max(2, int(np.ceil(h / cell_um)) + 1), max(2, int(np.ceil(w / cell_um)) + 1)
    low = ndimage.gaussian_filter(
        rng.standard_normal((lh, lw)).astype(np.float32), sigma_um / cell_um, mode="wrap"
    )
    low = (low - low.mean()) / (low.std() + 1e-6)
    full = Image.fromarray(low, mode="F").resize(
        (int(lw * cell_um), int(lh * cell_um)), Image.Resampling.BILINEAR
    )
    return np.asarray(full, dtype=np.float32)[:h, :w]


@dataclass(frozen=True)
class _Cells:
    label: np.ndarray  # int32 [H, W] id of the nearest seed
    dx: np.ndarray  # int32 [H, W] x offset of the pixel from its seed (px)
    dy: np.ndarray
    border: np.ndarray  # bool [H, W] pixel on the border between two cells
    n_seeds: int


def _cells(rng: np.random.Generator, shape: tuple[int, int], spacing: float, jitter: float = 0.35) -> _Cells:
    """Jittered-grid Voronoi cells of about `spacing` px (nearest seed by exact distance transform)."""
    h, w = shape
    gy, gx = int(np.ceil(h / spacing)), int(np.ceil(w / spacing))
    sy = (np.arange(gy)[:, None] + 0.5 + rng.uniform(-jitter, jitter, (gy, gx))) * spacing
    sx = (np.arange(gx)[None, :] + 0.5 + rng.uniform(-jitter, jitter, (gy, gx))) * spacing
    sy = np.clip(sy.astype(np.int32), 0, h - 1).ravel()
    sx = np.clip(sx.astype(np.int32), 0, w - 1).ravel()
    seed_id = np.full(shape, -1, dtype=np.int32)
    seed_id[sy, sx] = np.arange(sy.size, dtype=np.int32)
    iy, ix = ndimage.distance_transform_edt(seed_id < 0, return_distances=False, return_indices=True)
    iy, ix = iy.astype(np.int32), ix.astype(np.int32)
    label = seed_id[iy, ix]
    dy = np.arange(h, dtype=np.int32)[:, None] - iy
    dx = np.arange(w, dtype=np.int32)[None, :] - ix
    border = np.zeros(shape, dtype=bool)
    border[:, 1:] |= label[:, 1:] != label[:, :-1]
    border[1:, :] |= label[1:, :] != label[:-1, :]
    return _Cells(label, dx, dy, border, sy.size)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: np.ndarray) -> np.ndarray:
    """Per-pixel linear mix of two colours -> float32 [N, 3]."""
    a_, b_ = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a_ + (b_ - a_) * t[:, None].astype(np.float32)


def tissue_outline(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Boolean tissue mask: one irregular piece (plus a small fragment) on glass, about half the area."""
    h, w = shape
    ys = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
    xs = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w
    cy, cx = rng.uniform(0.45, 0.55), rng.uniform(0.42, 0.5)
    ry, rx = rng.uniform(0.32, 0.4), rng.uniform(0.3, 0.36)
    main = 1.0 - ((ys - cy) / ry) ** 2 - ((xs - cx) / rx) ** 2
    frag = 1.0 - ((ys - rng.uniform(0.3, 0.7)) / 0.09) ** 2 - ((xs - 0.86) / 0.07) ** 2
    wobble = smooth_field(rng, shape, cell_um=16.0, sigma_um=0.08 * max(h, w))
    return np.maximum(main, frag) + 0.25 * wobble > 0


def _noise(rng: np.random.Generator, shape: tuple[int, ...], amplitude: float) -> np.ndarray:
    """Cheap uniform noise in [-amplitude, amplitude) as float32."""
    u = rng.integers(0, 256, shape, dtype=np.uint8)
    return (u.astype(np.float32) - 128.0) * np.float32(amplitude / 128.0)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).astype(np.uint8)


def render_tissue(rng: np.random.Generator, shape: tuple[int, int], params: HistologyParams) -> np.ndarray:
    """uint8 RGB [H, W, 3] H&E-like image at 1 um/px for one slide."""
    tissue_full = tissue_outline(rng, shape)
    stain = rng.normal(1.0, 0.025, 3).astype(np.float32)  # per-slide stain variation
    out = np.empty((*shape, 3), dtype=np.uint8)
    out[...] = BACKGROUND
    rows, cols = np.flatnonzero(tissue_full.any(axis=1)), np.flatnonzero(tissue_full.any(axis=0))
    if rows.size == 0:
        return out
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    tissue = tissue_full[box]
    rgb = _render_tumour(rng, tissue.shape, params, stain)
    _paint_necrosis(rng, rgb, tissue, params, stain)
    np.copyto(out[box], rgb, where=tissue[..., None])
    return out


def _render_tumour(
    rng: np.random.Generator, shape: tuple[int, int], params: HistologyParams, stain: np.ndarray
) -> np.ndarray:
    """uint8 RGB of clear-cell tumour: cytoplasm, membranes, septa and graded nuclei."""
    h, w = shape
    g = float(np.clip(params.grade_score, 0.0, 1.0))
    diameter = params.nuclear_diameter_um
    spacing = 12.0 + 0.9 * diameter
    cells = _cells(rng, shape, spacing)
    n = cells.n_seeds
    f32 = np.float32
    size = (diameter / 2.0 * np.clip(1.0 + rng.normal(0.0, 0.04 + 0.22 * g, n), 0.55, 1.8)).astype(f32)
    aspect = (1.0 - rng.uniform(0.0, 0.08 + 0.35 * g, n)).astype(f32)
    theta = rng.uniform(0.0, np.pi, n)
    cos_t, sin_t = np.cos(theta).astype(f32), np.sin(theta).astype(f32)
    irr_amp = rng.uniform(0.0, 0.03 + 0.22 * g, n).astype(f32)
    irr_k = rng.integers(2, 5, n).astype(f32)
    irr_phase = rng.uniform(0.0, 2 * np.pi, n).astype(f32)
    darkness = np.clip(g + rng.normal(0.0, 0.08 + 0.1 * g, n), 0.0, 1.0).astype(f32)
    eosinophilic = rng.random(n) < 0.05 + 0.6 * g * g
    nucleolus = rng.random(n) < max(0.0, 1.6 * (g - 0.45))

    # cytoplasm / membrane / septum classes through a uint8 palette (8 below the colour: room for +-8 noise)
    palette = _to_u8(np.array([CLEAR_CYTOPLASM, EOSINOPHILIC_CYTOPLASM, MEMBRANE, STROMA], f32) * stain - 8)
    kind = eosinophilic.astype(np.uint8)[cells.label]
    kind[cells.border] = 2
    # delicate fibrovascular septa around nests of cells (the "chicken-wire" vasculature of ccRCC)
    nests = _cells(rng, (h // 2 + 1, w // 2 + 1), spacing=20.0)
    kind[np.repeat(np.repeat(nests.border, 2, axis=0), 2, axis=1)[:h, :w]] = 3
    rgb = palette[kind]
    rgb += rng.integers(0, 16, (h, w, 1), dtype=np.uint8)

    # nuclei: irregular ellipses around the seeds, evaluated only near the seeds
    r_max = float((size * (1 + irr_amp) / aspect).max()) + 1.0
    near = (cells.dx * cells.dx + cells.dy * cells.dy) <= r_max * r_max
    lab = cells.label[near]
    u0 = cells.dx[near].astype(f32)
    v0 = cells.dy[near].astype(f32)
    ct, st = cos_t[lab], sin_t[lab]
    u = u0 * ct + v0 * st
    v = v0 * ct - u0 * st
    a = size[lab]
    rho = np.sqrt((u / a) ** 2 + (v / (a * aspect[lab])) ** 2)
    limit = 1.0 + irr_amp[lab] * np.sin(irr_k[lab] * np.arctan2(v, u) + irr_phase[lab])
    inside = rho < limit
    lab_in = lab[inside]
    colour = _mix(NUCLEUS_LIGHT, NUCLEUS_DARK, darkness[lab_in])
    colour += _noise(rng, (colour.shape[0], 1), 26.0)  # coarse chromatin
    colour[(rho[inside] < 0.22) & nucleolus[lab_in]] = NUCLEOLUS
    nucleus = np.zeros(shape, dtype=bool)
    nucleus[near] = inside
    rgb[nucleus] = _to_u8(colour * stain)
    return rgb


def _paint_necrosis(
    rng: np.random.Generator, rgb: np.ndarray, tissue: np.ndarray, params: HistologyParams, stain: np.ndarray
) -> None:
    """Overwrite smooth random regions of the tissue with necrosis (pale, debris) and haemorrhage."""
    shape = tissue.shape
    bad_fraction = min(params.necrosis_fraction + params.haemorrhage_fraction, 0.95)
    field = smooth_field(rng, shape, cell_um=8.0, sigma_um=45.0)
    split = smooth_field(rng, shape, cell_um=8.0, sigma_um=60.0)
    if bad_fraction <= 0:
        return
    cut = np.quantile(field[tissue], 1.0 - bad_fraction)
    bad = tissue & (field >= cut)
    if not bad.any():
        return
    haem_share = params.haemorrhage_fraction / (params.necrosis_fraction + params.haemorrhage_fraction)
    if 0 < haem_share < 1:
        hcut = float(np.quantile(split[bad], 1.0 - haem_share))
    else:
        hcut = -np.inf if haem_share >= 1 else np.inf
    haem = bad & (split >= hcut)
    necro = bad & ~haem
    n_necro = int(necro.sum())
    rgb[necro] = _to_u8(np.asarray(NECROSIS, np.float32) * stain + _noise(rng, (n_necro, 1), 10.0))
    debris = ndimage.binary_dilation(necro & (rng.random(shape, dtype=np.float32) < 0.006)) & necro
    rgb[debris] = _to_u8(np.asarray(DEBRIS, np.float32) * stain)
    n_haem = int(haem.sum())
    speckle = _noise(rng, (n_haem, 1), 1.0) * np.float32([30, 18, 18])
    rgb[haem] = _to_u8(np.asarray(HAEMORRHAGE, np.float32) * stain + speckle)


def region_fractions(rgb: np.ndarray) -> dict[str, float]:
    """Approximate (necrosis, haemorrhage) fractions of the tissue in a rendered image, for checks."""
    px = rgb.reshape(-1, 3).astype(np.int16)
    background = (px.min(axis=1) > 225) & (np.ptp(px, axis=1) < 15)
    haem = (px[:, 0] > 140) & (px[:, 1] < 80) & (px[:, 2] < 100)
    tissue = ~background
    return {
        "tissue": float(tissue.mean()),
        "haemorrhage": float(haem[tissue].mean()) if tissue.any() else 0.0,
    }

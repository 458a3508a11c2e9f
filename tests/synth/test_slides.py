"""Synthetic slides: GDC layout, pyramidal JPEG TIFF that OpenSlide reads at 0.5 um/px, H&E on glass."""

from __future__ import annotations

import re

import numpy as np
import openslide

from mmdlm.synth.histology import HistologyParams, region_fractions, render_tissue

GDC_NAME = re.compile(r"^(TCGA-SY-\d{4})-01Z-00-DX1\.([0-9A-F-]{36})\.tiff$")


def test_slide_layout_and_openslide_properties(cohort, small_cfg):
    out, summary = cohort
    slides = sorted((out / "slides").glob("*/*.tiff"))
    assert len(slides) == small_cfg.patients
    patients = set()
    for path in slides:
        m = GDC_NAME.match(path.name)
        assert m, path.name
        assert path.parent.name == m.group(2).lower()  # slides/<file-uuid>/<barcode>.<FILE-UUID>.tiff
        patients.add(m.group(1))
        with openslide.OpenSlide(path) as s:
            assert s.properties["openslide.vendor"] == "generic-tiff"
            assert s.level_count == 3
            assert s.dimensions == (small_cfg.slide_width, small_cfg.slide_height)
            assert s.level_dimensions[1] == (small_cfg.slide_width // 4, small_cfg.slide_height // 4)
            assert [round(d) for d in s.level_downsamples] == [1, 4, 16]
            assert float(s.properties["openslide.mpp-x"]) == 0.5
            assert float(s.properties["openslide.mpp-y"]) == 0.5
            thumb = np.asarray(s.read_region((0, 0), 2, s.level_dimensions[2]).convert("RGB")).astype(int)
    assert patients == {f"TCGA-SY-{i:04d}" for i in range(1, small_cfg.patients + 1)}
    # tissue on white glass: corners are background, the centre is stained (pink/purple: red and blue > green)
    h, w = thumb.shape[:2]
    assert thumb[:3, :3].min() > 225
    centre = thumb[h // 2 - 3 : h // 2 + 3, w // 2 - 3 : w // 2 + 3].reshape(-1, 3).mean(axis=0)
    assert centre[0] > centre[1] + 20 and centre[2] > centre[1]
    background = (thumb.min(axis=2) > 225).mean()
    assert 0.2 < background < 0.8  # tissue does not fill the slide


def test_level0_round_trips_the_10x_texture(cohort):
    """Level 0 (0.5 um/px) read back and halved gives the 1 um/px texture the grade was drawn on."""
    out, _ = cohort
    path = sorted((out / "slides").glob("*/*.tiff"))[0]
    with openslide.OpenSlide(path) as s:
        region = np.asarray(s.read_region((400, 300), 0, (128, 128)).convert("RGB")).astype(int)
    # nearest-neighbour enlargement: 2 x 2 blocks are (up to JPEG error) constant
    blocks = region.reshape(64, 2, 64, 2, 3)
    assert np.abs(blocks - blocks.mean(axis=(1, 3), keepdims=True)).mean() < 6


def _nuclear_stats(tile: np.ndarray) -> tuple[float, float]:
    """(fraction of hematoxylin pixels, their mean brightness) of an RGB tile."""
    px = tile.reshape(-1, 3).astype(int)
    nuclear = (px[:, 2] > px[:, 1] + 40) & (px[:, 0] < 150)
    return float(nuclear.mean()), float(px[nuclear].mean())


def test_grade_is_visible_in_10x_tiles():
    """Higher grade: more nuclear area (bigger nuclei) and darker nuclei, in 64 um fields at 1 um/px."""
    stats = []
    for g in (0.02, 0.5, 0.98):
        img = render_tissue(np.random.default_rng(7), (600, 800), HistologyParams(g, 0.0, 0.0))
        tiles = [img[y : y + 64, x : x + 64] for y in range(220, 380, 64) for x in range(300, 500, 64)]
        fr, br = zip(*(_nuclear_stats(t) for t in tiles), strict=True)
        stats.append((np.mean(fr), np.mean(br)))
    fractions, brightness = zip(*stats, strict=True)
    assert fractions[0] < fractions[1] < fractions[2]
    assert fractions[2] > 2 * fractions[0]
    assert brightness[0] > brightness[1] > brightness[2]


def test_haemorrhage_fraction_tracks_the_truth():
    low = render_tissue(np.random.default_rng(1), (600, 800), HistologyParams(0.5, 0.02, 0.02))
    high = render_tissue(np.random.default_rng(1), (600, 800), HistologyParams(0.5, 0.2, 0.2))
    f_low, f_high = region_fractions(low), region_fractions(high)
    assert abs(f_high["haemorrhage"] - 0.2) < 0.05
    assert f_low["haemorrhage"] < 0.05
    assert 0.25 < f_low["tissue"] < 0.8

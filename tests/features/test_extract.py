"""`mmdlm features`: the stored features are a direct forward of the tiler's own tiles (float16 precision)
on the real Aperio slide and a synthetic pyramid, the coords are exactly `mmdlm tile`'s tissue tiles, reruns
keep fresh stores and redo stale ones, radiology planes, bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mmdlm.encoders.config import EncoderConfig
from mmdlm.encoders.registry import build_encoder
from mmdlm.errors import MmdlmError
from mmdlm.executor import ExecutorConfig
from mmdlm.features.config import FeaturesConfig
from mmdlm.features.pipeline import extract_features
from mmdlm.features.store import read_magnification, read_radiology
from mmdlm.slides import tile_slides
from mmdlm.slides.config import TilingConfig
from mmdlm.synth.tiff import tissue_like, write_array_tiff

TILING = TilingConfig(tile_size=96)
VIT = EncoderConfig(family="timm", name="vit_tiny_patch16_224", weights="random", input_size=32)
FEATS = FeaturesConfig(batch_size=16, num_workers=1)


def table(rows) -> pd.DataFrame:
    return pd.DataFrame([(a, b, str(c)) for a, b, c in rows], columns=["slide_id", "patient_id", "path"])


@pytest.fixture(scope="module")
def slides(shared_data: Path, module_dir: Path) -> pd.DataFrame:
    cmu = shared_data / "slides" / "CMU-1-Small-Region.svs"
    if not cmu.is_file():
        pytest.skip(f"{cmu} missing")
    syn = write_array_tiff(
        module_dir / "syn.tiff", tissue_like(1536, 2048, seed=4, blobs=8), mpp=0.25, downsamples=(1, 4, 16)
    )
    return table([("cmu", "P1", cmu), ("syn", "P2", syn)])


@pytest.fixture(scope="module")
def extracted(slides: pd.DataFrame, module_dir: Path) -> tuple[Path, dict]:
    out = module_dir / "feats"
    return out, extract_features(slides, out, TILING, VIT, FEATS, progress=False)


@pytest.fixture(scope="module")
def tiled(slides: pd.DataFrame, module_dir: Path) -> Path:
    out = module_dir / "tiles"
    tile_slides(slides, out, TILING, workers=1, progress=False)
    return out


def test_layout_and_identity(extracted: tuple[Path, dict]) -> None:
    out, summary = extracted
    assert summary["counts"] == {"done": 2, "fresh": 0, "redone": 0, "failed": 0}
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "cmu.h5",
        "encoder.json",
        "index.csv",
        "summary.json",
        "syn.h5",
    ]
    with h5py.File(out / "cmu.h5", "r") as fh:
        attrs = dict(fh.attrs)
        assert attrs["encoder_name"] == "vit_tiny_patch16_224" and attrs["encoder_weights_hash"] == "random-0"
        assert (
            attrs["encoder_width"] == 192 and attrs["tile_size"] == 96 and attrs["encoder_input_size"] == 32
        )
        assert json.loads(attrs["encoder_mean"]) == [0.485, 0.456, 0.406]
        assert abs(attrs["mpp_x"] - 0.499) < 0.001
        assert set(fh) == {"mag_10x", "mag_5x"}
        assert fh["mag_10x/features"].dtype == np.float16 and fh["mag_10x/coords"].dtype == np.int64
        assert abs(fh["mag_10x"].attrs["mpp"] - 1.0) < 0.01
    index = pd.read_csv(out / "index.csv")
    assert list(index.columns) == ["slide_id", "patient_id", "magnification", "n_tiles", "path"]
    assert int(index["n_tiles"].sum()) == sum(summary["tiles"].values()) > 50
    assert json.loads((out / "encoder.json").read_text())["encoder_key"] == attrs["encoder_key"]


@pytest.mark.parametrize("slide_id", ["cmu", "syn"])
def test_coords_are_the_tilers_tiles_and_features_a_direct_forward(
    extracted: tuple[Path, dict], tiled: Path, slide_id: str
) -> None:
    out, _ = extracted
    encoder = build_encoder(VIT)
    with h5py.File(tiled / f"{slide_id}.h5", "r") as store:
        for mag in (10.0, 5.0):
            got = read_magnification(out / f"{slide_id}.h5", mag)
            tiles = store[f"mag_{mag:g}x/tiles"][()]
            np.testing.assert_array_equal(got.coords, store[f"mag_{mag:g}x/coords"][()])
            assert len(got.coords) == len(tiles) > 0
            ref = encoder.embed(torch.from_numpy(tiles).permute(0, 3, 1, 2)).to(torch.float16).numpy()
            np.testing.assert_allclose(
                got.features.astype(np.float32), ref.astype(np.float32), rtol=2e-3, atol=2e-3
            )


def test_rerun_keeps_fresh_and_redoes_stale(extracted, slides: pd.DataFrame, module_dir: Path) -> None:
    out = module_dir / "feats-resume"
    shutil.copytree(extracted[0], out)
    before = {p: p.stat().st_mtime_ns for p in out.glob("*.h5")}
    again = extract_features(slides, out, TILING, VIT, FEATS, progress=False)
    assert again["counts"]["fresh"] == 2 and {p: p.stat().st_mtime_ns for p in out.glob("*.h5")} == before
    assert again["tiles"] == extracted[1]["tiles"]
    other = VIT.model_copy(update={"seed": 1})  # another encoder: every store is stale
    redone = extract_features(slides.iloc[1:], out, TILING, other, FEATS, progress=False)
    assert redone["counts"]["redone"] == 1
    with h5py.File(out / "syn.h5", "r") as fh:
        assert fh.attrs["encoder_key"] == build_encoder(other).identity.key
    # the slide's content changes: redone
    moved = module_dir / "syn-copy.tiff"
    shutil.copy(slides.iloc[1]["path"], moved)
    os.utime(moved, ns=(1, 1))
    changed = extract_features(table([("syn", "P2", moved)]), out, TILING, other, FEATS, progress=False)
    assert changed["counts"]["redone"] == 1


def test_loader_workers_share_the_bands(extracted, slides: pd.DataFrame, module_dir: Path) -> None:
    out = module_dir / "feats-loader"
    feats = FeaturesConfig(batch_size=8, num_workers=2)
    extract_features(slides.iloc[:1], out, TILING, VIT, feats, progress=False)
    for mag in (10.0, 5.0):
        a, b = read_magnification(out / "cmu.h5", mag), read_magnification(extracted[0] / "cmu.h5", mag)
        np.testing.assert_array_equal(a.coords, b.coords)
        np.testing.assert_allclose(a.features.astype(np.float32), b.features.astype(np.float32), atol=2e-3)


@pytest.mark.slow  # two worker processes import torch and timm: ~45 s on 2 loaded cores
def test_fan_out_on_local_pool_gives_the_same_features(
    extracted, slides: pd.DataFrame, module_dir: Path
) -> None:
    out = module_dir / "feats-pool"
    summary = extract_features(
        slides, out, TILING, VIT, FEATS, executor=ExecutorConfig(workers=2), progress=False
    )
    assert summary["workers"] == 2 and summary["counts"]["done"] == 2
    for sid in ("cmu", "syn"):
        a, b = (
            read_magnification(out / f"{sid}.h5", 10.0),
            read_magnification(extracted[0] / f"{sid}.h5", 10.0),
        )
        np.testing.assert_array_equal(a.coords, b.coords)
        np.testing.assert_allclose(a.features.astype(np.float32), b.features.astype(np.float32), atol=2e-3)


def test_radiology_planes(slides: pd.DataFrame, module_dir: Path) -> None:
    rad = module_dir / "rad"
    rng = np.random.default_rng(0)
    rows = []
    for pid in ("P1", "P2"):
        (rad / pid).mkdir(parents=True)
        for plane in ("axial", "coronal"):
            Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(rad / pid / f"{plane}.png")
            rows.append(
                {
                    "patient_id": pid,
                    "plane": plane,
                    "path": f"{pid}/{plane}.png",
                    "modality": "CT",
                    "diameter_mm": 30.0,
                    "slice_index": 3,
                }
            )
    pd.DataFrame(rows).to_csv(rad / "index.csv", index=False)
    out = module_dir / "feats-rad"
    summary = extract_features(slides.iloc[1:], out, TILING, VIT, FEATS, rad_dir=rad, progress=False)
    assert summary["radiology"] == {"patients": 2, "done": 2, "fresh": 0}
    planes, feats = read_radiology(out / "radiology" / "P1.h5")
    assert planes == ["axial", "coronal"] and feats.shape == (2, 192) and feats.dtype == np.float16
    img = np.array(Image.open(rad / "P1" / "axial.png"))
    ref = build_encoder(VIT).embed(torch.from_numpy(img)[None, None].expand(1, 3, 40, 40))
    np.testing.assert_allclose(feats[0].astype(np.float32), ref[0].numpy(), rtol=2e-3, atol=2e-3)
    again = extract_features(slides.iloc[1:], out, TILING, VIT, FEATS, rad_dir=rad, progress=False)
    assert again["radiology"]["fresh"] == 2


def test_bad_input(slides: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "feats"
    with pytest.raises(MmdlmError, match="Hugging Face"):  # refused before anything is written
        extract_features(slides, out, TILING, VIT.model_copy(update={"weights": tmp_path / "uni.bin"}), FEATS)
    assert not out.exists()
    bad = table([("gone", "P9", tmp_path / "missing.svs"), ("syn", "P2", slides.iloc[1]["path"])])
    summary = extract_features(bad, out, TILING, VIT, FEATS, progress=False)
    assert (
        summary["counts"]["failed"] == 1
        and "missing.svs: cannot read slide file" in summary["failed"][0]["reason"]
    )
    assert not (out / "gone.h5").exists() and (out / "syn.h5").is_file()
    with pytest.raises(MmdlmError, match="slide_id"):
        extract_features(table([("../x", "P1", slides.iloc[1]["path"])]), out, TILING, VIT, FEATS)


def test_cli_refuses_in_one_line(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("features", "--cohort", tmp_path / "nope", "--out", tmp_path / "f")
    assert code == 2 and err.startswith("mmdlm: error:") and err.count("\n") == 1
    assert not (tmp_path / "f").exists()


def test_the_configured_slide_reader_reads_the_tiles(
    extracted, slides: pd.DataFrame, module_dir: Path, slide_reader_spy
) -> None:
    """tiling.reader reaches the feature extractor (grid and tiles): tiffslide gives the same features."""
    import mmdlm.features.tiles as tiles_mod

    used = slide_reader_spy(tiles_mod)
    out = module_dir / "feats-tiffslide"
    tiling = TILING.model_copy(update={"reader": "tiffslide"})
    extract_features(slides.iloc[:1], out, tiling, VIT, FeaturesConfig(batch_size=16, num_workers=0),
                     progress=False)
    assert used and set(used) == {"tiffslide"}
    for mag in (10.0, 5.0):
        a, b = read_magnification(out / "cmu.h5", mag), read_magnification(extracted[0] / "cmu.h5", mag)
        np.testing.assert_array_equal(a.coords, b.coords)
        np.testing.assert_allclose(a.features.astype(np.float32), b.features.astype(np.float32), atol=2e-3)

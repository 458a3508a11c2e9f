"""tile_slides: the tile store layout, reruns (fresh / stale), sampling, bad slides, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from mmdlm.errors import MmdlmError
from mmdlm.slides import open_slide, open_store, read_index, read_tile, tile_grid, tile_slides
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.qc import COLOURS, QC_SLACK, qc_image
from mmdlm.slides.store import content_hash, params_hash
from mmdlm.slides.tissue import slide_thumbnail

from .conftest import corrupt_tile_data

CFG = TilingConfig(tile_size=96)


def slides_table(rows: list[tuple[str, str, Path]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["slide_id", "patient_id", "path"]).astype(str)


@pytest.fixture(scope="module")
def tiled(
    tmp_path_factory: pytest.TempPathFactory, cmu_slide: Path, synthetic_slide: Path
) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tiles")
    table = slides_table([("cmu", "P1", cmu_slide), ("syn", "P2", synthetic_slide)])
    return out, tile_slides(table, out, CFG, seed=0, workers=1, progress=False)


def test_store_layout_matches_the_contract(tiled: tuple[Path, dict], cmu_slide: Path) -> None:
    out, summary = tiled
    assert summary["done"] == ["cmu", "syn"] and summary["counts"]["failed"] == 0
    for entry in summary["per_slide"].values():  # where each slide's time went, within its total
        steps = entry["step_seconds"]
        assert set(steps) == {"mask", "tiles", "qc"} and all(v > 0 for v in steps.values())
        assert sum(steps.values()) <= entry["seconds"] + 0.01
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "cmu.h5",
        "index.csv",
        "qc",
        "summary.json",
        "syn.h5",
    ]
    with h5py.File(out / "cmu.h5", "r") as f:
        for key in (
            "slide_id",
            "patient_id",
            "slide_path",
            "width",
            "height",
            "mpp_x",
            "mpp_y",
            "content_hash",
            "params_hash",
            "format_version",
        ):
            assert key in f.attrs, key
        assert f.attrs["slide_id"] == "cmu" and f.attrs["patient_id"] == "P1"
        assert (f.attrs["width"], f.attrs["height"]) == (2220, 2967)
        assert f.attrs["content_hash"] == content_hash(cmu_slide)
        assert f.attrs["params_hash"] == params_hash(CFG, 0)
        assert sorted(f) == ["mag_10x", "mag_5x"]
        for key, mpp in (("mag_10x", 1.0), ("mag_5x", 2.0)):
            g = f[key]
            assert g["tiles"].dtype == np.uint8 and g["tiles"].shape[1:] == (96, 96, 3)
            assert g["tiles"].chunks == (1, 96, 96, 3)  # one chunk per tile: random access reads one tile
            assert g["coords"].dtype == np.int64 and g["coords"].shape == (g["tiles"].shape[0], 2)
            assert g.attrs["effective_mpp"] == pytest.approx(mpp, rel=0.01)
            for attr in ("magnification", "tile_size", "level", "level_downsample", "level0_size"):
                assert attr in g.attrs
    index = read_index(out)
    assert list(index.columns) == ["slide_id", "patient_id", "magnification", "n_tiles", "path"]
    assert sorted(zip(index.slide_id, index.magnification, strict=True)) == [
        ("cmu", 5.0),
        ("cmu", 10.0),
        ("syn", 5.0),
        ("syn", 10.0),
    ]
    assert all(Path(p).is_file() for p in index.path)
    for row in index.itertuples():
        assert row.n_tiles == summary["per_slide"][row.slide_id]["n_tiles"][f"{row.magnification:g}x"] > 0
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["tiles"] == summary["tiles"] and on_disk["counts"]["done"] == 2


def test_stored_tiles_are_what_the_public_api_reads(tiled: tuple[Path, dict], cmu_slide: Path) -> None:
    out, _ = tiled
    with open_store(out / "cmu.h5") as store, open_slide(cmu_slide) as slide:
        assert store.identity["slide_id"] == "cmu" and store.magnifications == [10.0, 5.0]
        for mag in (10.0, 5.0):
            coords = store.coords(mag)
            np.testing.assert_array_equal(coords, tile_grid(slide, mag, 96, CFG.tissue_fraction, cfg=CFG))
            tiles = store.tiles(mag)
            for i in (0, len(coords) - 1):
                np.testing.assert_array_equal(tiles[i], read_tile(slide, coords[i], mag, 96))
                np.testing.assert_array_equal(store.tile(mag, i), tiles[i])  # the direct-chunk fast path
            with pytest.raises(IndexError):
                store.tile(mag, len(coords))
        assert store.geometry("10x")["level0_size"] == 192  # 96 px at ~1.0 um/px: 2x2 blocks of 0.499 um/px


def test_qc_thumbnail_outlines_kept_tiles(tiled: tuple[Path, dict], cmu_slide: Path) -> None:
    """The QC image outlines every kept tile in its magnification's colour (exact in the drawn image); the
    JPEG written keeps those colours (4:4:4, quality 90) and the thumbnail's pixels within a few levels."""
    out, _ = tiled
    with open_slide(cmu_slide) as slide, open_store(out / "cmu.h5") as store:
        thumb = slide_thumbnail(slide, CFG.qc_mpp, CFG.qc_max_side, associated=True, slack=QC_SLACK)
        kept = [(store.coords(m), store.geometry(m)["level0_size"]) for m in store.magnifications]
    drawn = np.asarray(qc_image(thumb, kept, CFG.qc_max_side)).astype(int)
    written = np.asarray(Image.open(out / "qc" / "cmu.jpg"))
    assert Image.open(out / "qc" / "cmu.jpg").format == "JPEG"
    assert written.shape == drawn.shape and written.shape[0] > written.shape[1] > 50  # portrait, as the slide
    assert np.abs(written - drawn).mean() < 3.0
    for rank, (coords, _) in enumerate(kept):
        colour = np.array(COLOURS[rank])
        # every kept tile's top-left corner lies on an outline of its colour (or of a group drawn later)
        on_top = np.isin(drawn @ [65536, 256, 1], [np.dot(c, [65536, 256, 1]) for c in COLOURS[rank:]])
        for x, y in coords:
            px, py = round(x * thumb.scale_x), round(y * thumb.scale_y)
            assert on_top[max(0, py - 1) : py + 2, max(0, px - 1) : px + 2].any(), (rank, x, y)
        # the JPEG keeps the outline colour where it was drawn
        exact = (drawn == colour).all(axis=-1)
        assert exact.sum() > 20 * len(coords)
        assert np.median(np.abs(written[exact] - colour).max(axis=-1)) < 15


def test_rerun_skips_fresh_and_redoes_stale(tmp_path: Path, cmu_slide: Path, synthetic_slide: Path) -> None:
    local = tmp_path / "local.tiff"
    shutil.copy(synthetic_slide, local)
    table = slides_table([("cmu", "P1", cmu_slide), ("syn", "P2", local)])
    out = tmp_path / "tiles"
    first = tile_slides(table, out, CFG, seed=0, workers=1, progress=False)
    stamp = (out / "cmu.h5").stat().st_mtime_ns
    again = tile_slides(table, out, CFG.model_copy(update={"workers": 3}), seed=5, workers=1, progress=False)
    assert (
        again["skipped_fresh"] == ["cmu", "syn"] and again["done"] == [] and again["tiles"] == first["tiles"]
    )
    assert (out / "cmu.h5").stat().st_mtime_ns == stamp  # untouched (workers and an unused seed don't count)
    # a changed tiling parameter invalidates every store
    changed = CFG.model_copy(update={"tissue_fraction": 0.9})
    redo = tile_slides(table, out, changed, seed=0, workers=1, progress=False)
    assert redo["redone_stale"] == ["cmu", "syn"]
    assert redo["tiles"]["10x"] < first["tiles"]["10x"]
    with open_store(out / "cmu.h5") as store:
        assert store.identity["params_hash"] == params_hash(changed, 0) != params_hash(CFG, 0)
    # a changed slide file invalidates its own store only
    with open(local, "r+b") as fh:
        fh.seek(0, os.SEEK_END)
        fh.write(b"\0")
    redo2 = tile_slides(table, out, changed, seed=0, workers=1, progress=False)
    assert redo2["redone_stale"] == ["syn"] and redo2["skipped_fresh"] == ["cmu"]
    # a store without its QC image (deleted, or an earlier version's PNG) is redone; the old PNG goes
    (out / "qc" / "cmu.jpg").rename(out / "qc" / "cmu.png")
    redo3 = tile_slides(table, out, changed, seed=0, workers=1, progress=False)
    assert redo3["redone_stale"] == ["cmu"] and redo3["skipped_fresh"] == ["syn"]
    assert sorted(p.name for p in (out / "qc").iterdir()) == ["cmu.jpg", "syn.jpg"]


def test_cap_samples_with_the_seed(tmp_path: Path, synthetic_slide: Path) -> None:
    table = slides_table([("syn", "P2", synthetic_slide)])
    capped = CFG.model_copy(update={"max_tiles_per_slide": 3, "magnifications": (10.0,)})
    coords = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        summary = tile_slides(table, tmp_path / name, capped, seed=seed, workers=1, progress=False)
        assert summary["tiles"] == {"10x": 3}
        with open_store(tmp_path / name / "syn.h5") as store:
            coords[name] = store.coords(10)
    full = tile_slides(
        table,
        tmp_path / "full",
        capped.model_copy(update={"max_tiles_per_slide": None}),
        seed=0,
        workers=1,
        progress=False,
    )
    with open_store(tmp_path / "full" / "syn.h5") as store:
        everything = {tuple(c) for c in store.coords(10).tolist()}
    assert full["tiles"]["10x"] > 6
    np.testing.assert_array_equal(coords["a"], coords["b"])  # same seed, same tiles
    assert not np.array_equal(coords["a"], coords["c"])  # another seed, another sample
    assert {tuple(c) for c in coords["c"].tolist()} <= everything
    assert np.array_equal(coords["a"], coords["a"][np.lexsort((coords["a"][:, 0], coords["a"][:, 1]))])


def test_bad_slides_are_reported_and_skipped(
    tmp_path: Path, cmu_slide: Path, synthetic_slide: Path, blank_slide: Path, no_mpp_slide: Path
) -> None:
    truncated = tmp_path / "truncated.svs"
    truncated.write_bytes(cmu_slide.read_bytes()[:500_000])
    corrupt = corrupt_tile_data(synthetic_slide, tmp_path / "corrupt.tiff")
    table = slides_table(
        [
            ("good", "P1", cmu_slide),
            ("trunc", "P2", truncated),
            ("corrupt", "P3", corrupt),
            ("blank", "P4", blank_slide),
            ("nompp", "P5", no_mpp_slide),
            ("missing", "P6", tmp_path / "nope.svs"),
        ]
    )
    out = tmp_path / "tiles"
    summary = tile_slides(table, out, CFG, seed=0, workers=2, progress=False)
    failed = {f["slide_id"]: f["reason"] for f in summary["failed"]}
    assert sorted(failed) == ["corrupt", "missing", "nompp", "trunc"]
    assert str(truncated) in failed["trunc"] and "truncated or corrupt" in failed["trunc"]
    assert str(corrupt) in failed["corrupt"] and "cannot read slide region" in failed["corrupt"]
    assert "field openslide.mpp-x" in failed["nompp"] and str(no_mpp_slide) in failed["nompp"]
    assert "nope.svs" in failed["missing"]
    assert summary["done"] == ["good", "blank"]
    assert summary["no_tissue"] == ["blank"] and summary["counts"]["no_tissue"] == 1
    assert any("blank" in w and "no tissue" in w for w in summary["warnings"])
    # nothing half-written under a final name; the failed slides have no store; index: the good one
    assert sorted(p.name for p in out.glob("*.h5")) == ["blank.h5", "good.h5"]
    assert not [p for p in out.rglob(".*tmp*")]
    assert set(read_index(out).slide_id) == {"good"}
    # rerun: the failures are retried (and fail again), the rest is fresh
    again = tile_slides(table, out, CFG, seed=0, workers=1, progress=False)
    assert again["skipped_fresh"] == ["good", "blank"] and len(again["failed"]) == 4


def test_duplicate_or_unsafe_slide_ids_are_errors(tmp_path: Path, cmu_slide: Path) -> None:
    with pytest.raises(MmdlmError, match="duplicate slide_id"):
        tile_slides(
            slides_table([("a", "P1", cmu_slide), ("a", "P2", cmu_slide)]), tmp_path, CFG, progress=False
        )
    with pytest.raises(MmdlmError) as exc:
        tile_slides(slides_table([("../a", "P1", cmu_slide)]), tmp_path, CFG, progress=False)
    assert exc.value.field == "slide_id" and exc.value.row == 1


def write_cohort(cohort: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A minimal manifest: patients.csv (id, time, event) and slides.csv."""
    cohort.mkdir(parents=True, exist_ok=True)
    patients = sorted({r[0] for r in rows})
    pd.DataFrame({"patient_id": patients, "time": 10.0, "event": 1}).to_csv(
        cohort / "patients.csv", index=False
    )
    pd.DataFrame(rows, columns=["patient_id", "slide_id", "path"]).to_csv(cohort / "slides.csv", index=False)
    return cohort


def test_cli_tiles_a_cohort_and_fails_with_one_line(tmp_path: Path, run_cli, cmu_slide: Path) -> None:
    bad = tmp_path / "cohort" / "bad.svs"
    cohort = write_cohort(tmp_path / "cohort", [("P1", "s1", str(cmu_slide)), ("P2", "s2", "bad.svs")])
    bad.write_bytes(b"not a slide")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"tiling": {"tile_size": 64, "magnifications": [5.0]}}))
    code, out, err = run_cli(
        "tile", "--cohort", cohort, "--out", tmp_path / "t", "--config", config, "--quiet"
    )
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("mmdlm: error:") and "1 of 2 slides failed" in last and str(bad) in last
    assert (tmp_path / "t" / "s1.h5").is_file() and not (tmp_path / "t" / "s2.h5").exists()
    with open_store(tmp_path / "t" / "s1.h5") as store:
        assert store.magnifications == [5.0] and store.tiles(5).shape[1:] == (64, 64, 3)
    write_cohort(cohort, [("P1", "s1", str(cmu_slide))])
    code, out, err = run_cli("tile", "--cohort", cohort, "--out", tmp_path / "t", "--config", config)
    assert code == 0 and "1 fresh (skipped)" in out


def test_cli_rejects_paths_escaping_the_cohort(tmp_path: Path, run_cli) -> None:
    cohort = write_cohort(tmp_path / "cohort", [("P1", "s1", "../outside.svs")])
    code, _, err = run_cli("tile", "--cohort", cohort, "--out", tmp_path / "t", "--quiet")
    assert code == 2 and "escapes the cohort folder" in err and "row 2" in err and "patient P1" in err


def test_compressed_store_holds_the_same_tiles(
    tmp_path: Path, tiled: tuple[Path, dict], cmu_slide: Path
) -> None:
    out, _ = tiled
    lzf = CFG.model_copy(update={"compression": "lzf", "magnifications": (5.0,)})
    tile_slides(slides_table([("cmu", "P1", cmu_slide)]), tmp_path, lzf, progress=False)
    with open_store(tmp_path / "cmu.h5") as packed, open_store(out / "cmu.h5") as plain:
        assert packed.tiles(5).compression == "lzf" and plain.tiles(5).compression is None
        np.testing.assert_array_equal(packed.tiles(5)[()], plain.tiles(5)[()])
        np.testing.assert_array_equal(packed.tile(5, 1), plain.tile(5, 1))


def test_open_store_rejects_non_stores(tmp_path: Path) -> None:
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"nope")
    with pytest.raises(MmdlmError, match="not a readable tile store") as exc:
        open_store(junk)
    assert exc.value.file == str(junk)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["something"] = 1
    with pytest.raises(MmdlmError) as exc:
        open_store(tmp_path / "other.h5")
    assert exc.value.field == "format_version"


def test_a_second_concurrent_run_is_refused(tmp_path: Path, cmu_slide: Path) -> None:
    from mmdlm.locks import folder_lock as tiles_lock

    with tiles_lock(tmp_path / "t"):
        with pytest.raises(MmdlmError, match="in use by process") as exc:
            tile_slides(slides_table([("a", "P1", cmu_slide)]), tmp_path / "t", CFG, progress=False)
    assert exc.value.file == str(tmp_path / "t")
    assert not (tmp_path / "t" / "a.h5").exists()

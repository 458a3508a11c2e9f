"""Tile a cohort's slides into TILES/ (docs/formats/tiles.md): resumable, parallel, atomic per slide."""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmdlm.atomic import atomic_path, write_text_atomic
from mmdlm.errors import MmdlmError
from mmdlm.executor import ExecutorConfig, WorkerLost
from mmdlm.names import check_id
from mmdlm.oserrors import OutputError, is_write_refusal, output_error
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.grid import read_tile_at, tile_grid
from mmdlm.slides.levels import TileGeometry, tile_geometry
from mmdlm.slides.mosaic import ReadGroup, iter_group_tiles, read_groups
from mmdlm.slides.qc import LEGACY_SUFFIXES, QC_SLACK, qc_path, write_qc
from mmdlm.slides.reader import SlideReader, open_slide
from mmdlm.slides.store import (
    INDEX_COLUMNS,
    SlideIdentity,
    TileStoreWriter,
    content_hash,
    open_store,
    params_hash,
    store_path,
)
from mmdlm.slides.tissue import is_blurred, slide_thumbnail, tissue_mask
from mmdlm.stores.runner import ItemResult, StoreStage, run_store_stage

SLIDE_COLUMNS = ("slide_id", "patient_id", "path")


def mag_label(magnification: float) -> str:
    """'10x' for 10.0, '2.5x' for 2.5 (keys of per-magnification counts)."""
    return f"{float(magnification):g}x"


def _check_slide_id(slide_id: str, row: int) -> None:
    check_id(slide_id, field="slide_id", row=row, what="slide_id")


def _sample_order(n: int, cap: int | None, seed: int, slide_id: str, magnification: float) -> np.ndarray:
    """Order in which grid tiles are read: row-major, or a seeded permutation when a cap samples them."""
    if cap is None or cap >= n:
        return np.arange(n)
    rng = np.random.default_rng([int(seed), zlib.crc32(slide_id.encode()), round(magnification * 1000)])
    return rng.permutation(n)


def _tile_sampled(
    slide: SlideReader,
    geometry: TileGeometry,
    coords: np.ndarray,
    writer: TileStoreWriter,
    cfg: TilingConfig,
    seed: int,
    slide_id: str,
) -> tuple[np.ndarray, int]:
    """Read tiles in the seeded order until `max_tiles_per_slide` pass the blur filter; write them row-major.
    Returns (kept coords, tiles dropped as blurred)."""
    cap = int(cfg.max_tiles_per_slide or len(coords))
    m = geometry.magnification
    writer.add_magnification(geometry, capacity=cap)
    kept: list[tuple[int, np.ndarray]] = []
    n_blurred = 0
    for i in _sample_order(len(coords), cap, seed, slide_id, m):
        tile = read_tile_at(slide, coords[i], geometry)
        if is_blurred(tile, cfg.blur_threshold):
            n_blurred += 1
            continue
        kept.append((int(i), tile))
        if len(kept) == cap:
            break
    kept.sort(key=lambda item: item[0])  # store row-major like the uncapped case
    for i, tile in kept:
        writer.put(m, tile, coords[i])
    writer.finish(m)
    return coords[np.asarray([i for i, _ in kept], dtype=np.int64)].reshape(-1, 2), n_blurred


def _tile_group(
    slide: SlideReader,
    group: ReadGroup,
    coords: dict[float, np.ndarray],
    writer: TileStoreWriter,
    cfg: TilingConfig,
) -> dict[float, tuple[np.ndarray, int]]:
    """Read, filter and write all tiles of a read group (row-major per magnification);
    per magnification (kept coords, tiles dropped as blurred)."""
    kept: dict[float, list[np.ndarray]] = {}
    n_blurred: dict[float, int] = {}
    for geometry in group.geometries:
        writer.add_magnification(geometry, capacity=len(coords[geometry.magnification]))
        kept[geometry.magnification], n_blurred[geometry.magnification] = [], 0
    for geometry, xy, tile in iter_group_tiles(slide, group, coords):
        m = geometry.magnification
        if is_blurred(tile, cfg.blur_threshold):
            n_blurred[m] += 1
            continue
        writer.put(m, tile, xy)
        kept[m].append(xy)
    for m in kept:
        writer.finish(m)
    return {m: (np.asarray(xy, dtype=np.int64).reshape(-1, 2), n_blurred[m]) for m, xy in kept.items()}


def _fresh_counts(
    final: Path, qc_image: Path, identity: dict[str, Any], cfg: TilingConfig
) -> dict[str, int] | None:
    """Tile counts of an existing store if it is complete, matches `identity` and has its QC image; None if
    stale, unreadable or without its QC image (then the slide is redone)."""
    if not qc_image.is_file():
        return None
    try:
        with open_store(final) as store:
            attrs = store.identity
            if any(attrs.get(k) != v for k, v in identity.items()):
                return None
            return {mag_label(m): store.n_tiles(m) for m in cfg.magnifications}
    except (MmdlmError, OSError, KeyError):
        return None


def tile_slide(
    slide_id: str, patient_id: str, path: str | Path, out_dir: Path, cfg: TilingConfig, seed: int = 0
) -> dict[str, Any]:
    """Tile one slide into out_dir/<slide_id>.h5 (+ qc/<slide_id>.jpg) unless a fresh store exists.

    Returns {slide_id, status: done|fresh|redone|failed, reason, n_tiles: {'10x': n, ...}, warnings, seconds}.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    final = store_path(out_dir, slide_id)
    qc_file = qc_path(out_dir, slide_id)
    result: dict[str, Any] = {
        "slide_id": slide_id,
        "patient_id": patient_id,
        "path": str(path),
        "status": "failed",
        "reason": None,
        "n_tiles": {},
        "n_blurred": {},
        "warnings": [],
        "step_seconds": {},  # mask, tiles (read, filter, store), qc: where a tiled slide's time went
    }
    try:
        expected = {
            "slide_id": slide_id,
            "patient_id": patient_id,
            "content_hash": content_hash(path),
            "params_hash": params_hash(cfg, seed),
        }
        existed = final.exists()
        counts = _fresh_counts(final, qc_file, expected, cfg) if existed else None
        if counts is not None:
            result.update(status="fresh", n_tiles=counts)
        else:
            if existed:  # stale: remove it now so no later stage can trust it, even if this slide now fails
                final.unlink(missing_ok=True)
                for old in (qc_file, *(qc_file.with_suffix(suffix) for suffix in LEGACY_SUFFIXES)):
                    old.unlink(missing_ok=True)
            with open_slide(path, cfg.reader) as slide:
                _tile_into(slide, final, qc_file, expected, cfg, seed, result)
            result["status"] = "redone" if existed else "done"
    except OutputError:
        raise  # the OS refused to write (full disk, read-only folder): not this slide's fault, stop the run
    except OSError as exc:
        if is_write_refusal(exc, out_dir):
            raise output_error(exc, final, "cannot write the tile store") from None
        result["reason"] = f"{path}: {exc}"
    except MmdlmError as exc:
        result["reason"] = exc.one_line()
    n = result["n_tiles"]
    if result["status"] != "failed":
        if n and all(v == 0 for v in n.values()):
            result["warnings"].append(f"slide {slide_id}: no tissue tiles at any magnification (skipped)")
        else:
            result["warnings"] += [
                f"slide {slide_id}: no tissue tiles at {k}" for k, v in n.items() if v == 0
            ]
    result["seconds"] = round(time.perf_counter() - t0, 3)
    result["step_seconds"] = {k: round(v, 3) for k, v in result["step_seconds"].items()}
    return result


def _tile_into(
    slide: SlideReader,
    final: Path,
    qc_file: Path,
    expected: dict[str, Any],
    cfg: TilingConfig,
    seed: int,
    result: dict[str, Any],
) -> None:
    mpp = slide.mpp
    geometries = [tile_geometry(slide, m, cfg.tile_size) for m in cfg.magnifications]
    check_tiles_fit(slide, geometries)
    steps = result["step_seconds"]
    t0 = time.perf_counter()
    mask = tissue_mask(slide, cfg)
    steps["mask"] = time.perf_counter() - t0
    identity = SlideIdentity(
        slide_id=expected["slide_id"],
        patient_id=expected["patient_id"],
        slide_path=str(Path(slide.path).resolve()),
        width=slide.dimensions[0],
        height=slide.dimensions[1],
        mpp_x=mpp.x,
        mpp_y=mpp.y,
        mpp_source=mpp.source,
        vendor=slide.vendor,
        content_hash=expected["content_hash"],
        params_hash=expected["params_hash"],
        params_json=cfg.model_dump_json(exclude={"workers"}),
    )
    coords = {
        g.magnification: tile_grid(slide, g.magnification, cfg.tile_size, cfg.tissue_fraction, mask=mask)
        for g in geometries
    }
    cap = cfg.max_tiles_per_slide
    sampled = [g for g in geometries if cap is not None and cap < len(coords[g.magnification])]
    outcome: dict[float, tuple[np.ndarray, int]] = {}
    with atomic_path(final) as tmp:
        t0 = time.perf_counter()
        with TileStoreWriter(tmp, identity, cfg.compression) as writer:
            for geometry in sampled:
                outcome[geometry.magnification] = _tile_sampled(
                    slide, geometry, coords[geometry.magnification], writer, cfg, seed, expected["slide_id"]
                )
            # the others in read groups: magnifications read from the same level share their decoded regions
            for group in read_groups([g for g in geometries if g not in sampled], share=slide.reads_argb):
                outcome.update(_tile_group(slide, group, coords, writer, cfg))
        kept = []
        for geometry in geometries:
            kept_coords, n_blurred = outcome[geometry.magnification]
            kept.append((kept_coords, geometry.level0_size))
            result["n_tiles"][mag_label(geometry.magnification)] = len(kept_coords)
            result["n_blurred"][mag_label(geometry.magnification)] = n_blurred
        steps["tiles"] = time.perf_counter() - t0
        # the QC image lands first: a store under its final name always has its QC image
        t0 = time.perf_counter()
        qc_thumb = slide_thumbnail(
            slide,
            cfg.qc_mpp,
            cfg.qc_max_side,
            associated=cfg.use_associated_thumbnail,
            finer=mask.thumbnail,  # usually at least as fine as the QC image: no second decode
            slack=QC_SLACK,
        )
        write_qc(qc_file, qc_thumb, kept, cfg.qc_max_side)
        steps["qc"] = time.perf_counter() - t0


def check_tiles_fit(slide: SlideReader, geometries: list[TileGeometry]) -> None:
    """A tile larger than the slide (at any configured magnification) is a clear error, not 'no tissue'."""
    width, height = slide.dimensions
    for g in geometries:
        if g.level0_size > min(width, height):
            raise MmdlmError(
                f"a {g.tile_size}-px tile at {mag_label(g.magnification)} covers {g.level0_size} level-0 "
                f"pixels, more than the slide's {width} x {height}: no tile fits (lower tiling.tile_size or "
                "the magnification)",
                file=slide.path,
                field="tiling.tile_size",
            )


def _job(args: tuple[str, str, str, Path, TilingConfig, int]) -> ItemResult:
    """One executor task: tile_slide's record as the store stage's typed result."""
    res = tile_slide(*args)
    common = ("slide_id", "status", "reason", "warnings", "seconds")
    fields = {k: v for k, v in res.items() if k not in common}
    return ItemResult(res["slide_id"], res["status"], res["reason"], res["warnings"], res["seconds"], fields)


def _lost(job: tuple[str, str, str, Path, TilingConfig, int], error: WorkerLost) -> ItemResult:
    fields = {"patient_id": job[1], "path": job[2], "n_tiles": {}, "n_blurred": {}}
    return ItemResult(job[0], "failed", f"file {job[2]}: tiling process died (reader crash?)", fields=fields)


def _slide_key(job: tuple[str, str, str, Path, TilingConfig, int]) -> str:
    return job[0]


#: Tiling as a store stage (mmdlm.stores.runner): one job per slide.
TILING_STAGE: StoreStage = StoreStage(
    label="tile", title="tiling", what="tile folder", run=_job, key=_slide_key, lost=_lost, subfolders=("qc",)
)


def check_slides_table(slides: pd.DataFrame) -> pd.DataFrame:
    """Validate the slides table (slide_id, patient_id, path; unique IDs usable as file names)."""
    missing = [c for c in SLIDE_COLUMNS if c not in slides.columns]
    if missing:
        raise MmdlmError("slides table lacks columns", field=",".join(missing))
    table = slides.loc[:, list(SLIDE_COLUMNS)].astype(str).reset_index(drop=True)
    for row, slide_id in enumerate(table["slide_id"], start=1):
        _check_slide_id(slide_id, row)
    dup = table["slide_id"][table["slide_id"].duplicated()]
    if len(dup):
        raise MmdlmError(f"duplicate slide_id {dup.iloc[0]!r}", field="slide_id")
    return table


def tile_slides(
    slides: pd.DataFrame,
    out_dir: str | Path,
    cfg: TilingConfig,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    executor: ExecutorConfig | None = None,
) -> dict[str, Any]:
    """Tile every slide (columns slide_id, patient_id, path) into out_dir; returns the summary (also written
    to out_dir/summary.json). Fresh stores are skipped, stale ones redone, failed slides
    listed (not raised). Slides run on `executor` (None: the local pool of `workers`, else cfg.workers)."""
    out_dir = Path(out_dir)
    table = check_slides_table(slides)
    workers = cfg.workers if workers is None else workers
    jobs = [(r.slide_id, r.patient_id, r.path, out_dir, cfg, seed) for r in table.itertuples()]

    def finish(results: list[ItemResult], ran_on: dict[str, Any], seconds: float) -> dict[str, Any]:
        _write_index(out_dir, results, cfg)
        return _summarise(results, cfg, seed, ran_on, seconds)

    resources = executor.resources.tile if executor is not None else None
    return run_store_stage(
        TILING_STAGE, out_dir, jobs, finish, executor=executor, workers=workers, resources=resources,
        progress=progress,
    )


def _summarise(
    results: list[ItemResult], cfg: TilingConfig, seed: int, ran_on: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """summary.json (docs/formats/tiles.md): the status vocabulary's lists and counts ('fresh', 'redone'),
    with the former names 'skipped_fresh' and 'redone_stale' still written for existing readers."""
    by_status = {s: [r.key for r in results if r.status == s] for s in ("done", "fresh", "redone")}
    failed = [
        {"slide_id": r.key, "path": r.fields["path"], "reason": r.reason}
        for r in results
        if r.status == "failed"
    ]
    counts = {r.key: r.fields["n_tiles"] for r in results}
    no_tissue = [r.key for r in results if r.kept and counts[r.key] and not any(counts[r.key].values())]
    warnings = [w for r in results for w in r.warnings]
    tiles = {mag_label(m): sum(n.get(mag_label(m), 0) for n in counts.values()) for m in cfg.magnifications}
    return {
        "slides": len(results),
        "done": by_status["done"],
        "fresh": by_status["fresh"],
        "redone": by_status["redone"],
        "skipped_fresh": by_status["fresh"],  # former name of 'fresh', kept for existing readers
        "redone_stale": by_status["redone"],  # former name of 'redone'
        "failed": failed,
        "no_tissue": no_tissue,
        "counts": {
            "done": len(by_status["done"]),
            "fresh": len(by_status["fresh"]),
            "redone": len(by_status["redone"]),
            "skipped_fresh": len(by_status["fresh"]),
            "redone_stale": len(by_status["redone"]),
            "failed": len(failed),
            "no_tissue": len(no_tissue),
            "warnings": len(warnings),
        },
        "tiles": tiles,
        "warnings": warnings,
        "per_slide": {
            r.key: {
                "status": r.status,
                "n_tiles": r.fields["n_tiles"],
                "n_blurred": r.fields.get("n_blurred", {}),
                "seconds": r.seconds,
                "step_seconds": r.fields.get("step_seconds", {}),
            }
            for r in results
        },
        "params_hash": params_hash(cfg, seed),
        "seed": seed,
        "workers": ran_on["workers"],
        "executor": ran_on["kind"],
        "seconds": round(seconds, 2),
    }


def _write_index(out_dir: Path, results: list[ItemResult], cfg: TilingConfig) -> None:
    """index.csv: one row per (slide, magnification) with at least one tile; paths relative to out_dir."""
    rows = []
    for r in results:
        if r.status == "failed":
            continue
        for m in cfg.magnifications:
            n = r.fields["n_tiles"].get(mag_label(m), 0)
            if n > 0:
                rows.append(
                    {
                        "slide_id": r.key,
                        "patient_id": r.fields["patient_id"],
                        "magnification": float(m),
                        "n_tiles": n,
                        "path": f"{r.key}.h5",
                    }
                )
    write_text_atomic(
        out_dir / "index.csv", pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).to_csv(index=False)
    )

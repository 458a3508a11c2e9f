"""`mmdlm features`: every slide's tissue tiles and every patient's radiology planes embedded once into
FEATS (docs/formats/features.md); resumable per slide, atomic per store, fanned out on the executor."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmdlm.atomic import atomic_path, write_json_atomic, write_text_atomic
from mmdlm.encoders.config import EncoderConfig
from mmdlm.errors import MmdlmError
from mmdlm.features.config import FeaturesConfig
from mmdlm.features.store import (
    grid_hash,
    radiology_store_path,
    slide_store_path,
    store_is_fresh,
    write_radiology_store,
    write_slide_store,
)
from mmdlm.oserrors import OutputError, is_write_refusal, output_error
from mmdlm.slides.config import TilingConfig

INDEX_COLUMNS = ("slide_id", "patient_id", "magnification", "n_tiles", "path")
RADIOLOGY_INDEX_COLUMNS = ("patient_id", "n_planes", "planes", "path")


@dataclass(frozen=True)
class FeatureJob:
    """A shard of slides embedded by one process with one encoder (built once per shard)."""

    slides: tuple[tuple[str, str, str], ...]  # (slide_id, patient_id, path)
    out_dir: Path
    tiling: TilingConfig
    encoder: EncoderConfig
    features: FeaturesConfig
    in_worker: bool = True


@dataclass
class SlideResult:
    """What happened to one slide (done, fresh, redone, failed); tiles kept and blurred per magnification."""

    slide_id: str
    patient_id: str
    path: str
    status: str = "failed"
    reason: str | None = None
    n_tiles: dict[str, int] = field(default_factory=dict)
    n_blurred: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _mag(m: float) -> str:
    return f"{float(m):g}x"


def expected_attrs(slide_id: str, patient_id: str, path: str, tiling: TilingConfig, encoder_key: str) -> dict:
    """The attributes a fresh store of this slide carries (slide content, tissue grid, encoder identity)."""
    from mmdlm.slides.store import content_hash

    return {
        "slide_id": slide_id,
        "patient_id": patient_id,
        "content_hash": content_hash(path),
        "grid_hash": grid_hash(tiling),
        "encoder_key": encoder_key,
    }


def embed_slide(job: FeatureJob, slide: tuple[str, str, str], encoder, rt, progress=None) -> SlideResult:
    """Embed one slide into FEATS/<slide_id>.h5 unless a fresh store exists (a stale one is removed first)."""
    from mmdlm.features.embed import embed_grid
    from mmdlm.features.tiles import slide_grid

    t0 = time.perf_counter()
    slide_id, patient_id, path = slide
    res = SlideResult(slide_id, patient_id, path)
    final = slide_store_path(job.out_dir, slide_id)
    try:
        expected = expected_attrs(slide_id, patient_id, path, job.tiling, encoder.identity.key)
        existed = final.exists()
        if existed and store_is_fresh(final, expected):
            from mmdlm.features.store import read_attrs

            attrs = read_attrs(final)
            res.status, res.n_tiles = "fresh", dict(_json(attrs.get("n_tiles", "{}")))
            res.n_blurred = dict(_json(attrs.get("n_blurred", "{}")))
        else:
            final.unlink(missing_ok=True)  # stale: no later stage may trust it, even if this slide fails now
            grid = slide_grid(path, job.tiling)
            parts, blurred = embed_grid(encoder, grid, job.tiling.blur_threshold, rt, progress)
            res.n_tiles = {_mag(p.magnification): len(p.coords) for p in parts}
            res.n_blurred = {_mag(m): n for m, n in blurred.items()}
            attrs = {
                **expected,
                **encoder.identity.as_attrs(),
                "encoder_key": encoder.identity.key,
                "slide_path": str(Path(path).resolve()),
                "mpp_x": grid.mpp_x,
                "mpp_y": grid.mpp_y,
                "vendor": grid.vendor,
                "tile_size": job.tiling.tile_size,
                "n_tiles": res.n_tiles,
                "n_blurred": res.n_blurred,
            }
            with atomic_path(final) as tmp:
                write_slide_store(tmp, attrs, parts)
            res.status = "redone" if existed else "done"
    except OutputError:
        raise
    except OSError as exc:
        if is_write_refusal(exc, job.out_dir):
            raise output_error(exc, final, "cannot write the feature store") from None
        res.reason = f"{path}: {exc}"
    except MmdlmError as exc:
        res.reason = exc.one_line()
    res.seconds = round(time.perf_counter() - t0, 3)
    return res


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def run_shard(job: FeatureJob, progress=None) -> list[SlideResult]:
    """Build the encoder once and embed every slide of the shard (the executor's task function)."""
    import torch

    from mmdlm.encoders.registry import build_encoder
    from mmdlm.features.embed import runtime

    rt = runtime(job.features, in_worker=job.in_worker)
    encoder = build_encoder(job.encoder).to(rt.device)
    if rt.channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
    return [embed_slide(job, s, encoder, rt, progress) for s in job.slides]


def _shards(slides: pd.DataFrame, n: int) -> list[tuple[tuple[str, str, str], ...]]:
    """Slides dealt round-robin, largest files first, into at most n shards."""
    rows = [(r.slide_id, r.patient_id, r.path) for r in slides.itertuples()]
    rows.sort(key=lambda r: -Path(r[2]).stat().st_size if Path(r[2]).is_file() else 0)
    shards = [tuple(rows[i::n]) for i in range(min(n, len(rows)))]
    return [s for s in shards if s]


def extract_features(
    slides: pd.DataFrame,
    out_dir: str | Path,
    tiling: TilingConfig,
    encoder: EncoderConfig,
    features: FeaturesConfig,
    *,
    rad_dir: str | Path | None = None,
    executor=None,
    progress: bool = True,
) -> dict[str, Any]:
    """Embed every slide (columns slide_id, patient_id, path) and, with `rad_dir`, every radiology plane into
    out_dir; returns the summary (also out_dir/summary.json). Failed slides are listed, not raised."""
    from mmdlm.encoders.registry import build_encoder
    from mmdlm.locks import folder_lock, remove_stale_temporaries
    from mmdlm.slides.pipeline import check_slides_table

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    table = check_slides_table(slides)
    identity = build_encoder(encoder).identity  # a missing weights file fails here, before any write
    with folder_lock(out_dir, "feature folder"):
        remove_stale_temporaries([out_dir, out_dir / "radiology"])
        results, ran_on = _run(table, out_dir, tiling, encoder, features, executor, progress)
        radiology = _embed_radiology(Path(rad_dir), out_dir, encoder, features) if rad_dir else None
        remove_stale_temporaries([out_dir, out_dir / "radiology"])
        _write_index(out_dir, results)
        summary = _summary(results, radiology, identity, tiling, ran_on, time.perf_counter() - t0)
        write_json_atomic(out_dir / "encoder.json", {**identity.as_attrs(), "encoder_key": identity.key})
        write_json_atomic(out_dir / "summary.json", summary)
    return summary


def _run(table, out_dir, tiling, encoder, features, executor, progress) -> tuple[list[SlideResult], dict]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mmdlm.executor import open_executor

    bar = Progress(
        TextColumn("features"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
        console=Console(stderr=True),
        disable=not progress,
    )
    t0 = time.perf_counter()
    done_tiles = [0]
    with open_executor(executor) as ex, bar:
        ran_on = ex.describe()
        inline = ex.kind == "local" and ex.workers == 1
        shards = _shards(table, 1 if inline else ex.workers)
        task = bar.add_task("", total=len(table), rate="")

        def tick(n: int) -> None:
            done_tiles[0] += n
            rate = done_tiles[0] / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, rate=f"{done_tiles[0]} tiles, {rate:.1f} tiles/s")

        results: list[SlideResult] = []
        if inline:
            job = (
                FeatureJob(shards[0], out_dir, tiling, encoder, features, in_worker=False) if shards else None
            )
            for res in run_shard(job, tick) if job else []:
                results.append(res)
                bar.update(task, advance=1)
        else:
            jobs = [FeatureJob(s, out_dir, tiling, encoder, features) for s in shards]
            for outcome in ex.map(run_shard, jobs, label="features"):
                if outcome.error is not None and not isinstance(outcome.error, MmdlmError):
                    if isinstance(outcome.error, OutputError):
                        raise outcome.error
                    shard = [
                        SlideResult(*s, reason=f"feature process died ({outcome.error})")
                        for s in outcome.item.slides
                    ]
                else:
                    shard = outcome.unwrap()
                results += shard
                tick(sum(sum(r.n_tiles.values()) + sum(r.n_blurred.values()) for r in shard))
                bar.update(task, advance=len(shard))
    order = {sid: i for i, sid in enumerate(table["slide_id"])}
    return sorted(results, key=lambda r: order[r.slide_id]), ran_on


def _embed_radiology(rad_dir: Path, out_dir: Path, encoder: EncoderConfig, features: FeaturesConfig) -> dict:
    """Every patient's radiology planes (RAD/index.csv) embedded into FEATS/radiology/<patient_id>.h5."""
    from mmdlm.data.sources import png_images
    from mmdlm.encoders.registry import build_encoder
    from mmdlm.features.embed import embed_images, runtime
    from mmdlm.radiology.store import read_index
    from mmdlm.stores.freshness import input_signature

    index = read_index(rad_dir)
    rt = runtime(features, in_worker=False)
    enc = build_encoder(encoder).to(rt.device)
    rows, counts = [], {"done": 0, "fresh": 0}
    for pid, group in index.groupby("patient_id", sort=True):
        group = group.sort_values("plane")
        planes, paths = list(group["plane"]), list(group["path"])
        expected = {
            "patient_id": str(pid),
            "encoder_key": enc.identity.key,
            "content_hash": "/".join(input_signature(p, "radiology plane") for p in paths),
        }
        final = radiology_store_path(out_dir, str(pid))
        if store_is_fresh(final, expected):
            counts["fresh"] += 1
        else:
            final.unlink(missing_ok=True)
            try:
                images = list(png_images(paths).images)
            except OSError as exc:
                raise MmdlmError(
                    f"unreadable radiology plane ({exc.__class__.__name__})",
                    file=getattr(exc, "filename", None) or paths[0],
                    patient=str(pid),
                ) from None
            feats = embed_images(enc, images, rt)
            with atomic_path(final) as tmp:
                write_radiology_store(tmp, {**expected, **enc.identity.as_attrs()}, planes, feats)
            counts["done"] += 1
        rows.append(
            {
                "patient_id": str(pid),
                "n_planes": len(planes),
                "planes": "|".join(planes),
                "path": f"radiology/{final.name}",
            }
        )
    write_text_atomic(
        out_dir / "radiology" / "index.csv",
        pd.DataFrame(rows, columns=list(RADIOLOGY_INDEX_COLUMNS)).to_csv(index=False),
    )
    return {"patients": len(rows), **counts}


def _write_index(out_dir: Path, results: list[SlideResult]) -> None:
    """index.csv: one row per (slide, magnification) with at least one tile; paths relative to out_dir."""
    rows = [
        {
            "slide_id": r.slide_id,
            "patient_id": r.patient_id,
            "magnification": float(m.removesuffix("x")),
            "n_tiles": n,
            "path": f"{r.slide_id}.h5",
        }
        for r in results
        if r.status != "failed"
        for m, n in r.n_tiles.items()
        if n > 0
    ]
    write_text_atomic(
        out_dir / "index.csv", pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).to_csv(index=False)
    )


def _summary(results, radiology, identity, tiling, ran_on, seconds) -> dict[str, Any]:
    tiles = sum(sum(r.n_tiles.values()) for r in results if r.status in ("done", "redone"))
    embed_seconds = sum(r.seconds for r in results if r.status in ("done", "redone"))
    return {
        "slides": len(results),
        "counts": {s: sum(r.status == s for r in results) for s in ("done", "fresh", "redone", "failed")},
        "failed": [
            {"slide_id": r.slide_id, "path": r.path, "reason": r.reason}
            for r in results
            if r.status == "failed"
        ],
        "tiles": {m: sum(r.n_tiles.get(m, 0) for r in results) for m in map(_mag, tiling.magnifications)},
        "tiles_per_second": round(tiles / embed_seconds, 2) if embed_seconds > 0 else None,
        "radiology": radiology,
        "encoder": {**identity.as_attrs(), "encoder_key": identity.key},
        "grid_hash": grid_hash(tiling),
        "per_slide": {
            r.slide_id: {
                "status": r.status,
                "n_tiles": r.n_tiles,
                "n_blurred": r.n_blurred,
                "seconds": r.seconds,
            }
            for r in results
        },
        "executor": ran_on["kind"],
        "workers": ran_on["workers"],
        "seconds": round(seconds, 2),
    }

"""Whole-slide markup end to end: score the tissue tiles, classify, draw on the thumbnail, export GeoJSON."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mmdlm.atomic import write_json_atomic
from mmdlm.errors import MmdlmError
from mmdlm.explain.classes import TileClasses, tile_classes
from mmdlm.explain.config import ExplainConfig
from mmdlm.explain.markup import SlideScores, markup_thumbnail, score_slide
from mmdlm.explain.overlay import save_png
from mmdlm.explain.qupath import geojson_errors, markup_geojson, write_geojson
from mmdlm.explain.render import markup_overlay, write_markup_figure
from mmdlm.names import id_path
from mmdlm.slides.tissue import Thumbnail


def _on_cuda(model: nn.Module) -> bool:
    return next(model.parameters()).device.type == "cuda"


def store_workers(cfg: ExplainConfig, model: nn.Module) -> int:
    """Readers of stored tiles: `markup_store_workers`, else none on CPU and `markup_workers` on CUDA."""
    if cfg.markup_store_workers is not None:
        return cfg.markup_store_workers
    return cfg.markup_workers if _on_cuda(model) else 0


@dataclass(frozen=True)
class MarkupResult:
    """What a slide markup produced: the scores, classes, thumbnail and the files written."""

    scores: SlideScores
    classes: TileClasses
    thumbnail: Thumbnail
    png: Path  # overlay, exactly the thumbnail's size
    figure: Path  # overlay with legend
    geojson: Path
    summary: Path


def markup_slide(
    model: nn.Module,
    slide_path: str | Path,
    out_dir: str | Path,
    slide_id: str,
    *,
    tile_size: int,
    tissue_fraction: float,
    image_size: int | None = None,
    context: Mapping[str, torch.Tensor] | None = None,
    cfg: ExplainConfig | None = None,
    tiling_cfg=None,
    risk_reference: np.ndarray | None = None,
    store: str | Path | None = None,
) -> MarkupResult:
    """Mark up one slide at `cfg.markup_magnification` and write `<slide_id>.markup.png` (thumbnail size),
    `<slide_id>.markup_legend.png`, `<slide_id>.geojson` and `<slide_id>.markup.json` in `out_dir`. Tiles are
    read from `store` (the slide's tile store) when it holds exactly the markup grid, else from the slide."""
    cfg = cfg or ExplainConfig()
    out_dir = Path(out_dir)
    scores = score_slide(
        model,
        slide_path,
        magnification=cfg.markup_magnification,
        tile_size=tile_size,
        tissue_fraction=tissue_fraction,
        context=context,
        batch_size=cfg.markup_batch_size,
        num_workers=cfg.markup_workers,
        image_size=image_size,
        tiling_cfg=tiling_cfg,
        bf16=cfg.markup_bf16_on_cuda and _on_cuda(model),
        store=store,
        slide_id=slide_id,
        store_workers=store_workers(cfg, model),
    )
    source = scores.tile_source
    logging.getLogger("mmdlm.explain").info(
        "markup %s: tiles from the %s (%s)", slide_id, source.kind, source.reason
    )
    classes = tile_classes(scores.task, scores.scores, cfg.risk_quantiles, risk_reference)
    thumb = markup_thumbnail(slide_path, cfg.thumbnail_max_side,
                             tiling_cfg.reader if tiling_cfg is not None else "openslide")
    geo = markup_geojson(scores.coords, scores.level0_size, scores.scores, classes)
    problems = geojson_errors(geo, scores.width, scores.height)
    if problems:  # a bug, not a user error: never write an export QuPath would misplace
        raise RuntimeError(f"markup GeoJSON invalid: {problems[:3]}")
    overlay = markup_overlay(
        thumb, scores.coords, scores.level0_size, classes, cfg.markup_min_alpha, cfg.markup_max_alpha
    )
    context_txt = "context: " + (", ".join(scores.context) if scores.context else "muted")
    png = save_png(id_path(out_dir, slide_id, ".markup.png", field="slide_id"), overlay)
    title = f"{slide_id} - {scores.task} markup at {scores.magnification:g}x"
    figure = write_markup_figure(
        id_path(out_dir, slide_id, ".markup_legend.png", field="slide_id"),
        overlay,
        classes,
        title,
        context_txt,
    )
    geojson = write_geojson(id_path(out_dir, slide_id, ".geojson", field="slide_id"), geo)
    counts = np.bincount(classes.index, minlength=len(classes.names))
    summary = write_json_atomic(
        id_path(out_dir, slide_id, ".markup.json", field="slide_id"),
        {
            "slide_id": slide_id,
            "slide_path": str(scores.slide_path),
            "task": scores.task,
            "magnification": scores.magnification,
            "tile_size": scores.tile_size,
            "level0_size": scores.level0_size,
            "slide_size": [scores.width, scores.height],
            "thumbnail_size": [int(thumb.rgb.shape[1]), int(thumb.rgb.shape[0])],
            "n_tiles": int(len(scores.coords)),
            "tile_source": source.kind,
            "context": list(scores.context),
            "classes": {n: int(c) for n, c in zip(classes.names, counts, strict=True)},
            "score_name": classes.score_name,
            "score_mean": float(np.mean(scores.scores)) if len(scores.scores) else None,
            "certainty_mean": float(np.mean(classes.certainty)) if len(scores.scores) else None,
            "risk_reference": "run patients" if risk_reference is not None else "slide tiles",
        },
    )
    if len(scores.coords) == 0:
        raise MmdlmError(
            "no tissue tile found on the slide at this magnification",
            file=slide_path,
            field="explain.markup_magnification",
        )
    return MarkupResult(scores, classes, thumb, png, figure, geojson, summary)

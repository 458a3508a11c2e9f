"""`mmdlm explain` for a run directory: attention summary, Grad-CAM overlays and gallery, WSI markups.

Everything is written under RUN/explain/ (`out_dir`); each file atomically. Inputs are explicit: the run
directory (predictions.csv, metrics.json, cv/<task>/fold_<k>/<configuration>/model.ckpt), the manifest, tile
and radiology stores, and a `load_model(checkpoint) -> (model, meta)` (default: mmdlm.train's).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from mmdlm.atomic import write_json_atomic
from mmdlm.cohort.paths import CohortPaths
from mmdlm.errors import MmdlmError
from mmdlm.explain.attention import read_predictions, write_attention_summary
from mmdlm.explain.gradcam import gradcam
from mmdlm.explain.imaging import tensor_to_rgb
from mmdlm.explain.overlay import GalleryRow, blend_cam, save_png, write_gallery
from mmdlm.explain.patients import (
    choose_checkpoint,
    extremes,
    fold_checkpoint,
    fold_scores,
    image_modalities,
    patient_folds,
    patient_inputs,
    patient_scores,
    ranking_scores,
)
from mmdlm.explain.tilesource import store_for_slide, store_index
from mmdlm.explain.wsi import markup_slide
from mmdlm.modalities import CONFIGURATIONS, MODALITIES, magnification_modality
from mmdlm.names import id_path
from mmdlm.runlayout import RunLayout
from mmdlm.tasks.registry import get_task

log = logging.getLogger("mmdlm.explain")

LoadModel = Callable[[Path], tuple[torch.nn.Module, dict]]


class FoldModels:
    """The fold models of one task and configuration, loaded on first use: a patient is explained by the model
    of the fold in which it was a validation patient (never by a model that trained on it)."""

    def __init__(self, run_dir: Path, task: str, configuration: str, load_model: LoadModel,
                 device: torch.device, bf16_channels_last: bool) -> None:
        self.run_dir, self.task, self.configuration = run_dir, task, configuration
        self._load, self._device, self._cl = load_model, device, bf16_channels_last
        self._cache: dict[int, tuple[torch.nn.Module, dict]] = {}
        self.checkpoints: dict[int, str] = {}

    def get(self, fold: int) -> tuple[torch.nn.Module, dict]:
        """(model on the device in eval mode, meta) of fold `fold`."""
        if fold not in self._cache:
            checkpoint = fold_checkpoint(self.run_dir, self.task, self.configuration, fold)
            model, meta = self._load(checkpoint)
            model = model.to(self._device).eval()
            if self._cl:
                model = model.to(memory_format=torch.channels_last)
            if getattr(model, "task", self.task) != self.task:
                raise MmdlmError(f"checkpoint is a {model.task} model, expected {self.task}", file=checkpoint)
            self._cache[fold] = (model, meta)
            self.checkpoints[fold] = str(checkpoint.relative_to(self.run_dir))
        return self._cache[fold]

    def shape(self, fold: int, cfg, records) -> tuple[int, int]:
        """(image size, genomic length) of the fold model's inputs (checkpoint metadata, else config's)."""
        from mmdlm.data.records import n_genomic

        model, meta = self.get(fold)
        size = int(meta.get("image_size") or cfg.data.image_size)
        return size, int(getattr(model, "n_genomic", n_genomic(list(records.values()))))


@dataclass(frozen=True)
class RunSources:
    """Where a run's inputs are: the run directory, and the manifest, tile and radiology stores of its cohort
    (a store None: absent)."""

    run_dir: Path
    cohort: CohortPaths


def default_sources(run_dir: str | Path, cohort: CohortPaths | None = None) -> RunSources:
    """The run with `cohort`'s manifest and stores; the manifest defaults to RUN/manifest (which must then
    exist), a store not given to RUN/tiles or RUN/radiology (None when that does not exist)."""
    run_dir = Path(run_dir)
    cohort = cohort or CohortPaths(run_dir / "manifest")
    if cohort.manifest == run_dir / "manifest" and not cohort.manifest.is_dir():
        raise MmdlmError("run has no manifest snapshot; pass --cohort", file=run_dir / "manifest")

    def pick(given: Path | None, name: str) -> Path | None:
        if given is not None:
            return given
        return run_dir / name if (run_dir / name).is_dir() else None

    stores = dataclasses.replace(cohort, tiles=pick(cohort.tiles, "tiles"),
                                 radiology=pick(cohort.radiology, "radiology"))
    return RunSources(run_dir, stores)


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU; otherwise the named device (MmdlmError if unusable)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise MmdlmError(f"not a torch device: '{name}'", field="explain.device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MmdlmError("CUDA is not available on this machine", field="explain.device")
    return device


def _default_loader() -> LoadModel:
    from mmdlm.train.checkpoints import load_model

    return load_model


def explain_run(
    sources: RunSources,
    cfg,
    out_dir: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    patients: Sequence[str] | None = None,
    slides: Sequence[str] | None = None,
    configuration: str | None = None,
    load_model: LoadModel | None = None,
) -> dict:
    """Write the run's explanations to `out_dir` and return (and write) explain/summary.json's content.

    `cfg` is the full Config. `patients`: the gallery's patients (default: the `gallery_size` highest and
    lowest scoring); `slides`: slide IDs to mark up (default: the first slide of the `markup_slides`
    highest-scoring patients).
    """
    from mmdlm.cohort.manifest import load_manifest
    from mmdlm.data.records import load_records

    out_dir = Path(out_dir)
    load_model = load_model or _default_loader()
    device = resolve_device(cfg.explain.device)
    summary: dict = {"tasks": {}, "device": str(device)}
    pred_path = RunLayout(sources.run_dir).predictions_csv
    predictions = read_predictions(pred_path) if pred_path.is_file() else None
    if predictions is not None:
        csv, png = write_attention_summary(out_dir, predictions)
        summary["attention"] = {"table": csv.name, "plot": png.name}
    else:
        log.warning(
            "no predictions.csv in %s: attention summary and patient ranking skipped", sources.run_dir
        )
    manifest = load_manifest(sources.cohort.manifest)
    records = {r.patient_id: r for r in load_records(sources.cohort, cfg, manifest)}
    unknown = [p for p in patients or [] if p not in records]
    if unknown:
        raise MmdlmError(
            "patient not in the run's cohort (or without outcome / any modality)",
            patient=unknown[0],
            field="--patients",
        )
    known_slides = set(manifest.slides["slide_id"].astype(str)) if len(manifest.slides) else set()
    missing = [s for s in slides or [] if s not in known_slides]
    if missing:
        raise MmdlmError(
            f"slide '{missing[0]}' is not in the manifest",
            file=sources.cohort.manifest / "slides.csv",
            field="--slides",
        )
    tile_index = store_index(sources.cohort.tiles)  # markup reads a slide's tiles from its store when it can
    for task in tasks or cfg.cv.tasks:
        _, conf, _ = choose_checkpoint(sources.run_dir, task, configuration)
        models = FoldModels(sources.run_dir, task, conf, load_model, device,
                            device.type == "cuda" and cfg.explain.markup_bf16_on_cuda)
        folds = patient_folds(predictions, sources.run_dir, task, conf)
        entry: dict = {"configuration": conf, "fold": "per patient (its validation fold)"}
        scores = (
            ranking_scores(predictions, task, conf) if predictions is not None else pd.Series(dtype=float)
        )
        oof = patient_scores(predictions, task, conf) if predictions is not None else pd.Series(dtype=float)
        task_dir = out_dir / task
        ctx = _Context(task, conf, records, folds, models, predictions, cfg, task_dir)
        entry["gallery"] = _gallery(ctx, scores, oof, patients)
        entry["markup"] = _markups(ctx, manifest.slides, scores, slides, tile_index)
        entry["checkpoints"] = {str(k): v for k, v in sorted(models.checkpoints.items())}
        summary["tasks"][task] = entry
    write_json_atomic(out_dir / "summary.json", summary)
    return summary


@dataclass(frozen=True)
class _Context:
    """What the gallery and the markup of one task share."""

    task: str
    conf: str
    records: dict
    folds: dict[str, int]
    models: FoldModels
    predictions: pd.DataFrame | None
    cfg: object
    task_dir: Path


def _gallery(ctx: _Context, scores: pd.Series, oof: pd.Series, patients) -> dict:
    task, conf, cfg, records, task_dir = ctx.task, ctx.conf, ctx.cfg, ctx.records, ctx.task_dir
    active = CONFIGURATIONS[conf]
    if not image_modalities(active):
        return {"skipped": f"configuration {conf} has no image modality"}
    if patients:
        groups = [(p, "selected") for p in patients]
    else:
        ranked = scores[[p for p in scores.index if p in records and p in ctx.folds]]
        if ranked.empty:
            return {"skipped": "no patient with a prediction for this configuration"}
        top, bottom = extremes(ranked, cfg.explain.gallery_size)
        label = get_task(task).score_label
        groups = [(p, f"highest {label}") for p in top] + [(p, f"lowest {label}") for p in bottom]
    rows, files, used, shown_scores = [], {}, {}, {}
    for pid, group in groups:
        if pid not in ctx.folds:
            log.warning("patient %s was not a validation patient of any fold: not in the gallery", pid)
            continue
        fold = ctx.folds[pid]
        model, _ = ctx.models.get(fold)
        device = next(model.parameters()).device
        shape = ctx.models.shape(fold, cfg, records)
        inputs, mask = patient_inputs(records[pid], active, *shape, cfg.seed, device)
        present = [m for m in image_modalities(active) if bool(mask[0, MODALITIES.index(m)])]
        if not present:
            log.warning("patient %s has no image of configuration %s: not in the gallery", pid, conf)
            continue
        cams = gradcam(model, inputs, mask, tuple(present), cfg.explain.cam_layer)
        with torch.inference_mode():
            out = model(inputs, mask)
        score = float(get_task(task).score(out)[0])
        overlays = {}
        for m, cam in cams.items():
            overlay = blend_cam(
                tensor_to_rgb(inputs[m][0]),
                cam[0].cpu().numpy(),
                cfg.explain.cam_colormap,
                cfg.explain.cam_alpha,
            )
            path = save_png(id_path(task_dir / "cam", pid, f"_{m}.png", field="patient_id"), overlay)
            files.setdefault(pid, {})[m] = str(path.relative_to(task_dir.parent))
            overlays[m] = overlay
        # the score shown is the explaining model's own, on the input the Grad-CAM explains
        used[pid] = fold
        shown_scores[pid] = {"explained_input": score,
                             "validation_mean": float(oof[pid]) if pid in oof.index else None}
        rows.append(GalleryRow(pid, score, get_task(task).score_column, f"{group}, fold {fold} model",
                               overlays))
    if not rows:
        return {"skipped": "no patient with an image"}
    title = f"Grad-CAM ({cfg.explain.cam_layer}), {task}, {conf}: each patient by its validation fold's model"
    gallery = write_gallery(task_dir / "gallery.png", rows, title)
    return {
        "file": str(gallery.relative_to(task_dir.parent)),
        "patients": [r.patient_id for r in rows],
        "folds": used,
        "scores": shown_scores,
        "overlays": files,
    }


def _markups(
    ctx: _Context,
    slide_table: pd.DataFrame,
    scores,
    slides,
    tile_index: pd.DataFrame | None = None,
) -> list[dict]:
    task, conf, cfg, records, task_dir = ctx.task, ctx.conf, ctx.cfg, ctx.records, ctx.task_dir
    ex = cfg.explain
    tile_modality = magnification_modality(ex.markup_magnification)
    active = CONFIGURATIONS[conf]
    if tile_modality not in active:
        log.warning("configuration %s does not use %s: no markup", conf, tile_modality)
        return []
    table = slide_table.assign(
        slide_id=slide_table["slide_id"].astype(str), patient_id=slide_table["patient_id"].astype(str)
    )
    if slides:
        chosen = table[table["slide_id"].isin(list(slides))]
    else:
        with_slide = set(table["patient_id"])
        order = [p for p in scores.index if p in with_slide and p in ctx.folds][: ex.markup_slides]
        chosen = (
            pd.concat([table[table["patient_id"] == p].head(1) for p in order]) if order else table.head(0)
        )
    results = []
    for row in chosen.itertuples(index=False):
        if row.patient_id not in ctx.folds:
            log.warning("slide %s: patient %s was not a validation patient of any fold: no markup",
                        row.slide_id, row.patient_id)
            continue
        fold = ctx.folds[row.patient_id]
        model, _ = ctx.models.get(fold)
        device = next(model.parameters()).device
        shape = ctx.models.shape(fold, cfg, records)
        # Cox classes from the quantiles of this fold model's own validation risks (its scale)
        reference = None
        if get_task(task).quantile_classes and ex.risk_reference == "run":
            own = fold_scores(ctx.predictions, task, conf, fold)
            reference = own if len(own) else None
        context = None
        if ex.markup_context == "patient" and row.patient_id in records:
            inputs, mask = patient_inputs(records[row.patient_id], active, *shape, cfg.seed, device)
            context = {
                m: x for m, x in inputs.items() if m != tile_modality and bool(mask[0, MODALITIES.index(m)])
            }
        result = markup_slide(
            model,
            row.path,
            task_dir / "markup",
            row.slide_id,
            tile_size=cfg.tiling.tile_size,
            tissue_fraction=cfg.tiling.tissue_fraction,
            image_size=shape[0],
            context=context,
            cfg=ex,
            tiling_cfg=cfg.tiling,
            risk_reference=reference,
            store=store_for_slide(tile_index, row.slide_id, ex.markup_magnification),
        )
        rel = task_dir.parent
        results.append(
            {
                "slide_id": row.slide_id,
                "patient_id": row.patient_id,
                "fold": fold,
                "risk_reference": None if reference is None else f"fold {fold} model's validation risks",
                "n_tiles": int(len(result.scores.coords)),
                "tile_source": result.scores.tile_source.kind,
                "context": list(result.scores.context),
                "png": str(result.png.relative_to(rel)),
                "figure": str(result.figure.relative_to(rel)),
                "geojson": str(result.geojson.relative_to(rel)),
                "summary": str(result.summary.relative_to(rel)),
            }
        )
    return results

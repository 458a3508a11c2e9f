"""Explaining the MIL family: per tile its attention within the bag and its own risk (the fold model's output
when that tile alone stands for its modality, the patient's other modalities as context), drawn on the slide
thumbnail and written as QuPath GeoJSON, from the fold model for which the patient was a validation
patient."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mmdlm.errors import MmdlmError
from mmdlm.mil.bags import BagRecord, collate_bags
from mmdlm.mil.model import MilNet
from mmdlm.mil.saved import MODEL_FILE, load_mil_model
from mmdlm.modalities import IMAGE_MODALITIES, MODALITIES, RADIOLOGY
from mmdlm.model.fusion import fuse_embeddings
from mmdlm.names import id_path


@dataclass(frozen=True)
class TileMap:
    """One slide's tiles of one modality: level-0 coords, attention (sums to 1 over the patient's bag) and
    the per-tile score (risk, or p(dead within 5 years))."""

    modality: str
    slide_id: str
    coords: np.ndarray
    level0_size: int
    attention: np.ndarray
    score: np.ndarray


@torch.inference_mode()
def tile_maps(
    model: MilNet, record: BagRecord, active: tuple[str, ...], n_genomic: int, dims: dict[str, int]
) -> list[TileMap]:
    """Per slide and tile modality: each tile's attention and its own score."""
    bags = collate_bags([record], active, n_genomic, dims)
    out = model(bags)
    # context: every modality's bag embedding, as the fused model sees the patient
    mask = bags.mask.to(torch.bool)
    parts = []
    for name in MODALITIES:
        if name in bags.instances and name in model.pools and bool(mask[0, MODALITIES.index(name)]):
            parts.append(model.pools[name](bags.instances[name], bags.instance_mask[name])[0])
        elif name not in IMAGE_MODALITIES and bool(mask[0, MODALITIES.index(name)]):
            parts.append(model.genomic(bags.genomics.float()))
        else:
            parts.append(torch.zeros(1, model.width))
    context = torch.stack(parts, dim=1)
    maps = []
    for modality, attention in out.instance_attention.items():
        if modality == RADIOLOGY:
            continue
        h = model.pools[modality].embed(bags.instances[modality][0].float())  # [N, width]
        emb = context.expand(len(h), -1, -1).clone()
        emb[:, MODALITIES.index(modality)] = h  # each tile alone stands for its modality
        tile_scores = model.task.score(
            fuse_embeddings(emb, mask.expand(len(h), -1), model.score, model.modality_bias, model.head)
        ).numpy()
        for part in record.parts.get(modality, []):
            maps.append(
                TileMap(
                    modality,
                    part.source,
                    part.coords,
                    part.level0_size,
                    attention[0, part.start : part.stop].numpy(),
                    tile_scores[part.start : part.stop],
                )
            )
    return maps


def validation_fold(run_dir: Path, task: str, patient_id: str) -> int:
    """The fold in which `patient_id` was a validation patient (RUN/folds.json)."""
    path = Path(run_dir) / "folds.json"
    try:
        folds = json.loads(path.read_text())["tasks"][task]["folds"]
    except (OSError, KeyError, ValueError) as exc:
        raise MmdlmError(f"no folds of task {task} ({exc.__class__.__name__})", file=path) from None
    if patient_id not in folds:
        raise MmdlmError("patient is in no fold of this run", file=path, patient=patient_id)
    return int(folds[patient_id])


def explain_patient(
    run_dir: Path,
    task: str,
    configuration: str,
    record: BagRecord,
    slide_paths: dict[str, str],
    out_dir: Path,
    thumbnail_max_side: int = 1024,
    reader: str = "openslide",
) -> list[Path]:
    """Attention and risk maps of the patient's slides (PNG on the thumbnail + QuPath GeoJSON) from the fold
    model that never saw the patient in training; returns the files written."""
    from mmdlm.explain.classes import tile_classes
    from mmdlm.explain.markup import markup_thumbnail
    from mmdlm.explain.qupath import markup_geojson, write_geojson
    from mmdlm.explain.render import markup_overlay, write_markup_figure

    fold = validation_fold(run_dir, task, record.patient_id)
    model, meta = load_mil_model(Path(run_dir) / "cv" / task / f"fold_{fold}" / configuration / MODEL_FILE)
    maps = tile_maps(model, record, tuple(meta["active"]), meta["n_genomic"], meta["dims"])
    written = []
    for tmap in maps:
        stem = f"{tmap.slide_id}_{tmap.modality}"
        folder = id_path(out_dir, record.patient_id, field="patient_id")
        risk = tile_classes(task, tmap.score)
        att = dataclasses.replace(
            tile_classes("cox", tmap.attention),
            score_name="attention",
            names=tuple(f"attention Q{i + 1}" for i in range(4)),
        )
        thumb = markup_thumbnail(slide_paths[tmap.slide_id], thumbnail_max_side, reader)
        for kind, classes, values in (("risk", risk, tmap.score), ("attention", att, tmap.attention)):
            geo = id_path(folder, f"{stem}_{kind}", ".geojson", field="slide_id")
            write_geojson(geo, markup_geojson(tmap.coords, tmap.level0_size, values, classes))
            png = geo.with_suffix(".png")
            title = f"{record.patient_id} {tmap.slide_id} {tmap.modality}: per-tile {kind} ({configuration})"
            write_markup_figure(
                png,
                markup_overlay(thumb, tmap.coords, tmap.level0_size, classes),
                classes,
                title,
                f"MIL fold {fold} model (patient in its validation fold)",
            )
            written += [geo, png]
    return written


def explain_mil_run(
    cfg,
    run_dir: Path,
    cohort: Path,
    features: Path,
    out_dir: Path,
    patients: list[str] | None = None,
    configuration: str | None = None,
) -> dict:
    """MIL maps (cox) of `patients`, or of the `explain.gallery_size` highest- and lowest-risk validation
    patients of the configuration (default: the run's reference, the fused one); returns {configuration,
    patients: {patient_id: [files relative to out_dir]}}."""
    import pandas as pd

    from mmdlm.cohort.manifest import load_manifest
    from mmdlm.mil.bags import load_bags

    run_dir = Path(run_dir)
    metrics = (
        json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
    )
    if "cox" not in metrics.get("tasks", {}):
        raise MmdlmError(
            "no cox cross-validation in this run (run `mmdlm cv` with model.family: mil)",
            file=run_dir / "metrics.json",
        )
    conf = configuration or metrics["tasks"]["cox"]["reference"]
    if patients is None:
        pred = pd.read_csv(run_dir / "predictions.csv", dtype={"patient_id": str})
        pred = pred[(pred["task"] == "cox") & (pred["configuration"] == conf)].sort_values("risk")
        k = cfg.explain.gallery_size
        patients = list(pred["patient_id"].head(k)) + list(pred["patient_id"].tail(k))
    manifest = load_manifest(cohort)
    records = {r.patient_id: r for r in load_bags(manifest, features)}
    slides = manifest.slides
    paths = dict(zip(slides["slide_id"], slides["path"], strict=True))
    files = {}
    for pid in dict.fromkeys(patients):
        if pid not in records:
            raise MmdlmError("patient has no feature bags", file=features, patient=pid)
        written = explain_patient(
            run_dir, "cox", conf, records[pid], paths, out_dir, cfg.explain.thumbnail_max_side,
            cfg.tiling.reader,
        )
        files[pid] = [str(p.relative_to(out_dir)) for p in written]
    return {"configuration": conf, "patients": files}

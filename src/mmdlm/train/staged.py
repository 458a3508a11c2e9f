"""The paper's staged protocol: unimodal stages from ImageNet weights, then each multi-modality configuration
initialised from its modalities' unimodal branches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mmdlm.collector import collected_between_stages
from mmdlm.data.records import PatientRecord, n_genomic
from mmdlm.errors import MmdlmError
from mmdlm.modalities import CONFIGURATIONS, MODALITIES
from mmdlm.tasks.registry import get_task
from mmdlm.train.checkpoints import model_from_checkpoint
from mmdlm.train.fit import Devices, fit_stage
from mmdlm.train.predict import predict_model
from mmdlm.train.reuse import FoldReuse, RunShare

log = logging.getLogger("mmdlm.train")


def unimodal_configuration(modality: str) -> str:
    """Name of the single-modality configuration of `modality` (e.g. tile_10x -> histo_10x)."""
    for name, mods in CONFIGURATIONS.items():
        if tuple(mods) == (modality,):
            return name
    raise MmdlmError(f"no single-modality configuration for '{modality}'", field="configuration")


def plan(configurations: Sequence[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Stages to run, in order: (kind, configuration, init modalities). Unimodal stages first (each once)."""
    unknown = [c for c in configurations if c not in CONFIGURATIONS]
    if unknown:
        raise MmdlmError(
            f"unknown configuration '{unknown[0]}'; choose from {', '.join(CONFIGURATIONS)}",
            field="configuration",
        )
    needed = [m for m in MODALITIES if any(m in CONFIGURATIONS[c] for c in configurations)]
    stages = [("unimodal", unimodal_configuration(m), ()) for m in needed]
    multi = [
        ("multimodal", c, tuple(m for m in MODALITIES if m in CONFIGURATIONS[c]))
        for c in dict.fromkeys(configurations)
        if len(CONFIGURATIONS[c]) > 1
    ]
    return stages + multi


def run_stages(
    cfg,
    task: str,
    train: list[PatientRecord],
    val: list[PatientRecord],
    out_dir: Path,
    configurations: Sequence[str],
    *,
    devices: Devices = Devices(),
    resume: bool = True,
    only: str | None = None,
    reuse: FoldReuse | None = None,
) -> dict[str, Path]:
    """Run the plan's stages (or only the stage named `kind:configuration`); returns configuration ->
    model.ckpt. The stages share `reuse` (a new one when None): each model.ckpt is still written, but the
    next stage takes it from memory. Each stage's garbage is collected as it finishes (mmdlm.collector)."""
    out_dir = Path(out_dir)
    reuse = reuse if reuse is not None else FoldReuse.for_config(cfg)
    best: dict[str, Path] = {}
    stages = plan(configurations)
    if only is not None:
        names = [f"{k}:{c}" for k, c, _ in stages]
        if only not in names:
            raise MmdlmError(f"unknown stage '{only}'; this run has {', '.join(names)}", field="stage")
    with collected_between_stages() as collect:
        for kind, conf, init_mods in stages:
            init = {m: out_dir / unimodal_configuration(m) / "model.ckpt" for m in init_mods}
            if only is not None and f"{kind}:{conf}" != only:
                if (out_dir / conf / "model.ckpt").is_file():
                    best[conf] = out_dir / conf / "model.ckpt"
                continue
            missing = [str(p) for p in init.values() if not p.is_file()]
            if missing:
                raise MmdlmError(
                    "run the unimodal stage(s) first: no checkpoint", file=missing[0], field="stage"
                )
            epochs = cfg.train.epochs_unimodal if kind == "unimodal" else cfg.train.epochs_multimodal
            log.info("stage %s:%s (%d epochs)", kind, conf, epochs)
            result = fit_stage(
                cfg,
                task,
                conf,
                train,
                val,
                out_dir / conf,
                epochs=epochs,
                init=init,
                resume=resume,
                devices=devices,
                reuse=reuse,
            )
            best[conf] = result.model
            collect()  # the finished stage's trainer and optimizer state, before the next stage allocates
    return best


def train_fold(
    cfg,
    task: str,
    train: list[PatientRecord],
    val: list[PatientRecord],
    out_dir: Path,
    configurations: Sequence[str],
    *,
    shared: RunShare | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the unimodal stages once, then each multi-modality configuration initialised from them; return per
    configuration the validation predictions per patient (patient_id, risk | p_dead_5y, att_*).

    Writes out_dir/<configuration>/{model.ckpt, last.ckpt, logs/};
    an interrupted fold resumes where it stopped. The fold's stages share one FoldReuse: the seeded initial
    net is built once, images are resized once, a stage's weights reach the next one in memory, and a stage's
    last validation epoch is its prediction when it computed exactly that (else the checkpoint predicts).
    `shared`: the run's images and initial nets, when its folds train in this process one after another.
    """
    reuse = FoldReuse.for_config(cfg, shared)
    best = run_stages(cfg, task, train, val, out_dir, configurations, reuse=reuse)
    n_gen = n_genomic(list(train) + list(val))
    records = [r for r in val if get_task(task).eligible_record(r)]
    out = {}
    for conf in dict.fromkeys(configurations):
        kept = reuse.kept_predictions(best[conf])
        if kept is not None:
            out[conf] = kept
            continue
        model, meta = model_from_checkpoint(reuse.read(best[conf]), best[conf])
        out[conf] = predict_model(model, tuple(meta["active"]), records, cfg, n_gen, cache=reuse.images)
    return out

"""One training stage with PyTorch Lightning: checkpoints (best by the validation metric, last), resume from
last, CSV + TensorBoard logs, devices / precision / DDP from the config."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from mmdlm.allocator import keep_freed_memory
from mmdlm.atomic import write_json_atomic
from mmdlm.data.records import PatientRecord, n_genomic
from mmdlm.errors import MmdlmError
from mmdlm.modalities import CONFIGURATIONS, MODALITIES
from mmdlm.tasks.registry import get_task
from mmdlm.train.checkpoints import AtomicCheckpointIO, model_state, read_checkpoint
from mmdlm.train.loaders import eval_loader, train_loader
from mmdlm.train.module import SurvivalModule, build_net
from mmdlm.train.reuse import FoldReuse

log = logging.getLogger("mmdlm.train")

MODEL, LAST, DONE, STAGE = "model.ckpt", "last.ckpt", "done.json", "stage.json"


@dataclass(frozen=True)
class Devices:
    """Where and how a stage runs (None: take the config's value)."""

    accelerator: str | None = None
    devices: int | str | None = None
    precision: str | None = None
    strategy: str | None = None
    num_nodes: int | None = None


@dataclass(frozen=True)
class StageResult:
    """A finished stage's checkpoints (model.ckpt: the selected weights; last.ckpt: resume state, removed when
    done unless kept) and the validation metric of the selected weights."""

    model: Path
    last: Path
    best_metric: float | None


#: Lightning messages that say nothing about this run (hardware banners, tips, our own folder reuse)
_NOISE = (
    r"Checkpoint directory .* exists and is not empty",
    r".*isinstance\(treespec, LeafSpec\).*",
    r"The '(train|val)_dataloader' does not have many workers.*",
)


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's INFO banners (GPU/TPU available, tips, 'fit stopped') and known-harmless warnings off,
    for the duration of one stage; real warnings still show and everything goes to mmdlm's log."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        with warnings.catch_warnings():
            for pattern in _NOISE:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _resolve_accelerator(name: str) -> str:
    if name == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    return name


def _strategy(name: str):
    if name in ("ddp", "ddp_spawn", "ddp_fork"):
        from lightning.pytorch.strategies import DDPStrategy

        start = {"ddp": "popen", "ddp_spawn": "spawn", "ddp_fork": "fork"}[name]
        return DDPStrategy(start_method=start, find_unused_parameters=True)
    return name


def trainer_kwargs(cfg, devices: Devices) -> dict:
    """Trainer arguments for the config plus command-line overrides."""
    t = cfg.train
    accelerator = _resolve_accelerator(devices.accelerator or t.accelerator)
    deterministic = (True if accelerator == "cpu" else "warn") if t.deterministic else False
    return {
        "accelerator": accelerator,
        "devices": devices.devices if devices.devices is not None else t.devices,
        "num_nodes": devices.num_nodes or t.num_nodes,
        "precision": devices.precision or t.precision,
        "strategy": _strategy(devices.strategy or t.strategy),
        "deterministic": deterministic,
        "check_val_every_n_epoch": t.check_val_every_n_epoch,
    }


def stage_key(
    cfg,
    task: str,
    configuration: str,
    train: Sequence[PatientRecord],
    val: Sequence[PatientRecord],
    init: dict[str, Path],
    epochs: int,
) -> str:
    """Hash of everything a stage's weights depend on (a stage folder with another key is stale)."""
    dump = cfg.model_dump(mode="json")
    train_cfg = {
        k: v
        for k, v in dump["train"].items()
        if k not in ("devices", "num_nodes", "accelerator", "keep_last_checkpoint", "resume_every_n_epochs")
    }
    blob = json.dumps(
        [
            dump["seed"],
            dump["data"],
            dump["model"],
            train_cfg,
            task,
            configuration,
            epochs,
            sorted(r.patient_id for r in train),
            sorted(r.patient_id for r in val),
            {m: str(p) for m, p in sorted(init.items())},
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _truth(records: Sequence[PatientRecord]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [r.patient_id for r in records],
            "time": [r.time for r in records],
            "event": [r.event for r in records],
            "label": [-1 if r.label_5y is None else r.label_5y for r in records],
        }
    )


def _init_branches(module: SurvivalModule, init: dict[str, Path], reuse: FoldReuse | None = None) -> None:
    """Copy each branch (backbone + projection) from its unimodal checkpoint (the copy `reuse` kept of it
    when this process wrote it)."""
    state = module.model.state_dict()
    for modality, path in init.items():
        src = model_state(reuse.read(path) if reuse is not None else read_checkpoint(path))
        prefix = f"branches.{modality}."
        picked = {k: v for k, v in src.items() if k.startswith(prefix)}
        if not picked or any(k not in state or state[k].shape != v.shape for k, v in picked.items()):
            raise MmdlmError(f"checkpoint has no compatible '{modality}' branch", file=path, field="init")
        state.update(picked)
    module.model.load_state_dict(state)


def _validation_is_prediction(kw: dict, module: SurvivalModule) -> bool:
    """Whether a validation epoch computes exactly what predict_model computes later with the saved weights:
    float32 on one CPU process, no channels_last or compiled backbones (predict_model uses neither)."""
    one = kw["accelerator"] == "cpu" and kw["devices"] in (1, "1") and kw["num_nodes"] == 1
    single = one and kw["strategy"] in ("auto", "single_device")
    plain = not module.hparams.channels_last and not module.hparams.compile
    return single and plain and str(kw["precision"]) in ("32-true", "32")


def _keeper(reuse: FoldReuse, module: SurvivalModule, kw: dict, unimodal: bool):
    """Checkpoint-IO hook keeping each written model.ckpt in `reuse` with the latest validation predictions
    when they were computed from exactly these weights (same global step, same forward as predict_model).
    The weights themselves are kept only where they are read again: a unimodal stage's (they initialise the
    multimodal branches) or a stage's whose predictions must be computed from them."""
    same_forward = _validation_is_prediction(kw, module)

    def on_saved(path: Path, checkpoint: dict) -> None:
        if path.name != MODEL:
            return
        last = module.last_validation
        fresh = same_forward and last is not None and last[0] == checkpoint.get("global_step")
        reuse.keep_checkpoint(path, checkpoint, last[1] if fresh else None, weights=unimodal or not fresh)

    return on_saved


def is_done(stage_dir: Path, key: str) -> bool:
    """Whether the stage in `stage_dir` finished with the same key (its model.ckpt can be reused)."""
    done = stage_dir / DONE
    if not done.is_file() or not (stage_dir / MODEL).is_file():
        return False
    try:
        return json.loads(done.read_text()).get("key") == key
    except json.JSONDecodeError:
        return False


def fit_stage(
    cfg,
    task: str,
    configuration: str,
    train: Sequence[PatientRecord],
    val: Sequence[PatientRecord],
    stage_dir: Path,
    *,
    epochs: int,
    init: dict[str, Path] | None = None,
    resume: bool = True,
    devices: Devices = Devices(),
    callbacks: Sequence = (),
    max_epochs: int | None = None,
    reuse: FoldReuse | None = None,
) -> StageResult:
    """Train `configuration` (its CONFIGURATIONS modalities active, others muted) for `epochs` epochs.

    `init`: modality -> unimodal checkpoint whose branch initialises this stage. With `resume`, an unfinished
    stage continues from stage_dir/last.ckpt; a finished one (same key) is returned as is. `max_epochs` stops
    early (for tests of interruption) without marking the stage done. `reuse`: in-memory state shared with
    the fold's other stages (the seeded initial net, resized images, the model.ckpt it writes and the
    validation predictions of those weights); the results are the same with or without it.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from mmdlm.train.batchnorm import RecalibrateBatchNorm

    if configuration not in CONFIGURATIONS:
        raise MmdlmError(
            f"unknown configuration '{configuration}'; choose from {', '.join(CONFIGURATIONS)}",
            field="configuration",
        )
    task_obj = get_task(task)
    train = [r for r in train if task_obj.eligible_record(r)]
    val = [r for r in val if task_obj.eligible_record(r)]
    if len(train) < 2:
        raise MmdlmError(f"stage {configuration}: fewer than 2 training patients", field="train")
    task_obj.check_training(train, configuration)
    task_obj = task_obj.fitted(train)
    init = dict(init or {})
    active = CONFIGURATIONS[configuration]
    stage_dir = Path(stage_dir)
    key = stage_key(cfg, task, configuration, train, val, init, epochs)
    model_path, last = stage_dir / MODEL, stage_dir / LAST
    if resume and is_done(stage_dir, key):
        info = json.loads((stage_dir / DONE).read_text())
        return StageResult(model_path, last, info.get("best_metric"))
    if rank_zero_only.rank == 0:
        old = stage_dir / STAGE
        stale = old.is_file() and json.loads(old.read_text()).get("key") != key
        if stage_dir.exists() and (stale or not resume):
            log.info("stage %s: removing previous contents of %s", configuration, stage_dir)
            shutil.rmtree(stage_dir)
        stage_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            stage_dir / STAGE,
            {
                "key": key,
                "task": task,
                "configuration": configuration,
                "epochs": epochs,
                "init": {m: str(p) for m, p in init.items()},
            },
        )

    all_records = list(train) + list(val)
    n_gen = n_genomic(all_records)
    features = next((list(r.genomic_features) for r in all_records if r.genomic_features), [])
    kw = trainer_kwargs(cfg, devices)
    if kw["accelerator"] == "cpu" and cfg.train.cpu_threads:
        torch.set_num_threads(cfg.train.cpu_threads)
    if cfg.train.malloc_keep_freed:
        keep_freed_memory()
    L.seed_everything(cfg.seed, workers=True, verbose=False)  # the initial weights depend on the seed only
    model_cfg = cfg.model.model_dump(mode="json")
    net = net_key = None
    if reuse is not None:
        weights = "none" if init else model_cfg["pretrained"]  # what build_net loads into the backbones
        net_key = {"seed": cfg.seed, "model": model_cfg, "n_genomic": n_gen, "task": task, "weights": weights}
        net = reuse.initial_net(net_key, lambda: build_net(model_cfg, n_gen, task, not init))
    module = SurvivalModule(
        task=task,
        configuration=configuration,
        active=list(active),
        n_genomic=n_gen,
        feature_names=features,
        image_size=cfg.data.image_size,
        model=model_cfg,
        optim={"lr": cfg.train.lr, "momentum": cfg.train.momentum, "weight_decay": cfg.train.weight_decay},
        ties=cfg.train.ties,
        seed=cfg.seed,
        channels_last=cfg.train.channels_last and kw["accelerator"] != "cpu",
        compile=cfg.train.compile,
        pretrained=not init,
        net=net,
        task_params=task_obj.params() or None,
    )
    if init:
        _init_branches(module, init, reuse)
    module.val_truth = _truth(val)
    pin = kw["accelerator"] == "gpu"
    images = reuse.images if reuse is not None else None
    tl = train_loader(train, active, cfg, n_gen, pin_memory=pin, cache=images)
    vl = eval_loader(val, active, cfg, n_gen, pin_memory=pin, cache=images)
    # model.ckpt: the weights the stage hands on (weights only, muted branches left out): written once, after
    # the final epoch, or whenever the validation metric improves (train.select)
    by_val = cfg.train.select == "best_val"
    checkpoint = ModelCheckpoint(
        dirpath=stage_dir,
        filename="model",
        monitor="val_metric" if by_val else None,
        mode="max",
        save_top_k=1,
        every_n_epochs=1 if by_val else epochs,
        save_weights_only=True,
        enable_version_counter=False,
        auto_insert_metric_name=False,
    )
    callbacks_all: list[L.Callback] = [checkpoint]
    if cfg.train.recalibrate_batchnorm:  # over the training patients' fixed evaluation combinations
        calibration = eval_loader(train, active, cfg, n_gen, pin_memory=pin, cache=images)
        callbacks_all.insert(0, RecalibrateBatchNorm(calibration, epochs, every_epoch=by_val))
    # after `checkpoint`: the full state (optimizer too) to resume an interrupted stage, every
    # train.resume_every_n_epochs epochs (0: none; an interrupted stage then starts again)
    if cfg.train.resume_every_n_epochs:
        callbacks_all.append(
            ModelCheckpoint(
                dirpath=stage_dir,
                filename="last",
                save_top_k=1,
                every_n_epochs=cfg.train.resume_every_n_epochs,
                enable_version_counter=False,
                auto_insert_metric_name=False,
            )
        )
    ckpt_path = str(last) if resume and last.is_file() else None
    # a resumed attempt logs beside the first one (the CSV writer would otherwise replace metrics.csv)
    csv_version = "csv" if ckpt_path is None else f"csv-resumed-{read_checkpoint(last).get('epoch', 0) + 1}"
    loggers = [
        CSVLogger(stage_dir / "logs", name="", version=csv_version),
        TensorBoardLogger(stage_dir / "logs", name="", version="tensorboard", default_hp_metric=False),
    ]
    with quiet_lightning():
        trainer = L.Trainer(
            max_epochs=min(epochs, max_epochs or epochs),
            logger=loggers,
            callbacks=[*callbacks_all, *callbacks],
            plugins=[AtomicCheckpointIO(_keeper(reuse, module, kw, not init) if reuse is not None else None)],
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            use_distributed_sampler=False,
            log_every_n_steps=1,
            **kw,
        )
        if ckpt_path:
            log.info("stage %s: resuming from %s", configuration, last)
        trainer.fit(module, tl, vl, ckpt_path=ckpt_path, weights_only=True)
    if net_key is not None and _validation_is_prediction(kw, module):
        reuse.recycle(net_key, module.model)  # plain float32 on the CPU: the next stage resets it in place
    score = checkpoint.best_model_score if by_val else trainer.callback_metrics.get("val_metric")
    best_metric = None if score is None else float(score)
    finished = trainer.current_epoch >= epochs
    if trainer.is_global_zero and finished:
        write_json_atomic(
            stage_dir / DONE,
            {
                "key": key,
                "best_metric": best_metric,
                "select": cfg.train.select,
                "epochs": epochs,
                "model": MODEL,
                "last": LAST if cfg.train.keep_last_checkpoint else None,
            },
        )
        if not cfg.train.keep_last_checkpoint:
            last.unlink(missing_ok=True)  # only needed to resume; the stage is done
    return StageResult(model_path, last, best_metric)


def active_modalities(configuration: str) -> tuple[str, ...]:
    """The configuration's active modalities, in MODALITIES order."""
    return tuple(m for m in MODALITIES if m in CONFIGURATIONS[configuration])

"""The LightningModule: the multimodal net with muting, the task's loss (mmdlm.tasks), SGD, per-patient
validation."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence

import lightning as L
import numpy as np
import pandas as pd
import torch

from mmdlm.data.batch import Batch
from mmdlm.modalities import IMAGE_MODALITIES, MODALITIES
from mmdlm.model.fusion import ModelOutput, MultimodalNet, mute
from mmdlm.tasks.base import Task, nan_to_zero
from mmdlm.tasks.registry import get_task

log = logging.getLogger("mmdlm.train")

ATT_COLUMNS = tuple(f"att_{m}" for m in MODALITIES)


def scores_of(out: ModelOutput, task: str | Task) -> torch.Tensor:
    """The task's score [B], float32: risk (cox, discrete) or p(dead within 5 years) (5yss)."""
    return get_task(task).score(out)


def aggregate(
    index: np.ndarray, score: np.ndarray, attention: np.ndarray, patient_ids: Sequence[str], task: str | Task
) -> pd.DataFrame:
    """Per-patient means over the evaluation combinations: patient_id, score, att_<modality>."""
    df = pd.DataFrame(attention, columns=list(ATT_COLUMNS))
    df.insert(0, get_task(task).score_column, score)
    df.insert(0, "patient_id", [patient_ids[i] for i in index])
    return df.groupby("patient_id", sort=False).mean().reset_index()


def build_net(model: dict, n_genomic: int, task: str, pretrained: bool = True) -> MultimodalNet:
    """The net of a ModelConfig dump (`pretrained` False: no ImageNet weights, e.g. for branches initialised
    from unimodal checkpoints)."""
    return MultimodalNet(
        n_genomic=n_genomic,
        task=task,
        width=model["width"],
        dropout=model["dropout"],
        backbone=model["backbone"],
        pretrained=model["pretrained"] if pretrained else "none",
        pretrained_path=model.get("pretrained_path"),
    )


class SurvivalModule(L.LightningModule):
    """Hyper-parameters are plain types (saved in the checkpoint; loadable with weights_only=True). `net`: the
    initial MultimodalNet when the caller already built it (build_net of the same arguments)."""

    def __init__(
        self,
        task: str,
        configuration: str,
        active: list[str],
        n_genomic: int,
        feature_names: list[str],
        image_size: int,
        model: dict,
        optim: dict,
        ties: str = "efron",
        seed: int = 0,
        channels_last: bool = False,
        compile: bool = False,
        pretrained: bool = True,
        net: MultimodalNet | None = None,
        task_params: dict | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        #: the Task with its parameters fitted on the training patients (e.g. discrete time bins)
        self.task_obj = get_task(task, **(task_params or {}))
        self.task = task
        self.active = tuple(active)
        self.model = net if net is not None else build_net(model, n_genomic, task, pretrained)
        for m in MODALITIES:  # muted branches are frozen: no gradient, no momentum, no DDP all-reduce
            if m not in self.active:
                self.model.branches[m].requires_grad_(False)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        if compile:
            for m in IMAGE_MODALITIES:
                self.model.branches[m].backbone = torch.compile(self.model.branches[m].backbone)
        self.val_truth: pd.DataFrame | None = None  # set by the trainer driver: per record index labels
        #: the training epoch's summed loss (times batch size) and its number of samples, for train_loss
        self._loss_sum = torch.zeros(())
        self._loss_samples = 0
        self._val_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        #: (global step, per-patient predictions) of the latest validation epoch
        self.last_validation: tuple[int, pd.DataFrame] | None = None

    def _muted_prefixes(self) -> tuple[str, ...]:
        return tuple(f"model.branches.{m}." for m in MODALITIES if m not in self.active)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Muted branches are never trained (their weights stay the seeded initial ones): leave them out."""
        prefixes = self._muted_prefixes()
        checkpoint["state_dict"] = {
            k: v for k, v in checkpoint["state_dict"].items() if not k.startswith(prefixes)
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Put the muted branches' current (seeded initial) weights back so the strict load succeeds."""
        prefixes = self._muted_prefixes()
        state = checkpoint["state_dict"]
        for k, v in self.state_dict().items():
            if k.startswith(prefixes) and k not in state:
                state[k] = v

    def forward(self, batch: Batch) -> ModelOutput:
        mask = mute(batch.mask, self.active)
        return self.model(batch.inputs(self.hparams.channels_last), mask)

    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int) -> Batch:
        """The loader's Batch on the module's device (asynchronous from pinned memory, as Lightning's own
        transfer is, on devices other than the CPU and MPS)."""
        return batch.to(device, non_blocking=torch.device(device).type not in ("cpu", "mps"))

    def on_train_start(self) -> None:
        log.debug("stage %s: training starts", self.hparams.configuration)

    def on_train_epoch_start(self) -> None:
        # the draws of this epoch follow the trainer's epoch (Lightning's own set_epoch value can lag by one
        # after a resume from a checkpoint saved at the end of validation)
        sampler = getattr(getattr(self.trainer.train_dataloader, "batch_sampler", None), "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.current_epoch)
        self._loss_sum = torch.zeros((), device=self.device)
        self._loss_samples = 0

    def on_train_batch_start(self, batch: Batch, batch_idx: int) -> None:
        # dropout draws depend only on (seed, epoch, batch, rank): a resumed run replays the uninterrupted one
        key = zlib.crc32(f"{self.hparams.seed}:{self.current_epoch}:{batch_idx}:{self.global_rank}".encode())
        torch.manual_seed(key)

    def _loss(self, out: ModelOutput, batch: Batch) -> torch.Tensor:
        return self.task_obj.loss(out, batch.targets, self.hparams.ties)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        out = self(batch)
        loss = self._loss(out, batch)
        # summed here and logged once per epoch: a self.log per step costs Lightning 3.5 ms of bookkeeping
        self._loss_sum = self._loss_sum + loss.detach() * len(batch)
        self._loss_samples += len(batch)
        return loss

    def on_train_epoch_end(self) -> None:
        """train_loss: the epoch's loss averaged over its samples (all ranks'), as Lightning's epoch mean."""
        strategy = self.trainer.strategy  # every rank reduces (a rank without a batch must not skip it)
        total = strategy.reduce(self._loss_sum.to(self.device), reduce_op="sum")
        count = torch.tensor(float(self._loss_samples), device=self.device)
        samples = strategy.reduce(count, reduce_op="sum")
        if samples.item() > 0:
            # the same value on every rank now; sync_dist only keeps Lightning from warning under DDP
            self.log("train_loss", total / samples, on_step=False, on_epoch=True, sync_dist=True)

    def on_validation_epoch_start(self) -> None:
        self._val_parts = []

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        out = self(batch)
        self._val_parts.append(
            (
                batch.index.cpu().numpy(),
                self.task_obj.score(out).cpu().numpy(),
                out.attention.float().cpu().numpy(),
            )
        )

    def on_validation_epoch_end(self) -> None:
        if not self._val_parts or self.val_truth is None:
            return
        index = np.concatenate([p[0] for p in self._val_parts])
        score = np.concatenate([p[1] for p in self._val_parts])
        att = np.concatenate([p[2] for p in self._val_parts])
        truth = self.val_truth
        predictions = aggregate(index, score, att, list(truth["patient_id"]), self.task_obj)
        self.last_validation = (self.global_step, predictions)
        agg = predictions.merge(truth, on="patient_id")
        # an undefined metric (no comparable pair, one class) never counts as the best epoch
        self.log("val_metric", nan_to_zero(self.task_obj.validation_metric(agg)), prog_bar=True)
        self._val_parts = []

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        o = self.hparams.optim
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"])

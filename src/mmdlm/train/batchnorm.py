"""Batch-norm statistics recomputed for the final weights ("precise BN"): the running means and variances a
network predicts with are re-estimated over the training patients after the last training epoch, instead of
the exponential average collected while the weights were still moving.

In short stages (a few dozen SGD steps, as in the demo and the tests) the running averages lag the weights;
the network then predicts in eval mode with statistics its weights never saw, and its risk can even invert
(measured on a planted-signal cohort: training-set C-index 0.38 in eval mode against 0.68 with the current
statistics). Recomputing them costs one forward pass over the training patients per stage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import lightning as L
import torch
from torch import nn

log = logging.getLogger(__name__)

#: the batch-norm layers of torch (1d, 2d, 3d, lazy and sync variants all derive from it)
_BATCHNORM = nn.modules.batchnorm._BatchNorm


def recalibrate_batchnorm(model: nn.Module, batches: Iterable, forward: Callable[[object], object]) -> int:
    """Replace every batch-norm layer's running statistics by their average over `batches` (each passed to
    `forward`, without gradients, every other layer in eval mode); returns how many layers were updated.
    A layer that no batch reaches (a muted branch) keeps its statistics."""
    layers = [m for m in model.modules() if isinstance(m, _BATCHNORM) and m.track_running_stats]
    if not layers:
        return 0
    modes = {m: m.training for m in model.modules()}
    before = {m: (m.momentum, {k: v.clone() for k, v in m.named_buffers()}) for m in layers}
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches, each batch weighted alike
        m.train()
    try:
        with torch.no_grad():
            for batch in batches:
                forward(batch)
    finally:
        for m, (momentum, buffers) in before.items():
            m.momentum = momentum
            if int(m.num_batches_tracked) == 0:  # not reached: left as it was
                for k, v in buffers.items():
                    getattr(m, k).copy_(v)
        for m, training in modes.items():
            m.training = training
    return sum(int(m.num_batches_tracked) > 0 for m in layers)


class RecalibrateBatchNorm(L.Callback):
    """Recomputes the network's batch-norm statistics over `loader` (the training patients' fixed evaluation
    combinations) before the validation of the stage's final epoch (`epochs`), or of every epoch when the
    validation metric selects the epoch; before the final checkpoint when that epoch has no validation."""

    def __init__(self, loader: Iterable, epochs: int, every_epoch: bool = False) -> None:
        self.loader = loader
        self.epochs = epochs
        self.every_epoch = every_epoch
        self._done: int | None = None

    def _recalibrate(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        epoch = trainer.current_epoch
        if self._done == epoch or not (self.every_epoch or epoch == self.epochs - 1):
            return
        device = module.device
        n = recalibrate_batchnorm(module, self.loader, lambda batch: module(batch.to(device)))
        self._done = epoch
        log.debug("epoch %d: %d batch-norm layers recalibrated", epoch, n)

    def on_validation_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._recalibrate(trainer, module)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._recalibrate(trainer, module)


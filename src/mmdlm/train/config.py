"""Config section owned by mmdlm.train: the paper's optimisation defaults, devices and the GPU data path."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel


class TrainConfig(StrictModel):
    """Staged training (unimodal then multimodal), SGD as in the paper."""

    lr: float = Field(0.004, gt=0)
    momentum: float = Field(0.9, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(32, ge=2)
    eval_batch_size: int = Field(64, ge=1)
    epochs_unimodal: int = Field(200, ge=1)
    epochs_multimodal: int = Field(200, ge=1)
    #: weights a stage hands on (predictions, multimodal initialisation): the final epoch, as the paper's
    #: 200-400 epochs, or the epoch with the best validation metric (optimistic in cross-validation, where the
    #: validation fold is then also the selection set)
    select: Literal["last_epoch", "best_val"] = "last_epoch"
    #: recompute the batch-norm statistics over the training patients for the weights a stage hands on
    #: (mmdlm.train.batchnorm); false keeps the running averages collected during training, which in short
    #: stages lag the weights
    recalibrate_batchnorm: bool = True
    #: write last.ckpt (full state with optimizer, to resume an interrupted stage) every this many epochs
    #: (0: never; an interrupted stage starts again, finished stages are still reused)
    resume_every_n_epochs: int = Field(1, ge=0)
    #: keep last.ckpt (full state with optimizer, for resuming) once a stage has finished
    keep_last_checkpoint: bool = False
    ties: Literal["efron", "breslow"] = "efron"
    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = Field(1, ge=1)
    precision: str = "32-true"  # bf16-mixed on GPU
    strategy: str = "auto"  # ddp / ddp_spawn run with find_unused_parameters (muted branches get no grad)
    deterministic: bool = True  # torch deterministic algorithms on CPU; on GPU only a warning (cuDNN pooling)
    channels_last: bool = True  # images and convolutions in NHWC (faster on GPU tensor cores)
    compile: bool = False  # torch.compile the backbones
    cpu_threads: int = Field(0, ge=0)  # torch threads when training on CPU (0: torch's default); 1 is often
    #                                   fastest on a small, shared machine
    #: keep freed blocks in the process instead of handing them back to the kernel after every step
    #: (mmdlm.allocator; glibc only, elsewhere nothing changes): about an eighth less time per CPU step,
    #: identical numbers, the same peak memory
    malloc_keep_freed: bool = True
    check_val_every_n_epoch: int = Field(1, ge=1)
    holdout_fraction: float = Field(0.25, gt=0, lt=1)  # `mmdlm train`: seeded stratified validation share

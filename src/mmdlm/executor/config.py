"""Config section owned by mmdlm.executor: where the stages that fan out (tile, radiology, cv) run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel


class SlurmOptions(StrictModel):
    """dask-jobqueue SLURMCluster settings (executor.cluster: slurm); each job runs `processes` workers."""

    queue: str | None = None
    account: str | None = None
    #: cores and memory of one job, shared by its worker processes
    cores: int = Field(4, ge=1)
    memory: str = "16GB"
    processes: int = Field(1, ge=1)
    walltime: str = "04:00:00"
    #: number of SLURM jobs started (cluster.scale(jobs=...))
    jobs: int = Field(1, ge=1)
    #: extra #SBATCH lines, e.g. "--gres=gpu:1" for a GPU job
    job_extra_directives: tuple[str, ...] = ()
    #: shell lines run before each worker starts (module load, venv activation)
    prologue: tuple[str, ...] = ()
    local_directory: str | None = None
    log_directory: str | None = None


class TaskResources(StrictModel):
    """Dask worker resources each stage's tasks need (e.g. {GPU: 1}); a task runs only on a worker that
    advertises them. Ignored by the local executor."""

    tile: dict[str, float] = Field(default_factory=dict)
    radiology: dict[str, float] = Field(default_factory=dict)
    #: one (task, fold) staged training; None: {GPU: 1} when train.accelerator is gpu/cuda, else none
    cv: dict[str, float] | None = None


class ExecutorConfig(StrictModel):
    """`local`: a process pool on this machine (the default; tiling keeps its own `tiling.workers`);
    `dask`: tasks on a Dask cluster, reached at `scheduler_address` or started from `cluster`."""

    kind: Literal["local", "dask"] = "local"
    #: local: processes for radiology and cross-validation folds (1: in this process, one after another);
    #: dask with cluster local: worker processes of the LocalCluster started here
    workers: int = Field(1, ge=1)
    #: threads of each Dask worker (1 keeps single-threaded numerics identical to a local run)
    threads_per_worker: int = Field(1, ge=1)
    #: address of a running scheduler (tcp://host:8786); None: start `cluster` for the run
    scheduler_address: str | None = None
    cluster: Literal["local", "slurm"] = "local"
    #: resources each worker of a cluster started here advertises (e.g. {GPU: 1})
    worker_resources: dict[str, float] = Field(default_factory=dict)
    resources: TaskResources = Field(default_factory=TaskResources)
    #: a stage fails (one-line error) when its tasks have not all finished within this many seconds
    timeout_s: float | None = Field(None, gt=0)
    #: seconds to wait for the scheduler at scheduler_address
    connect_timeout_s: float = Field(30.0, gt=0)
    slurm: SlurmOptions = Field(default_factory=SlurmOptions)

"""Dask clusters mmdlm starts from the config: a LocalCluster here or dask-jobqueue's SLURMCluster."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from mmdlm.errors import MmdlmError
from mmdlm.executor.config import ExecutorConfig

#: Dask config while mmdlm's cluster lives: workers are not daemonic, so a task may start processes
#: (DataLoader workers, a process pool); the nanny reads it whenever it (re)starts a worker. Dask's default
#: MALLOC_TRIM_THRESHOLD_=65536 is not set for the workers: setting it switches off glibc's dynamic mmap
#: threshold, so every CPU tensor above 128 KiB is a fresh mmap and its page faults; it doubled the time of a
#: training step (15.7 -> 30.2 ms a sample, fused configuration, demo sizes, 2 threads). Dask's thread caps
#: (OMP/MKL/OPENBLAS_NUM_THREADS=1) stay.
WORKER_CONFIG = {
    "distributed.worker.daemon": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def worker_config_export() -> str:
    """The job-script line that gives a worker started elsewhere (a SLURM job) WORKER_CONFIG: Dask's own
    inherited-config variable (a DASK_* variable cannot name the upper-case MALLOC_TRIM_THRESHOLD_ key)."""
    import shlex

    import dask.config

    return f"export DASK_INTERNAL_INHERIT_CONFIG={shlex.quote(dask.config.serialize(WORKER_CONFIG))}"


def _resource_args(resources: dict[str, float]) -> list[str]:
    return ["--resources", ",".join(f"{k}={v:g}" for k, v in resources.items())] if resources else []


def local_cluster(cfg: ExecutorConfig) -> Any:
    """A LocalCluster of `workers` processes with `threads_per_worker` threads each; no dashboard, and its
    scheduler's HTTP endpoint on a free local port (never the shared 8787)."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=cfg.workers,
        threads_per_worker=cfg.threads_per_worker,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
        resources=dict(cfg.worker_resources) or None,
    )


def slurm_cluster(cfg: ExecutorConfig) -> Any:
    """A dask-jobqueue SLURMCluster with `slurm.jobs` jobs (documented, not tested here: needs SLURM)."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise MmdlmError(
            "executor.cluster slurm needs dask-jobqueue (pip install 'mmdlm[cluster]')",
            field="executor.cluster",
        ) from None
    s = cfg.slurm
    cluster = SLURMCluster(
        queue=s.queue, account=s.account, cores=s.cores, memory=s.memory, processes=s.processes,
        walltime=s.walltime, job_extra_directives=list(s.job_extra_directives),
        job_script_prologue=[worker_config_export(), *s.prologue],
        worker_extra_args=_resource_args(dict(cfg.worker_resources)), local_directory=s.local_directory,
        log_directory=s.log_directory,
    )
    cluster.scale(jobs=s.jobs)
    return cluster


CLUSTERS = {"local": local_cluster, "slurm": slurm_cluster}


@contextlib.contextmanager
def worker_config() -> Any:
    """Dask config for the workers of a cluster started here (see WORKER_CONFIG); this process's environment
    is restored when it ends (a LocalCluster's nannies live in this process and write their workers'
    pre-spawn variables into os.environ, where every process started later would inherit them)."""
    import os

    import dask

    saved = dict(os.environ)
    try:
        with dask.config.set(WORKER_CONFIG):
            yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        os.environ.update(saved)

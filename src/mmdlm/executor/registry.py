"""The one place executor backends are registered: executor.kind -> the backend that opens it."""

from __future__ import annotations

from collections.abc import Callable

from mmdlm.executor.base import Executor
from mmdlm.executor.config import ExecutorConfig
from mmdlm.executor.local import LocalExecutor


def _local(cfg: ExecutorConfig, workers: int | None) -> Executor:
    return LocalExecutor(cfg.workers if workers is None else workers)


def _dask(cfg: ExecutorConfig, workers: int | None) -> Executor:
    from mmdlm.executor.dask_backend import DaskExecutor  # distributed is imported only when used

    return DaskExecutor(cfg)


BACKENDS: dict[str, Callable[[ExecutorConfig, int | None], Executor]] = {"local": _local, "dask": _dask}


def open_executor(cfg: ExecutorConfig | None = None, *, workers: int | None = None) -> Executor:
    """The executor `cfg` asks for (None: local, one worker). `workers` overrides the local pool size (a
    stage's own setting such as tiling.workers); a Dask cluster's size comes from the cluster."""
    cfg = cfg or ExecutorConfig()
    return BACKENDS[cfg.kind](cfg, workers)

"""Where the stages that fan out run their items: a local process pool or a Dask cluster.

    open_executor(cfg: ExecutorConfig, workers=None) -> Executor (a context manager)
    Executor.map(fn, items, label=..., resources=...) -> Outcome per item, as they complete
"""

from mmdlm.executor.base import Executor, Outcome, WorkerLost
from mmdlm.executor.config import ExecutorConfig
from mmdlm.executor.registry import open_executor

__all__ = ["Executor", "ExecutorConfig", "Outcome", "WorkerLost", "open_executor"]

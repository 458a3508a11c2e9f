"""The `dask` backend: items become tasks of a distributed.Client (an existing scheduler, or a cluster started
from the config); the scheduler retries a task whose worker died."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from mmdlm.errors import MmdlmError
from mmdlm.executor.base import Executor, Outcome, R, T, WorkerLost
from mmdlm.executor.clusters import CLUSTERS, worker_config
from mmdlm.executor.config import ExecutorConfig


class DaskExecutor(Executor):
    """Tasks on a Dask cluster; per-item outputs are written by the task itself (atomically), so a task rerun
    on another worker after a crash writes the same files."""

    kind = "dask"

    def __init__(self, cfg: ExecutorConfig) -> None:
        from distributed import Client

        self._cfg = cfg
        self._stack = contextlib.ExitStack()
        try:
            if cfg.scheduler_address:
                try:
                    self.client = Client(cfg.scheduler_address, timeout=cfg.connect_timeout_s)
                except OSError as exc:
                    raise MmdlmError(
                        f"no Dask scheduler at {cfg.scheduler_address} ({exc.__class__.__name__})",
                        field="executor.scheduler_address",
                    ) from None
                self._stack.callback(self.client.close)
            else:
                self._stack.enter_context(worker_config())
                cluster = CLUSTERS[cfg.cluster](cfg)
                self._stack.callback(cluster.close)
                self.client = Client(cluster)
                self._stack.callback(self.client.close)
        except BaseException:
            self._stack.close()
            raise

    @property
    def workers(self) -> int:
        info = self.client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or self._cfg.workers

    def describe(self) -> dict[str, Any]:
        info = self.client.scheduler_info()
        return {"kind": self.kind, "workers": self.workers, "scheduler": info.get("address")}

    def _run(
        self, fn: Callable[[T], R], items: list[T], label: str, needs: dict[str, float] | None
    ) -> Iterator[Outcome[T, R]]:
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        token = uuid.uuid4().hex[:8]
        futures = {
            self.client.submit(fn, item, key=f"mmdlm-{label}-{i}-{token}", pure=False, resources=needs): i
            for i, item in enumerate(items)
        }
        try:
            for fut in as_completed(futures, timeout=self._cfg.timeout_s):
                i = futures[fut]
                try:
                    yield Outcome(i, items[i], value=fut.result())
                except (KilledWorker, FutureCancelledError) as exc:
                    yield Outcome(i, items[i], error=WorkerLost(f"{label} task lost its worker(s) ({exc})"))
                except Exception as exc:  # noqa: BLE001 - handed to the caller in the Outcome
                    yield Outcome(i, items[i], error=exc)
        except TimeoutError:
            raise MmdlmError(
                f"{label}: the Dask cluster did not finish within {self._cfg.timeout_s:g} s "
                "(no worker, or a task needs resources no worker has?)",
                field="executor.timeout_s",
            ) from None
        finally:
            self.client.cancel(list(futures))

    def close(self) -> None:
        self._stack.close()

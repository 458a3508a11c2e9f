"""The `local` backend: items in this process (one worker) or in a forkserver process pool whose forkserver
and workers end when this process dies (Linux parent-death signals), even after a SIGKILL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from mmdlm.executor.base import Executor, Outcome, R, T, WorkerLost
from mmdlm.executor.deathsig import die_with_parent

#: Imported by the forkserver at its start: it then ends with this process (see forkserver_init)
FORKSERVER_INIT = "mmdlm.executor.forkserver_init"

class LocalExecutor(Executor):
    """Today's behaviour: `workers` == 1 runs items here one after another (in submission order); more runs
    them in a forkserver process pool (workers never inherit the progress thread)."""

    kind = "local"

    def __init__(self, workers: int = 1) -> None:
        self._workers = int(workers)

    @property
    def workers(self) -> int:
        return self._workers

    def close(self) -> None:
        """Nothing held between maps: each map's pool ends with it."""

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        label: str,
        resources: Mapping[str, float] | None = None,
    ) -> Iterator[Outcome[T, R]]:
        items = list(items)
        if self._workers == 1 or len(items) <= 1:
            yield from _inline(fn, items)
            return
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([FORKSERVER_INIT, fn.__module__])  # import once, fork per worker
        with ProcessPoolExecutor(
            max_workers=min(self._workers, len(items)), mp_context=ctx, initializer=die_with_parent
        ) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        yield Outcome(i, items[i], value=fut.result())
                    except BrokenProcessPool as exc:
                        yield Outcome(i, items[i], error=WorkerLost(f"{label} worker process died ({exc})"))
                    except Exception as exc:  # noqa: BLE001 - handed to the caller in the Outcome
                        yield Outcome(i, items[i], error=exc)
            finally:
                for fut in futures:
                    fut.cancel()


def _inline(fn: Callable[[T], R], items: list[T]) -> Iterator[Outcome[T, R]]:
    for i, item in enumerate(items):
        try:
            value = fn(item)
        except Exception as exc:  # noqa: BLE001 - handed to the caller in the Outcome
            yield Outcome(i, item, error=exc)
        else:
            yield Outcome(i, item, value=value)

"""The `local` backend: items in this process (one worker) or in a forkserver process pool whose forkserver
and workers end when this process dies (Linux parent-death signals), even after a SIGKILL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
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

    def _run(
        self, fn: Callable[[T], R], items: list[T], label: str, needs: dict[str, float] | None
    ) -> Iterator[Outcome[T, R]]:
        if self._workers == 1 or len(items) <= 1:
            yield from _inline(fn, items)
            return
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([FORKSERVER_INIT, fn.__module__])  # import once, fork per worker
        lost = yield from _pooled(fn, items, range(len(items)), self._workers, ctx)
        # A dying worker breaks every pending future of the pool, not only its own: run each of those items
        # again alone in a fresh pool, so a death is charged only to the item that caused it.
        for i in lost:
            again = yield from _pooled(fn, items, [i], 1, ctx)
            for j in again:
                yield Outcome(j, items[j], error=WorkerLost(f"{label} worker process died"))


class EagerProcessPool(ProcessPoolExecutor):
    """A ProcessPoolExecutor that starts all its workers in its first submit, before its manager thread runs.

    CPython (3.11-3.13) starts forkserver and spawn workers lazily, inside submit() and after handing the item
    to the manager thread: a worker that dies at once then races the start of the next one, which escapes
    the broken pool's terminate() and is joined forever (the pool's shutdown and interpreter exit hang).
    Starting every worker up front, as CPython does for the fork start method, leaves no such window."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self, "_safe_to_dynamically_spawn_children"):
            self._safe_to_dynamically_spawn_children = False


def _pooled(fn: Callable[[T], R], items: list[T], indices: Sequence[int], workers: int, ctx) -> Iterator:
    """Run items[indices] in a process pool, yielding their outcomes; returns the indices whose futures the
    broken pool failed (BrokenProcessPool), or that it refused because it broke while they were submitted."""
    lost: list[int] = []
    with EagerProcessPool(
        max_workers=min(workers, len(indices)), mp_context=ctx, initializer=die_with_parent
    ) as pool:
        futures = {}
        for n, i in enumerate(indices):
            try:
                futures[pool.submit(fn, items[i])] = i
            except BrokenProcessPool:  # a worker died before every item was handed over
                lost.extend(indices[n:])
                break
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    value = fut.result()
                except BrokenProcessPool:
                    lost.append(i)
                except Exception as exc:  # noqa: BLE001 - handed to the caller in the Outcome
                    yield Outcome(i, items[i], error=exc)
                else:
                    yield Outcome(i, items[i], value=value)
        finally:
            for fut in futures:
                fut.cancel()
    return sorted(lost)


def _inline(fn: Callable[[T], R], items: list[T]) -> Iterator[Outcome[T, R]]:
    for i, item in enumerate(items):
        try:
            value = fn(item)
        except Exception as exc:  # noqa: BLE001 - handed to the caller in the Outcome
            yield Outcome(i, item, error=exc)
        else:
            yield Outcome(i, item, value=value)

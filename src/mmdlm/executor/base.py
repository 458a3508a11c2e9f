"""What every executor backend offers: `map` a function over items, yielding typed outcomes as they finish."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerLost(Exception):
    """The process running an item died (killed, out of memory, a reader crash) and it was not retried."""


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One finished item: its position in the submitted sequence, its value, or the error it raised."""

    index: int
    item: T
    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the item returned a value."""
        return self.error is None

    def unwrap(self) -> R:
        """The value, or the item's error raised here."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class Executor(ABC):
    """Runs independent items of one stage; a context manager that releases its processes or cluster."""

    #: config name of the backend (executor.kind)
    kind: str = ""

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many items can run at once (worker processes or threads)."""

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        label: str,
        resources: Mapping[str, float] | None = None,
    ) -> Iterator[Outcome[T, R]]:
        """Run fn(item) for every item; yield each Outcome as it completes (one per item, in completion
        order). `label` names the tasks; `resources` are Dask worker resources an item needs."""
        items = list(items)
        return self._run(fn, items, label, dict(resources or {}) or None) if items else iter(())

    @abstractmethod
    def _run(
        self, fn: Callable[[T], R], items: list[T], label: str, needs: dict[str, float] | None
    ) -> Iterator[Outcome[T, R]]:
        """The backend's map over a non-empty list: `needs` are the worker resources, or None."""

    @abstractmethod
    def close(self) -> None:
        """Release processes, client and any cluster this executor started."""

    def describe(self) -> dict[str, Any]:
        """What ran the stage (kind, workers), for summaries and the run log."""
        return {"kind": self.kind, "workers": self.workers}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

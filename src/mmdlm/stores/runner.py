"""One runner for the store stages (slides -> tile stores, radiology volumes -> planes, next feature stores).

`run_store_stage` holds the output folder's lock, sweeps stale temporaries before and after, fans the items
out on mmdlm.executor (local pool or Dask) with a progress bar, turns a lost worker into that item's failure,
lets the stage write its index and summary from the typed per-item results, and writes summary.json
atomically. Per-item status vocabulary (STATUSES): done (written now), fresh (kept: the freshness rule of
mmdlm.stores.freshness holds), redone (a stale output was replaced), failed (reason given), no_mask
(radiology: nothing to write for the item, not an error).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from mmdlm.atomic import write_json_atomic
from mmdlm.errors import MmdlmError
from mmdlm.executor import ExecutorConfig, WorkerLost, open_executor
from mmdlm.locks import folder_lock, remove_stale_temporaries

Status = Literal["done", "fresh", "redone", "failed", "no_mask"]
STATUSES: tuple[str, ...] = ("done", "fresh", "redone", "failed", "no_mask")
#: Statuses whose output exists and is trusted by later stages.
KEPT: tuple[str, ...] = ("done", "fresh", "redone")

J = TypeVar("J")


@dataclass
class ItemResult:
    """What one item of a store stage came to: its key (slide_id, patient_id), status, failure reason,
    warnings, seconds and the stage's own fields (tile counts, planes, ...)."""

    key: str
    status: Status
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown store-stage status {self.status!r} (one of {', '.join(STATUSES)})")

    @property
    def kept(self) -> bool:
        """Whether the item's output exists and is trusted (done, fresh or redone)."""
        return self.status in KEPT


@dataclass(frozen=True)
class StoreStage(Generic[J]):
    """A store stage's parts: `label` (executor task names), `title` (progress bar), `what` (the locked
    folder, for the refusal message), `run` (one job -> ItemResult, runs in a worker: a module-level
    function), `key` (a job's key), `lost` (the ItemResult of a job whose worker died) and `subfolders`
    swept besides the folder itself."""

    label: str
    title: str
    what: str
    run: Callable[[J], ItemResult]
    key: Callable[[J], str]
    lost: Callable[[J, WorkerLost], ItemResult]
    subfolders: tuple[str, ...] = ()


def run_store_stage(
    stage: StoreStage[J],
    out_dir: Path,
    jobs: Sequence[J],
    finish: Callable[[list[ItemResult], dict[str, Any], float], dict[str, Any]],
    *,
    summary_name: str = "summary.json",
    executor: ExecutorConfig | None = None,
    workers: int | None = None,
    resources: Mapping[str, float] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run every job of `stage` into `out_dir` under its lock; `finish(results in job order, what ran them,
    seconds)` writes the stage's index and returns its summary, which lands atomically as summary_name."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if workers is not None and workers < 1:
        raise MmdlmError("workers must be at least 1", field="workers")
    with folder_lock(out_dir, stage.what):
        folders = (out_dir, *(out_dir / sub for sub in stage.subfolders))
        for sub in folders[1:]:
            sub.mkdir(exist_ok=True)
        remove_stale_temporaries(folders)
        results, ran_on = _fan_out(stage, jobs, executor, workers, resources, progress)
        remove_stale_temporaries(folders)  # left by a worker that died mid-item (its task was redone)
        summary = finish(results, ran_on, time.perf_counter() - t0)
        write_json_atomic(out_dir / summary_name, summary)
    return summary


def _fan_out(
    stage: StoreStage[J],
    jobs: Sequence[J],
    executor: ExecutorConfig | None,
    workers: int | None,
    resources: Mapping[str, float] | None,
    progress: bool,
) -> tuple[list[ItemResult], dict[str, Any]]:
    """Every job on the executor with a progress bar; results in job order and what ran them."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(stage.title),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        disable=not progress,
    )
    results: dict[str, ItemResult] = {}
    with open_executor(executor, workers=workers) as ex, bar:
        ran_on = ex.describe()
        task = bar.add_task("", total=len(jobs))
        for outcome in ex.map(stage.run, jobs, label=stage.label, resources=resources):
            if isinstance(outcome.error, WorkerLost):
                res = stage.lost(outcome.item, outcome.error)
            else:
                res = outcome.unwrap()
            results[res.key] = res
            bar.update(task, advance=1, description=f"{res.key} {res.status}")
    return [results[stage.key(job)] for job in jobs], ran_on

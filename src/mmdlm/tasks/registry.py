"""The one place tasks are registered: name -> Task class. Adding a task = a module and a row here."""

from __future__ import annotations

from mmdlm.errors import MmdlmError
from mmdlm.tasks.base import Task
from mmdlm.tasks.cox import CoxTask
from mmdlm.tasks.discrete import DiscreteTask
from mmdlm.tasks.fiveyear import FiveYearTask

_TASKS: dict[str, type[Task]] = {t.name: t for t in (CoxTask, FiveYearTask, DiscreteTask)}


def task_names() -> tuple[str, ...]:
    """Every registered task name, in registration order."""
    return tuple(_TASKS)


def check_task_name(name: str, field: str = "task") -> str:
    """`name` when it is a registered task, else a one-line error naming `field`."""
    if name not in _TASKS:
        raise MmdlmError(f"unknown task {name!r}; choose from {', '.join(_TASKS)}", field=field)
    return name


def get_task(name: str | Task, **params) -> Task:
    """The Task of a name (with fitted `params` from a checkpoint); a Task is returned as is."""
    if isinstance(name, Task):
        return name
    return _TASKS[check_task_name(name)](**params)

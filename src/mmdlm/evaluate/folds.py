"""Patient-level K-fold assignment stratified by the event (scikit-learn), kept in RUN/folds.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmdlm.atomic import write_json_atomic
from mmdlm.errors import MmdlmError
from mmdlm.tasks.registry import get_task

FOLDS_VERSION = 1


def make_folds(patient_ids: Sequence[str], strata: Sequence[int], n_folds: int, seed: int) -> dict[str, int]:
    """patient -> fold (0..K-1) by StratifiedKFold(shuffle, seed) on `strata`; every fold gets an event."""
    from sklearn.model_selection import StratifiedKFold

    ids = [str(p) for p in patient_ids]
    y = np.asarray(strata, dtype=int)
    if len(set(ids)) != len(ids):
        raise MmdlmError("duplicate patient ids: folds are per patient")
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos < n_folds:
        raise MmdlmError(f"{n_pos} events among {len(y)} patients: too few for {n_folds} folds (every "
                         "validation fold needs an event); lower the number of folds")
    if n_neg < n_folds:
        raise MmdlmError(f"{n_neg} patients without the event: too few for {n_folds} folds; lower the folds")
    order = np.argsort(ids)  # assignment depends on the patient set, not on the input order
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds: dict[str, int] = {}
    for k, (_, val) in enumerate(skf.split(np.zeros(len(ids)), y[order])):
        for i in val:
            folds[ids[order[i]]] = k
    return dict(sorted(folds.items()))


def read_folds(path: Path) -> dict:
    """Parsed folds.json ({"version", "tasks": {task: {"n_folds", "seed", "stratify", "folds"}}}) or empty."""
    if not path.is_file():
        return {"version": FOLDS_VERSION, "tasks": {}}
    try:
        data = json.loads(path.read_text())
        tasks = data["tasks"]
        if not isinstance(tasks, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise MmdlmError("not a folds file written by mmdlm (delete it to recreate the folds)",
                         file=path) from None
    return data


def check_folds(path: Path, task: str, patient_ids: Sequence[str], strata: Sequence[int], n_folds: int,
                seed: int) -> dict[str, int]:
    """The folds `ensure_folds` would return, with every check it makes, writing nothing (a rerun checks all
    its tasks before it changes anything in RUN)."""
    saved = read_folds(path)["tasks"].get(task)
    if saved is None:
        return make_folds(patient_ids, strata, n_folds, seed)
    return _checked_saved(path, task, saved, patient_ids, strata, n_folds)


def ensure_folds(path: Path, task: str, patient_ids: Sequence[str], strata: Sequence[int], n_folds: int,
                 seed: int) -> dict[str, int]:
    """The folds of `task`: read from `path` when present (must match patients and K), else made."""
    data = read_folds(path)
    saved = data["tasks"].get(task)
    if saved is not None:
        return _checked_saved(path, task, saved, patient_ids, strata, n_folds)
    folds = make_folds(patient_ids, strata, n_folds, seed)
    data["tasks"][task] = {"n_folds": n_folds, "seed": seed,
                           "stratify": get_task(task).stratify_column, "folds": folds}
    data["version"] = FOLDS_VERSION
    write_json_atomic(path, data)
    return folds


def _checked_saved(path: Path, task: str, saved: dict, patient_ids: Sequence[str], strata: Sequence[int],
                   n_folds: int) -> dict[str, int]:
    """The saved folds of `task` after checking they fit the patients, K and the events."""
    ids = sorted(str(p) for p in patient_ids)
    folds = {str(k): int(v) for k, v in saved["folds"].items()}
    if sorted(folds) != ids:
        added = sorted(set(ids) - set(folds))
        removed = sorted(set(folds) - set(ids))
        raise MmdlmError(f"the patient set of task {task} changed since the folds were made "
                         f"({len(added)} added, {len(removed)} removed, e.g. {(added + removed)[0]}); "
                         "use a new run directory or delete folds.json", file=path, field=task)
    if int(saved["n_folds"]) != n_folds:
        raise MmdlmError(f"folds.json has {saved['n_folds']} folds for task {task}, the config asks for "
                         f"{n_folds}; use a new run directory or delete folds.json", file=path,
                         field=task)
    check_folds_have_events(folds, dict(zip(map(str, patient_ids), strata, strict=True)), n_folds, path)
    return folds


def check_folds_have_events(folds: dict[str, int], strata: dict[str, int], n_folds: int, path: Path) -> None:
    """Every fold 0..K-1 must exist and hold at least one event (a C-index needs one); else a clear error."""
    for k in range(n_folds):
        members = [p for p, f in folds.items() if f == k]
        if not members:
            raise MmdlmError(f"fold {k} is empty", file=path)
        if not any(strata[p] for p in members):
            raise MmdlmError(f"fold {k} has no event among its {len(members)} patients: its C-index is "
                             "undefined; delete folds.json to recreate stratified folds", file=path,
                             field=f"fold_{k}")

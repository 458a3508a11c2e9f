"""The `mmdlm train` validation split: a seeded stratified holdout, saved so stages run alone reuse it."""

from __future__ import annotations

import json
from pathlib import Path

from mmdlm.atomic import write_json_atomic
from mmdlm.data.records import PatientRecord
from mmdlm.errors import MmdlmError
from mmdlm.tasks.registry import get_task


def holdout_split(
    records: list[PatientRecord], task: str, fraction: float, seed: int, path: Path
) -> tuple[list[PatientRecord], list[PatientRecord]]:
    """(train, val): stratified by the task's stratify column (event; 5yss: 5-year label); read from `path`
    when it holds the same patients, else made with scikit-learn and written there."""
    from sklearn.model_selection import train_test_split

    task_obj = get_task(task)
    records = [r for r in records if task_obj.eligible_record(r)]
    by_id = {r.patient_id: r for r in records}
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("task") == task and sorted(saved["train"] + saved["val"]) == sorted(by_id):
            return [by_id[p] for p in saved["train"]], [by_id[p] for p in saved["val"]]
    strata = [task_obj.record_stratum(r) for r in records]
    ids = [r.patient_id for r in records]
    try:
        train, val = train_test_split(ids, test_size=fraction, random_state=seed, stratify=strata)
    except ValueError as exc:
        raise MmdlmError(
            f"cannot split {len(ids)} patients into train and validation ({exc})",
            field="train.holdout_fraction",
        ) from None
    write_json_atomic(path, {"task": task, "seed": seed, "train": sorted(train), "val": sorted(val)})
    return [by_id[p] for p in sorted(train)], [by_id[p] for p in sorted(val)]

"""Reading and writing the results files through their schemas: a file that does not validate is one
MmdlmError naming the file and the field; a value is validated before its atomic write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from mmdlm.atomic import write_json_atomic
from mmdlm.errors import MmdlmError
from mmdlm.results.base import ResultModel, json_safe, validate
from mmdlm.results.metrics import Baselines, ExternalMetrics, MetricsFile

M = TypeVar("M", bound=ResultModel)


def read_result(model: type[M], path: str | Path) -> M | None:
    """The file at `path` as a `model` (None when there is no such file)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MmdlmError(f"not valid JSON ({exc.msg}, line {exc.lineno})", file=path) from None
    return validate(model, data, path)


def write_result(model: type[M], path: str | Path, value: M | Mapping[str, Any]) -> M:
    """Validate `value` (NaN -> null, numpy scalars -> numbers first) as a `model` and write its dump to
    `path` atomically (indented JSON); returns the validated value."""
    checked = validate(model, value if isinstance(value, model) else json_safe(value), path)
    write_json_atomic(path, checked.dump())
    return checked


def read_metrics(path: str | Path) -> MetricsFile | None:
    """RUN/metrics.json (None when absent)."""
    return read_result(MetricsFile, path)


def write_metrics(path: str | Path, value: MetricsFile | Mapping[str, Any]) -> MetricsFile:
    """Validate and write RUN/metrics.json."""
    return write_result(MetricsFile, path, value)


def read_external_metrics(path: str | Path) -> ExternalMetrics | None:
    """RUN/external/<name>/metrics.json (None when absent)."""
    return read_result(ExternalMetrics, path)


def write_baselines(path: str | Path, value: Baselines | Mapping[str, Any]) -> Baselines:
    """Validate and write a cohort's clinical baselines (`mmdlm baselines --json`: metrics.json's `baselines`
    entry, plus the cohort)."""
    return write_result(Baselines, path, value)

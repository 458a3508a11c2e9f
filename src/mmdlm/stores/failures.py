"""The one-line error a store stage's summary turns into when items failed (every caller: the CLI commands
and the pipeline stages that fan slides or patients out)."""

from __future__ import annotations

from pathlib import Path

from mmdlm.errors import MmdlmError


def raise_if_failed(summary: dict, what: str, total: int, folder: Path, key: str | None = None) -> None:
    """Raise one MmdlmError (file: folder/summary.json) naming the first failed item and its reason (its
    `key` field first, when the reason does not already name it) if `summary["failed"]` lists any."""
    failed = summary.get("failed") or []
    if not failed:
        return
    first = failed[0]
    which = f"{first[key]}: " if key and first.get(key) else ""
    raise MmdlmError(
        f"{len(failed)} of {total} {what} failed, e.g. {which}{first['reason']} (all listed in summary.json)",
        file=Path(folder) / "summary.json",
    )

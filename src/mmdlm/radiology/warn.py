"""Tolerable input problems: a warning class the cohort runner collects into its summary."""

from __future__ import annotations

import warnings


class RadiologyWarning(UserWarning):
    """A problem that does not stop a patient's extraction (reported, counted in summary.json)."""


def warn(message: str, *, file: object = None, patient: str | None = None) -> None:
    """Emit a RadiologyWarning as one line naming the file and patient."""
    parts = []
    if file is not None:
        parts.append(f"file {file}")
    if patient is not None:
        parts.append(f"patient {patient}")
    where = ", ".join(parts)
    warnings.warn(f"{where}: {message}" if where else message, RadiologyWarning, stacklevel=3)

"""User-facing errors: one line naming the file, patient and field, exit code 2 in the CLI."""

from __future__ import annotations

from pathlib import Path


class MmdlmError(Exception):
    """A problem with the user's input or configuration (not a bug): reported as one line, exit code 2."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        patient: str | None = None,
        field: str | None = None,
        row: int | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.patient = patient
        self.field = field
        self.row = row
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message with its context as `file: ... patient: ... field: ...: message`."""
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.patient is not None:
            parts.append(f"patient {self.patient}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        where = ", ".join(parts)
        return _printable(f"{where}: {self.message}" if where else self.message)


def _printable(text: str) -> str:
    """Control characters (from file names, identifiers) escaped, so the message stays one visible line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)

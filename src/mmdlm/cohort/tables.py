"""Reading delimited tables as strings, with the file line of every row kept for error messages."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.errors import MmdlmError
from mmdlm.names import check_id


def first_row(mask: pd.Series | np.ndarray) -> int:
    """0-based position of the first True of a boolean row mask (the row an error message names); the mask
    must hold at least one True."""
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])


@dataclass(frozen=True)
class Table:
    """A table of strings ('' = empty cell) and where it came from."""

    frame: pd.DataFrame
    path: Path
    #: 1-based file line of the first data row (header lines and '#' comment lines before it counted).
    first_line: int

    def line(self, i: int) -> int:
        """1-based file line of data row `i` (0-based position in `frame`)."""
        return self.first_line + int(i)

    def require(self, *columns: str) -> None:
        """Raise naming the file and the first missing column."""
        for col in columns:
            if col not in self.frame.columns:
                raise MmdlmError("missing required column", file=self.path, field=col)

    def first_present(self, *candidates: str) -> str | None:
        """The first of `candidates` that is a column of the table, else None."""
        return next((c for c in candidates if c in self.frame.columns), None)


def read_table(path: str | Path, *, sep: str = "\t", comment_lines: bool = True) -> Table:
    """Read a delimited file as strings. Leading lines starting with '#' (cBioPortal's header lines, MAF
    version lines) are skipped when `comment_lines`; values are stripped; empty cells are ''. Errors name
    the file."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("file not found", file=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise MmdlmError("not a UTF-8 text file", file=path) from None
    lines = text.splitlines()
    skip = 0
    if comment_lines:
        while skip < len(lines) and lines[skip].startswith("#"):
            skip += 1
    body = "\n".join(lines[skip:])
    if not body.strip():
        raise MmdlmError("empty table (no header line)", file=path)
    _check_ragged(lines, skip, sep, path)
    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_MINIMAL,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MmdlmError(f"not a readable table ({str(exc).splitlines()[0]})", file=path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    dup = frame.columns[frame.columns.duplicated()]
    if len(dup):
        raise MmdlmError("duplicate column", file=path, field=str(dup[0]))
    frame = frame.apply(lambda s: s.str.strip())
    return Table(frame=frame.reset_index(drop=True), path=path, first_line=skip + 2)


def _check_ragged(lines: list[str], skip: int, sep: str, path: Path) -> None:
    """Every data row has as many fields as the header (else pandas fills missing cells silently)."""
    rows = [(skip + i + 1, r) for i, r in enumerate(csv.reader(lines[skip:], delimiter=sep)) if r]
    if not rows:
        return
    n = len(rows[0][1])
    for line, fields in rows[1:]:
        if len(fields) != n:
            raise MmdlmError(
                f"row has {len(fields)} fields, the header has {n} (a missing or extra {sep!r} separator)",
                file=path,
                row=line,
            )


def check_ids(table: Table, column: str) -> None:
    """Every value of `column` can name a file (mmdlm.names), else an error naming file, row and field."""
    for i, value in enumerate(table.frame[column]):
        check_id(value, field=column, file=table.path, row=table.line(i), what=column)


def check_unique(table: Table, column: str, *, is_patient: bool = True) -> None:
    """Raise on an empty or repeated value of `column` (naming file, row and value)."""
    values = table.frame[column]
    for i, value in enumerate(values):
        if not value:
            raise MmdlmError("empty identifier", file=table.path, row=table.line(i), field=column)
    dup = values.duplicated()
    if dup.any():
        i = first_row(dup)
        raise MmdlmError(
            f"duplicate {column} {values.iloc[i]!r}",
            file=table.path,
            row=table.line(i),
            patient=values.iloc[i] if is_patient else None,
            field=column,
        )

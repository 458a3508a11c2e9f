"""Identifiers as file names: the one check an identifier passes before it names a file, and the one function
that builds a path from an identifier (it cannot leave its folder).

A patient, slide or cohort identifier is safe when it is 1..MAX_ID_CHARS characters, holds no path
separator, no control character and no leading dot (hidden and temporary names start with '.'), and has no
surrounding whitespace. Every identifier is checked where it enters (ingest, `load_manifest`, `--name`);
every path built from one goes through `id_path`.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from mmdlm.errors import MmdlmError

#: Longest identifier accepted: leaves room under the 255-byte file-name limit for suffixes such as
#: '.markup_legend.png' and the atomic writer's '.<name>.tmp-<pid>-<hex>'.
MAX_ID_CHARS = 120
#: File-name limit in bytes of common file systems (ext4, xfs, APFS, NTFS in UTF-16 units).
MAX_NAME_BYTES = 255


def id_problem(value: object) -> str | None:
    """Why `value` cannot name a file (a short phrase), or None when it is a safe identifier."""
    text = str(value)
    if not text:
        return "is empty"
    if text != text.strip():
        return "has leading or trailing whitespace"
    if "/" in text or "\\" in text:
        return "contains a path separator ('/' or '\\')"
    if text.startswith("."):
        return "starts with '.'"
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        return f"contains the control character {bad!r}"
    if len(text) > MAX_ID_CHARS or len(text.encode("utf-8")) > 2 * MAX_ID_CHARS:
        return f"is {len(text)} characters long (at most {MAX_ID_CHARS})"
    return None


def check_id(
    value: object,
    *,
    field: str,
    file: str | Path | None = None,
    row: int | None = None,
    what: str = "identifier",
) -> str:
    """`value` as str when it is a safe identifier, else MmdlmError naming the file, row and field."""
    problem = id_problem(value)
    if problem is not None:
        shown = repr(str(value)) if len(str(value)) <= 60 else repr(str(value)[:57] + "...")
        raise MmdlmError(f"{what} {shown} {problem}: it cannot name a file", file=file, row=row, field=field)
    return str(value)


def id_path(folder: str | Path, identifier: str, suffix: str = "", *, field: str = "identifier") -> Path:
    """FOLDER/<identifier><suffix>, refused (MmdlmError) when the identifier is unsafe or the name would be
    too long; the result is always a direct child of `folder`."""
    name = check_id(identifier, field=field) + suffix
    if len(name.encode("utf-8")) > MAX_NAME_BYTES - 32 or os.sep in name or name in (".", ".."):
        raise MmdlmError(f"file name {name[:40]!r}... is too long or not a single name", field=field)
    path = Path(folder) / name
    if path.parent != Path(folder):  # cannot happen after the checks above; kept as the invariant
        raise MmdlmError(f"{identifier!r} leaves its folder", file=folder, field=field)
    return path

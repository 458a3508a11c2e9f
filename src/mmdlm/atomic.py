"""Atomic outputs: write under a temporary name in the same folder, rename only when complete."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _tmp_sibling(final: Path) -> Path:
    return final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `final` (file or folder); renamed to `final` only on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_sibling(final)
    try:
        yield tmp
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def free_space(folder: str | Path) -> str:
    """The free space on `folder`'s file system, for write-error messages (e.g. "212 MB free")."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "free space unknown"
    return f"{free / 2**20:.0f} MB free" if free >= 2**20 else f"{free / 2**10:.0f} KB free"


def write_text_atomic(final: str | Path, text: str) -> Path:
    """Write text to `final` atomically."""
    with atomic_path(final) as tmp:
        tmp.write_text(text)
    return Path(final)


def write_json_atomic(final: str | Path, obj: Any) -> Path:
    """Write JSON (indented, NaN-free where possible) to `final` atomically."""
    return write_text_atomic(final, json.dumps(obj, indent=2, default=str) + "\n")

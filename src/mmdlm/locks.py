"""Folder locks and the sweep of stale temporaries (ground floor: imports only atomic/errors/stdlib).

One writer per output folder (run directory, tile store folder, radiology store): `folder_lock` holds an
exclusive OS lock on FOLDER/.mmdlm.lock, released even if the process is killed. `remove_stale_temporaries`
deletes the temporary siblings mmdlm.atomic leaves when a writer is killed; call it with the lock held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from mmdlm.errors import MmdlmError

LOCK_NAME = ".mmdlm.lock"
#: Temporary names left by mmdlm.atomic: .<final>.tmp-<pid>-<hex>
TMP_NAME = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}$")


@contextlib.contextmanager
def folder_lock(folder: Path, what: str = "run directory") -> Iterator[Path]:
    """Hold an exclusive OS lock on `folder` (created if missing); a second writer fails with a one-line error
    naming `what` and the holder's pid. The lock file is emptied on release."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise MmdlmError(
                f"{what} is in use by process {holder}; wait for it or choose another output folder",
                file=folder,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield folder
        finally:
            os.ftruncate(fd, 0)  # released: the lock file is empty again (a refused run leaves it as it was)
    finally:
        os.close(fd)


def run_lock(run_dir: Path) -> contextlib.AbstractContextManager[Path]:
    """The run directory's lock (folder_lock with the run-directory message)."""
    return folder_lock(run_dir, "run directory")


def remove_stale_temporaries(folders: Iterable[Path]) -> list[Path]:
    """Delete mmdlm.atomic temporaries (files or folders) directly inside each existing folder of `folders`.
    Call with the folder lock held: then no live writer owns them."""
    removed = []
    for folder in folders:
        if not Path(folder).is_dir():
            continue
        for entry in Path(folder).iterdir():
            if TMP_NAME.match(entry.name) is None:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed

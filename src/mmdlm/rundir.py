"""The run directory: an exclusive lock (one writer at a time), the resolved config, the log file."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from mmdlm.atomic import write_text_atomic
from mmdlm.config import Config, dump_config
from mmdlm.errors import MmdlmError

LOCK_NAME = ".mmdlm.lock"
LOG_NAME = "mmdlm.log"


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[Path]:
    """Hold an exclusive OS lock on `run_dir` (released even if killed); a second writer fails."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_path = run_dir / LOCK_NAME
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise MmdlmError(
                f"run directory is in use by process {holder}; wait for it or choose another --out",
                file=run_dir,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield run_dir
        finally:
            os.ftruncate(fd, 0)  # released: the lock file is empty again (a refused run leaves RUN as it was)
    finally:
        os.close(fd)


def save_config(run_dir: Path, cfg: Config) -> Path:
    """Write the resolved config as RUN/config.yaml."""
    return write_text_atomic(run_dir / "config.yaml", dump_config(cfg))


def attach_log_file(run_dir: Path) -> logging.Handler:
    """Send mmdlm's log records to RUN/mmdlm.log (appending); returns the handler to detach later."""
    handler = logging.FileHandler(run_dir / LOG_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("mmdlm")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler

"""The run directory: the resolved config and the log file (its lock is mmdlm.locks.run_lock)."""

from __future__ import annotations

import logging
from pathlib import Path

from mmdlm.atomic import write_text_atomic
from mmdlm.config import Config, dump_config
from mmdlm.locks import LOCK_NAME, run_lock  # re-exported: the run directory's lock lives in mmdlm.locks

__all__ = ["LOCK_NAME", "LOG_NAME", "attach_log_file", "run_lock", "save_config"]

LOG_NAME = "mmdlm.log"


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

"""Linux parent-death signal: a process asks the kernel to SIGKILL it when its parent dies."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: prctl option: signal sent when the thread that created this process exits (linux/prctl.h)
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux; elsewhere nothing); exits now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not fatal: the process still ends when its pool is shut down
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)

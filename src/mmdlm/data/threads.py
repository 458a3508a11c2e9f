"""torch's intra-op thread count for a block of work (batch preparation runs on one thread)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to `n` while the block runs (0: unchanged), then put back.

    Batch preparation (augmentation, resizing, collation) is many tiny tensor ops: on one thread they give
    exactly the values they give on more (elementwise, and reductions far below torch's parallel grain), but
    they never wait in an OpenMP barrier for a second thread that a busy machine has descheduled.
    """
    before = torch.get_num_threads()
    if n and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)

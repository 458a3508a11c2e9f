"""The cyclic garbage collector during a run of training stages. A finished stage's Lightning trainer,
loaders, module and optimizer state hold one another in reference cycles, so only a full collection frees
them; left to the collector's own schedule that happens stages later, and each stage in between faults in
fresh pages for its optimizer and activations (on a VM whose host takes freed memory back, each also faults
in the host).
Here what was alive before the stages is frozen (gc.freeze: a full collection no longer walks the imported
modules' objects) and each stage's garbage is collected as it finishes. Numerics are unchanged."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def collected_between_stages() -> Iterator[Callable[[], int]]:
    """Freeze every object alive now and yield `collect`, a full collection of what the block made since (it
    skips the frozen objects, so it costs milliseconds); on exit unfreeze them, unless some were already
    frozen when the block began (an enclosing block, or a process about to exit, unfreezes or keeps them)."""
    already_frozen = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield gc.collect
    finally:
        if not already_frozen:
            gc.unfreeze()

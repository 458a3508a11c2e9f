"""The cyclic garbage collector during a run of training stages. A finished stage's Lightning trainer,
loaders, module and optimizer state hold one another in reference cycles, so only a full collection frees
them; left to the collector's own schedule that happens stages later, and each stage in between faults in
fresh pages for its optimizer and activations (on a VM whose host takes freed memory back, each also faults
in the host).
Here what was alive before the stages is frozen (gc.freeze: a full collection no longer walks the imported
modules' objects) and each stage's garbage is collected as it finishes; and a command's library stack is
imported with the collector paused (`import_uncollected`). Numerics are unchanged."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager


def import_uncollected(modules: Iterable[str]) -> None:
    """Import `modules` with the cyclic collector paused, then move every live object to its oldest
    generation without a pass (gc.freeze, gc.unfreeze). Torch, Lightning and scikit-learn make about 870,000
    long-lived objects, and each full collection while they grow walks all of them (0.3-0.4 s each, 1-1.5 s
    of a training command's start on 2 cores); a freeze already held (an enclosing block) is left as it
    was, and so is a collector the caller had turned off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


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

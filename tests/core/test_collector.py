"""The collector's policy between training stages: cycles made inside the block are freed by `collect`,
objects from before it are frozen while it runs and collectable again after it."""

from __future__ import annotations

import gc
import weakref

from mmdlm.collector import collected_between_stages


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_collect_frees_a_cycle_made_inside_the_block_and_the_block_leaves_nothing_frozen() -> None:
    before = gc.get_freeze_count()
    with collected_between_stages() as collect:
        assert gc.get_freeze_count() > before
        node = weakref.ref(_Node())
        assert node() is not None  # a cycle survives its last name
        assert collect() >= 1
        assert node() is None
    assert gc.get_freeze_count() == before == 0


def test_an_object_from_before_the_block_is_left_alone_by_collect_and_freed_after_it() -> None:
    old = _Node()
    ref = weakref.ref(old)
    with collected_between_stages() as collect:
        del old
        collect()
        assert ref() is not None  # frozen: the collections between stages never walk it
    gc.collect()
    assert ref() is None


def test_an_inner_block_keeps_the_outer_block_frozen() -> None:
    with collected_between_stages():
        with collected_between_stages():
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0

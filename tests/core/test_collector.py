"""The collector's policy between training stages: cycles made inside the block are freed by `collect`,
objects from before it are frozen while it runs and collectable again after it; a command's stack is
imported with the collector paused, its objects put in the oldest generation."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from mmdlm.collector import collected_between_stages, import_uncollected


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


def _module(tmp_path, monkeypatch, name: str, body: str) -> None:
    """A module `name` on sys.path that has not been imported yet."""
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_import_uncollected_pauses_the_collector_and_leaves_the_module_in_the_oldest_generation(
        tmp_path, monkeypatch) -> None:
    _module(tmp_path, monkeypatch, "mmdlm_probe_a",
            "import gc\nCOLLECTING = gc.isenabled()\nclass Marker:\n    pass\n")
    assert gc.isenabled()
    import_uncollected(["mmdlm_probe_a"])
    probe = sys.modules["mmdlm_probe_a"]
    assert probe.COLLECTING is False
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert any(o is probe.Marker for o in gc.get_objects(generation=2))
    assert not any(o is probe.Marker for o in gc.get_objects(generation=0))


def test_import_uncollected_keeps_an_enclosing_freeze_and_a_collector_turned_off(tmp_path,
                                                                                 monkeypatch) -> None:
    _module(tmp_path, monkeypatch, "mmdlm_probe_b", "X = 1\n")
    with collected_between_stages():
        frozen = gc.get_freeze_count()
        gc.disable()
        try:
            import_uncollected(["mmdlm_probe_b"])
            assert not gc.isenabled()
            assert gc.get_freeze_count() == frozen > 0
        finally:
            gc.enable()
    assert gc.get_freeze_count() == 0


def test_a_failing_import_resumes_the_collector(tmp_path, monkeypatch) -> None:
    _module(tmp_path, monkeypatch, "mmdlm_probe_c", "raise ImportError('no such library')\n")
    with pytest.raises(ImportError, match="no such library"):
        import_uncollected(["mmdlm_probe_c"])
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0

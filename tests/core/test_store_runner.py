"""The store-stage runner: lock, sweep of stale temporaries, typed results in job order (a lost worker is
that item's failure), summary.json written by the runner; the freshness signature sees a rewrite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mmdlm.errors import MmdlmError
from mmdlm.executor import WorkerLost
from mmdlm.locks import folder_lock
from mmdlm.stores.freshness import input_signature
from mmdlm.stores.runner import ItemResult, StoreStage, run_store_stage

pytestmark = pytest.mark.timeout(120)


def _write(job: tuple[str, Path]) -> ItemResult:
    key, out = job
    if key == "die":
        os._exit(3)
    final = out / f"{key}.txt"
    status = "fresh" if final.exists() else "done"
    final.write_text(key)
    return ItemResult(key, status, fields={"n": len(key)})


def _lost(job: tuple[str, Path], error: WorkerLost) -> ItemResult:
    return ItemResult(job[0], "failed", f"{job[0]}: worker died")


def _key(job: tuple[str, Path]) -> str:
    return job[0]


STAGE = StoreStage(
    label="t", title="test", what="test folder", run=_write, key=_key, lost=_lost, subfolders=("qc",)
)


def _finish(results: list[ItemResult], ran_on: dict, seconds: float) -> dict:
    return {
        "keys": [r.key for r in results],
        "status": [r.status for r in results],
        "workers": ran_on["workers"],
    }


def test_runs_sweeps_and_writes_the_summary(tmp_path: Path) -> None:
    (tmp_path / "qc").mkdir()
    stale = [tmp_path / ".a.txt.tmp-999999-0123abcd", tmp_path / "qc" / ".q.jpg.tmp-1-deadbeef"]
    for p in stale:
        p.write_text("half")
    keep = tmp_path / "notes.tmp"
    keep.write_text("mine")
    jobs = [("bb", tmp_path), ("a", tmp_path)]
    summary = run_store_stage(STAGE, tmp_path, jobs, _finish)
    assert summary == {"keys": ["bb", "a"], "status": ["done", "done"], "workers": 1}
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"
    again = run_store_stage(STAGE, tmp_path, jobs, _finish)
    assert again["status"] == ["fresh", "fresh"]


def test_a_lost_worker_is_that_items_failure(tmp_path: Path) -> None:
    jobs = [("a", tmp_path), ("die", tmp_path), ("c", tmp_path)]
    summary = run_store_stage(STAGE, tmp_path, jobs, _finish, workers=2)
    # an item the broken pool could not report is run again alone: "fresh" when its output was already
    # written before the pool broke, "done" otherwise; only the item whose worker died fails
    assert summary["keys"] == ["a", "die", "c"] and summary["status"][1] == "failed"
    assert {summary["status"][0], summary["status"][2]} <= {"done", "fresh"}
    assert (tmp_path / "a.txt").read_text() == "a" and (tmp_path / "c.txt").read_text() == "c"


def test_a_second_writer_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with folder_lock(tmp_path, "test folder"):
        with pytest.raises(MmdlmError, match="test folder is in use by process") as exc:
            run_store_stage(STAGE, tmp_path, [("a", tmp_path)], _finish)
    assert exc.value.file == str(tmp_path)
    assert not (tmp_path / "a.txt").exists() and not (tmp_path / "summary.json").exists()
    assert (tmp_path / ".mmdlm.lock").read_text() == ""


def test_status_vocabulary_is_closed() -> None:
    with pytest.raises(ValueError, match="skipped_fresh"):
        ItemResult("x", "skipped_fresh")  # type: ignore[arg-type]
    assert ItemResult("x", "redone").kept and not ItemResult("x", "no_mask").kept


def test_signature_sees_a_same_size_same_time_rewrite(tmp_path: Path) -> None:
    f = tmp_path / "slide.svs"
    f.write_bytes(b"a" * 100)
    st = f.stat()
    before = input_signature(f)
    f.write_bytes(b"b" * 100)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert input_signature(f) != before
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "1.dcm").write_bytes(b"x")
    sig = input_signature(folder)
    (folder / "2.dcm").write_bytes(b"y")
    assert input_signature(folder) != sig and input_signature("") == ""
    with pytest.raises(MmdlmError, match="cannot read input file") as exc:
        input_signature(tmp_path / "missing")
    assert exc.value.file == str(tmp_path / "missing")

"""Executors: items in order in-process, a local pool whose workers end with their parent, the backends'
config errors, non-daemonic workers on a cluster started from the config."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmdlm.config import Config
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.cv import fold_resources
from mmdlm.executor import ExecutorConfig, WorkerLost, open_executor
from mmdlm.executor.local import LocalExecutor

#: a hung cluster or pool fails the test instead of hanging the suite
pytestmark = pytest.mark.timeout(120)


def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    return x * x


def _die(x: int) -> int:
    os._exit(3)


def test_inline_runs_in_order_and_hands_errors_back() -> None:
    with open_executor(ExecutorConfig()) as ex:
        assert isinstance(ex, LocalExecutor) and ex.workers == 1
        outcomes = list(ex.map(_square, [3, -1, 4], label="t"))
    assert [o.index for o in outcomes] == [0, 1, 2]
    assert [o.value for o in outcomes] == [9, None, 16]
    assert isinstance(outcomes[1].error, ValueError)
    with pytest.raises(ValueError, match="negative -1"):
        outcomes[1].unwrap()


def test_pool_yields_every_item_once_and_a_dead_worker_is_worker_lost() -> None:
    with open_executor(ExecutorConfig(workers=2)) as ex:
        got = sorted((o.index, o.value) for o in ex.map(_square, list(range(6)), label="t"))
        assert got == [(i, i * i) for i in range(6)]
        lost = list(ex.map(_die, [1, 2], label="t"))
    assert len(lost) == 2 and all(isinstance(o.error, WorkerLost) for o in lost)


#: A worker that dies at once, while the pool still starts its other workers (CPython's lazy spawning raced
#: this: the next worker escaped the broken pool's terminate and shutdown waited on it forever), or while
#: items are still being submitted (submit raised BrokenProcessPool for the rest).
EARLY_DEATH = """
import os
from mmdlm.executor import WorkerLost
from mmdlm.executor.local import LocalExecutor

def work(x):
    if x < 0:
        os._exit(3)
    return x

if __name__ == "__main__":
    for _ in range(12):
        out = sorted(LocalExecutor(4).map(work, [-1, 2, -3, 4, 5, 6], label="t"), key=lambda o: o.index)
        assert [o.value for o in out] == [None, 2, None, 4, 5, 6], out
        assert [type(o.error) for o in out[:3]] == [WorkerLost, type(None), WorkerLost], out
    print("ok")
"""


def test_an_early_worker_death_neither_hangs_nor_loses_other_items(tmp_path: Path) -> None:
    script = tmp_path / "early_death.py"
    script.write_text(EARLY_DEATH)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the pool hung after a worker died")
    assert proc.returncode == 0 and out.strip() == "ok", err[-2000:]


def _session_pids(sid: int) -> list[int]:
    """Live processes of session `sid` (zombies excluded), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            pids.append(int(entry.name))
    return pids


#: A parent that runs a 2-process pool of long sleeps (its workers would outlive it by minutes if orphaned).
PARENT = (
    "import time; from mmdlm.executor.local import LocalExecutor; "
    "list(LocalExecutor(2).map(time.sleep, [300, 300], label='sleep'))"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_pool_workers_and_forkserver_end_when_the_parent_is_killed() -> None:
    proc = subprocess.Popen([sys.executable, "-c", PARENT], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_session_pids(proc.pid)) < 4:  # parent, forkserver, 2
            time.sleep(0.05)
        assert len(_session_pids(proc.pid)) >= 4, "the pool never started"
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _session_pids(proc.pid):
            time.sleep(0.05)
        assert _session_pids(proc.pid) == []
    finally:
        for pid in _session_pids(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_fold_resources_follow_the_accelerator_unless_configured() -> None:
    assert fold_resources(Config()) == {}
    gpu = Config.model_validate({"train": {"accelerator": "gpu", "devices": 2}})
    assert fold_resources(gpu) == {"GPU": 2.0}
    pinned = Config.model_validate(
        {"train": {"accelerator": "gpu"}, "executor": {"resources": {"cv": {"GPU": 0.5, "MEM": 1}}}}
    )
    assert fold_resources(pinned) == {"GPU": 0.5, "MEM": 1.0}


def test_a_slurm_job_s_workers_get_the_same_worker_config() -> None:
    """The job script's export, read by Dask on the node: workers not daemonic, no MALLOC_TRIM_THRESHOLD_."""
    dask_config = pytest.importorskip("dask.config")
    from distributed.nanny import _get_env_variables

    from mmdlm.executor.clusters import worker_config_export

    name, _, value = worker_config_export().removeprefix("export ").partition("=")
    try:  # Dask's config as a node whose environment holds only that variable reads it
        dask_config.refresh(env={name: shlex.split(value)[0]})
        assert dask_config.get("distributed.worker.daemon") is False
        spawn = _get_env_variables("distributed.nanny.pre-spawn-environ")
    finally:
        dask_config.refresh()
    assert "MALLOC_TRIM_THRESHOLD_" not in spawn and spawn["OMP_NUM_THREADS"] == "1"
    assert "MALLOC_TRIM_THRESHOLD_" in _get_env_variables("distributed.nanny.pre-spawn-environ")


def test_slurm_without_dask_jobqueue_is_a_one_line_error() -> None:
    pytest.importorskip("distributed")
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("dask-jobqueue is installed")
    with pytest.raises(MmdlmError, match="needs dask-jobqueue") as err:
        open_executor(ExecutorConfig(kind="dask", cluster="slurm"))
    assert "executor.cluster" in err.value.one_line()


def test_unknown_executor_keys_are_config_errors(tmp_path: Path) -> None:
    from mmdlm.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("executor:\n  kind: spark\n")
    with pytest.raises(MmdlmError, match="executor.kind"):
        load_config(path)


def test_no_scheduler_at_the_address_is_a_one_line_error() -> None:
    pytest.importorskip("distributed")
    cfg = ExecutorConfig(kind="dask", scheduler_address="tcp://127.0.0.1:9", connect_timeout_s=2)
    with pytest.raises(MmdlmError, match="no Dask scheduler at tcp://127.0.0.1:9") as err:
        open_executor(cfg)
    assert "executor.scheduler_address" in err.value.one_line()


def _noop() -> None:
    return None


def _child_exit_code(_: int) -> int:
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=_noop)
    child.start()  # a daemonic worker would refuse: "daemonic processes are not allowed to have children"
    child.join()
    return child.exitcode


def _worker_environ(_: int) -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}


def test_tasks_on_a_cluster_started_from_the_config_may_start_processes() -> None:
    """...and its workers run without Dask's MALLOC_TRIM_THRESHOLD_ (which doubled a CPU training step), keep
    Dask's thread caps, and leave this process's environment as it was."""
    pytest.importorskip("distributed")
    before = dict(os.environ)
    with open_executor(ExecutorConfig(kind="dask", workers=1, timeout_s=60)) as ex:
        assert ex.describe()["kind"] == "dask" and ex.workers == 1
        (outcome,) = list(ex.map(_child_exit_code, [0], label="child"))
        (environ,) = list(ex.map(_worker_environ, [0], label="environ"))
    assert outcome.unwrap() == 0
    assert environ.unwrap() == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
    assert dict(os.environ) == before

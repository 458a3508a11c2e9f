"""Tiling on a Dask LocalCluster (2 single-thread worker processes): the same files, byte for byte, as the
local pool; a worker killed mid-slide leaves nothing half-written and the run still ends identical."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from mmdlm.executor import ExecutorConfig
from mmdlm.executor.clusters import local_cluster, worker_config
from mmdlm.slides import tile_slides
from mmdlm.slides.config import TilingConfig

distributed = pytest.importorskip("distributed")
#: a hung cluster or pool fails the test instead of hanging the suite
pytestmark = pytest.mark.timeout(300)

N_SLIDES = 4
TILING = TilingConfig(magnifications=(20.0, 10.0, 5.0), tile_size=224)
#: outputs that record how or when the run went (pid, seconds, executor), not what it produced
RUN_RECORDS = {".mmdlm.lock", "summary.json"}


@pytest.fixture(scope="module")
def cluster():
    with worker_config(), local_cluster(ExecutorConfig(kind="dask", workers=2)) as c:
        yield c


@pytest.fixture(scope="module")
def slides(cmu_slide: Path) -> pd.DataFrame:
    return pd.DataFrame(
        [{"slide_id": f"s{i}", "patient_id": f"P{i}", "path": str(cmu_slide)} for i in range(N_SLIDES)]
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, slides: pd.DataFrame) -> Path:
    out = tmp_path_factory.mktemp("local") / "tiles"
    tile_slides(slides, out, TILING, seed=3, workers=2, progress=False)
    return out


def on_cluster(cluster) -> ExecutorConfig:
    return ExecutorConfig(kind="dask", scheduler_address=cluster.scheduler_address, timeout_s=180)


def assert_same_files(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name not in RUN_RECORDS)
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name not in RUN_RECORDS)
    assert files_a == files_b
    assert len(files_a) == 2 * N_SLIDES + 1  # stores, QC images, index.csv
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_dask_tiling_writes_the_local_pools_files(cluster, slides, reference, tmp_path: Path) -> None:
    out = tmp_path / "tiles"
    summary = tile_slides(slides, out, TILING, seed=3, progress=False, executor=on_cluster(cluster))
    assert summary["executor"] == "dask" and summary["workers"] == 2
    assert sorted(summary["done"]) == [f"s{i}" for i in range(N_SLIDES)] and summary["failed"] == []
    local = json.loads((reference / "summary.json").read_text())
    assert summary["tiles"] == local["tiles"] and local["executor"] == "local"
    assert_same_files(reference, out)
    again = tile_slides(slides, out, TILING, seed=3, progress=False, executor=on_cluster(cluster))
    assert sorted(again["skipped_fresh"]) == [f"s{i}" for i in range(N_SLIDES)]  # resume rules unchanged


def test_a_worker_killed_mid_slide_is_retried_to_the_same_files(cluster, slides, reference, tmp_path) -> None:
    out = tmp_path / "tiles"
    result: dict = {}

    def run() -> None:
        try:
            result["summary"] = tile_slides(slides, out, TILING, seed=3, progress=False,
                                            executor=on_cluster(cluster))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        temps = [p for p in out.glob(".s*.h5.tmp-*")] if out.is_dir() else []
        for temp in temps:  # .<final>.tmp-<pid>-<hex>: the pid is the worker process writing it
            pid = int(temp.name.split(".tmp-")[1].split("-")[0])
            if pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed = (pid, temp.name.split(".tmp-")[0].lstrip("."))
                break
        time.sleep(0.005)
    thread.join(timeout=240)
    assert not thread.is_alive()
    assert killed is not None, "no slide was being written by a worker"
    assert "error" not in result, result.get("error")
    summary = result["summary"]
    assert summary["failed"] == [] and sorted(summary["done"]) == [f"s{i}" for i in range(N_SLIDES)]
    assert not [p for p in out.rglob(".*") if ".tmp-" in p.name]  # the killed worker's temp is gone
    assert_same_files(reference, out)

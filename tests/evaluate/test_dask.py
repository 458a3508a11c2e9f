"""Cross-validation folds as Dask tasks (LocalCluster, 2 single-thread workers) with the real staged training,
one worker killed while it trains a fold (the nanny replaces it, the scheduler retries the fold): the same
fold caches, predictions.csv and metrics.json, byte for byte, as one fold after another in this process."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from mmdlm.config import Config
from mmdlm.data.toy import planted_records
from mmdlm.evaluate.cv import run_cv
from mmdlm.executor import ExecutorConfig
from mmdlm.executor.clusters import local_cluster, worker_config

distributed = pytest.importorskip("distributed")
#: a hung cluster or pool fails the test instead of hanging the suite
pytestmark = pytest.mark.timeout(600)

TINY = {
    "seed": 1,
    "data": {"image_size": 32, "val_images_per_modality": 1},
    "model": {"pretrained": "none", "width": 8, "dropout": 0.25},
    "train": {"batch_size": 8, "eval_batch_size": 32, "epochs_unimodal": 1, "epochs_multimodal": 1,
              "cpu_threads": 1},
    "cv": {"folds_cox": 3, "bootstrap": 50},
}
CONFS = ("histo_10x",)


@pytest.fixture(scope="module")
def cluster():
    with worker_config(), local_cluster(ExecutorConfig(kind="dask", workers=2)) as c:
        yield c


@pytest.fixture(scope="module")
def records():
    return planted_records(n=18, size=32, images_per_patient=2, n_genomic=4, seed=2)


@pytest.fixture(scope="module")
def reference(module_dir: Path, records) -> Path:
    run = module_dir / "local"
    run_cv(Config.model_validate(TINY), records, run, "cox", CONFS)
    return run


def on_cluster(cluster) -> Config:
    return Config.model_validate(
        {**TINY,
         "executor": {"kind": "dask", "scheduler_address": cluster.scheduler_address, "timeout_s": 300}}
    )


def _outputs(run: Path) -> dict[str, bytes]:
    names = ["folds.json", "predictions.csv", "metrics.json",
             *[f"cv/cox/fold_{k}/predictions.{ext}" for k in range(3) for ext in ("csv", "key")]]
    return {n: (run / n).read_bytes() for n in names}


def _worker_of(client, key_prefix: str) -> int | None:
    """Pid of the worker processing the task whose key starts with key_prefix."""
    processing = client.processing()
    pids = client.run(os.getpid)
    for address, keys in processing.items():
        if any(str(k).startswith(key_prefix) for k in keys):
            return pids[address]
    return None


@pytest.mark.slow  # each new worker process imports the training stack (~17 s CPU)
def test_folds_on_dask_with_a_worker_killed_mid_fold_give_the_local_results(cluster, records, reference,
                                                                            module_dir: Path) -> None:
    run = module_dir / "killed"
    result: dict = {}

    def go() -> None:
        try:
            run_cv(on_cluster(cluster), records, run, "cox", CONFS)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    killed = None
    with distributed.Client(cluster.scheduler_address, timeout=30) as client:
        while killed is None and thread.is_alive():  # pytest-timeout bounds it (a loaded machine is slow)
            if (run / "cv" / "cox" / "fold_1" / "histo_10x").is_dir():  # fold 1 is training
                killed = _worker_of(client, "mmdlm-cv-1-")
                if killed is not None:
                    os.kill(killed, signal.SIGKILL)
            time.sleep(0.02)
        thread.join(timeout=300)
        assert not thread.is_alive()
        assert killed is not None, "fold 1 was never seen training"
        assert killed not in client.run(os.getpid).values()  # the nanny started a new worker
    assert "error" not in result, result.get("error")
    assert _outputs(run) == _outputs(reference)

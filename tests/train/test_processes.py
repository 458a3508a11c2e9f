"""Real processes: a 2-process DDP epoch on CPU (gloo); a training process killed with SIGKILL, resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from mmdlm.config import Config
from mmdlm.data.toy import planted_records
from mmdlm.train.checkpoints import model_state, read_checkpoint
from mmdlm.train.fit import fit_stage

CFG = {
    "data": {"image_size": 32, "val_images_per_modality": 1},
    "model": {"pretrained": "none", "width": 8, "dropout": 0.25},
    "train": {"batch_size": 4, "eval_batch_size": 32, "cpu_threads": 1},
}

SCRIPT = """
import json, sys, time
from pathlib import Path
import lightning as L
import torch
from mmdlm.config import Config
from mmdlm.data.toy import planted_records
from mmdlm.train.fit import Devices, fit_stage

out = Path(sys.argv[1])
cfg = Config.model_validate(json.loads(sys.argv[2]))
records = planted_records(n=16, size=32, images_per_patient=2, n_genomic=4, seed=5)

class Record(L.Callback):
    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        seen = out / f"seen_rank{trainer.global_rank}.txt"
        with seen.open("a") as fh:
            fh.write(" ".join(str(i) for i in batch.index.tolist()) + "\\n")
    def on_train_epoch_start(self, trainer, module):
        if trainer.current_epoch == %(slow_epoch)d:
            (out / "slow").write_text("waiting")
            time.sleep(120)
    def on_train_end(self, trainer, module):
        w = sum(float(p.double().sum()) for p in module.parameters())
        (out / f"weights_rank{trainer.global_rank}.txt").write_text(repr(w))
        (out / f"world_rank{trainer.global_rank}.txt").write_text(str(trainer.world_size))

fit_stage(cfg, "cox", "histo_radiology", records[:12], records[12:], out / "stage", epochs=%(epochs)d,
          devices=Devices(%(devices)s), callbacks=[Record()])
"""


def _script(tmp_path: Path, epochs: int, slow_epoch: int, devices: str) -> Path:
    path = tmp_path / "train_script.py"
    path.write_text(
        textwrap.dedent(SCRIPT % {"epochs": epochs, "slow_epoch": slow_epoch, "devices": devices})
    )
    return path


def test_two_process_ddp_epoch_on_cpu(tmp_path: Path) -> None:
    script = _script(
        tmp_path, epochs=1, slow_epoch=-1, devices='accelerator="cpu", devices=2, strategy="ddp"'
    )
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path), json.dumps(CFG)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # two DDP processes ran (Lightning's banner is silenced by mmdlm.train.fit.quiet_lightning)
    assert [(tmp_path / f"world_rank{r}.txt").read_text() for r in (0, 1)] == ["2", "2"]
    seen = [
        [int(i) for line in (tmp_path / f"seen_rank{r}.txt").read_text().split("\n") for i in line.split()]
        for r in (0, 1)
    ]
    # each rank draws its own half of the 12 training patients; together they cover all of them
    assert len(seen[0]) == len(seen[1]) == 6
    assert sorted(seen[0] + seen[1]) == list(range(12))
    # gradients were all-reduced: both ranks end with the same weights
    w0, w1 = ((tmp_path / f"weights_rank{r}.txt").read_text() for r in (0, 1))
    assert w0 == w1
    assert (tmp_path / "stage" / "model.ckpt").is_file() and (tmp_path / "stage" / "done.json").is_file()


def test_training_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    cfg = Config.model_validate(CFG)
    script = _script(tmp_path, epochs=3, slow_epoch=2, devices='accelerator="cpu"')
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), json.dumps(CFG)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    last = tmp_path / "stage" / "last.ckpt"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not (tmp_path / "slow").exists():
            assert proc.poll() is None, "the training process ended before it could be killed"
            time.sleep(0.2)
        assert (tmp_path / "slow").exists()
        os.kill(proc.pid, signal.SIGKILL)  # killed in epoch 2, after epochs 0 and 1 were checkpointed
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert read_checkpoint(last)["epoch"] == 1
    assert not (tmp_path / "stage" / "done.json").exists()
    assert not [p for p in (tmp_path / "stage").iterdir() if p.name.startswith(".")]  # no half-written temp

    records = planted_records(n=16, size=32, images_per_patient=2, n_genomic=4, seed=5)
    resumed = fit_stage(
        cfg, "cox", "histo_radiology", records[:12], records[12:], tmp_path / "stage", epochs=3
    )
    reference = fit_stage(
        cfg, "cox", "histo_radiology", records[:12], records[12:], tmp_path / "ref", epochs=3
    )
    a, b = model_state(read_checkpoint(resumed.model)), model_state(read_checkpoint(reference.model))
    assert read_checkpoint(resumed.model)["epoch"] == 2
    assert all(torch.equal(a[k], b[k]) for k in b)

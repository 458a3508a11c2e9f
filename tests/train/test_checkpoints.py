"""Checkpoint writing on a full disk: a one-line error naming the file, and nothing left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from mmdlm import directio
from mmdlm.errors import MmdlmError
from mmdlm.train.checkpoints import AtomicCheckpointIO, read_checkpoint


def _full_disk_after(room: int):
    """An os.write that accepts `room` bytes in all, then fails as a full disk does (ENOSPC)."""
    real, written = os.write, [0]

    def write(fd: int, data) -> int:
        if written[0] + len(memoryview(data)) > room:
            raise OSError(errno.ENOSPC, "No space left on device")
        written[0] += len(memoryview(data))
        return real(fd, data)

    return write


def _state() -> dict:
    torch.manual_seed(0)
    return {"state_dict": {"w": torch.randn(256, 256)}, "epoch": 1}


def test_checkpoint_fits_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "stage" / "model.ckpt"
    AtomicCheckpointIO().save_checkpoint(_state(), path)
    assert torch.equal(read_checkpoint(path)["state_dict"]["w"], _state()["state_dict"]["w"])
    assert [p.name for p in path.parent.iterdir()] == ["model.ckpt"]


def test_full_disk_is_a_clear_error_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directio.os, "write", _full_disk_after(4096))
    path = tmp_path / "stage" / "model.ckpt"
    with pytest.raises(MmdlmError) as err:
        AtomicCheckpointIO().save_checkpoint(_state(), path)
    msg = str(err.value)
    assert msg.startswith(f"file {path}: could not write the checkpoint (")
    assert " MB free on its disk)" in msg
    assert list(path.parent.iterdir()) == []  # neither model.ckpt nor its temporary sibling

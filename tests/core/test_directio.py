"""DirectWriter: the bytes on disk are exactly the bytes written, with O_DIRECT where the file system takes
it and buffered writes where it refuses (at open or at a write)."""

from __future__ import annotations

import errno
import fcntl
import io
import os
from pathlib import Path

import pytest
import torch

from mmdlm import directio
from mmdlm.directio import BLOCK, DirectWriter

CHUNK = 2 * BLOCK  # small, so a few kilobytes cross several chunk boundaries


def _payload(n: int) -> bytes:
    return bytes((i * 7 + 3) % 251 for i in range(n))


def _supports_direct(folder: Path) -> bool:
    """Whether `folder`'s file system opens files with O_DIRECT (probed with a plain os.open)."""
    if not hasattr(os, "O_DIRECT"):
        return False
    probe = folder / "probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600))
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)
    return True


SIZES = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17]


@pytest.mark.parametrize("size", SIZES)
def test_every_size_lands_exactly(tmp_path: Path, size: int) -> None:
    data = _payload(size)
    path = tmp_path / "out.bin"
    with DirectWriter(path, chunk=CHUNK) as fh:
        for start in range(0, size, 1000):  # pieces that straddle blocks and chunks
            assert fh.write(memoryview(data)[start : start + 1000]) == len(data[start : start + 1000])
    assert path.read_bytes() == data
    assert fh.closed


def test_uses_o_direct_where_the_file_system_takes_it(tmp_path: Path) -> None:
    if not _supports_direct(tmp_path):
        pytest.skip("this file system refuses O_DIRECT")
    with DirectWriter(tmp_path / "out.bin", chunk=CHUNK) as fh:
        assert fh.direct
        assert fcntl.fcntl(fh._fd, fcntl.F_GETFL) & os.O_DIRECT
        fh.write(_payload(CHUNK + 5))
    assert fh.direct  # no write was refused
    assert (tmp_path / "out.bin").stat().st_size == CHUNK + 5


def test_a_torch_checkpoint_is_byte_identical_and_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    state = {"state_dict": {"w": torch.randn(37, 129), "b": torch.randn(3)}, "epoch": 2, "name": "x"}
    reference = io.BytesIO()
    torch.save(state, reference)
    path = tmp_path / "model.ckpt"
    with DirectWriter(path, chunk=CHUNK) as fh:
        torch.save(state, fh)
    assert path.read_bytes() == reference.getvalue()
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded["state_dict"]["w"], state["state_dict"]["w"]) and loaded["epoch"] == 2


def test_refused_at_open_writes_buffered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def no_direct(path, flags, mode=0o777):
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(directio.os, "open", no_direct)
    data = _payload(CHUNK + 123)
    with DirectWriter(tmp_path / "out.bin", chunk=CHUNK) as fh:
        assert not fh.direct
        fh.write(data)
    assert (tmp_path / "out.bin").read_bytes() == data


def test_refused_at_a_write_goes_on_buffered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _supports_direct(tmp_path):
        pytest.skip("this file system refuses O_DIRECT")
    real_write, calls = os.write, []

    def refuse_second(fd, data):
        calls.append(len(data))
        if len(calls) == 2:  # the second chunk: O_DIRECT refused mid-file
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(directio.os, "write", refuse_second)
    data = _payload(3 * CHUNK + 11)
    with DirectWriter(tmp_path / "out.bin", chunk=CHUNK) as fh:
        fh.write(data)
        assert not fh.direct
        assert not fcntl.fcntl(fh._fd, fcntl.F_GETFL) & os.O_DIRECT
    assert (tmp_path / "out.bin").read_bytes() == data
    assert calls[-1] == 11  # the tail went out unpadded once buffered


def test_other_errors_propagate_and_an_error_inside_aborts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(directio.os, "write", full)
    fh = DirectWriter(tmp_path / "out.bin", chunk=CHUNK)
    with pytest.raises(OSError) as err:
        fh.write(_payload(CHUNK))
    assert err.value.errno == errno.ENOSPC
    fh.abort()
    assert fh.closed
    with pytest.raises(ValueError, match="closed"):
        fh.write(b"x")
    with pytest.raises(RuntimeError), DirectWriter(tmp_path / "two.bin", chunk=CHUNK) as fh2:
        fh2.write(b"abc")
        raise RuntimeError("inside")
    assert fh2.closed and (tmp_path / "two.bin").read_bytes() == b""  # the staged tail was not written

"""The allocator setting: after it, a large block freed and allocated again is served from the heap without
the kernel faulting its pages in a second time (glibc); without it, every page faults again."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: a fresh process: frees 200 MB, allocates and writes it again, prints the minor page faults of the rewrite
_CHILD = """
import ctypes, resource, sys
from mmdlm.allocator import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "1" else None
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
n = 200 << 20
p = libc.malloc(n); ctypes.memset(p, 1, n); libc.free(p)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
p = libc.malloc(n); ctypes.memset(p, 1, n)
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _rewrite_faults(tuned: bool) -> tuple[str, int]:
    cmd = [sys.executable, "-c", _CHILD, "1" if tuned else "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return out[0], int(out[1])


def test_freed_blocks_stay_in_the_process_with_glibc() -> None:
    if sys.platform != "linux":
        pytest.skip("glibc's mallopt is Linux-only")
    flag, tuned = _rewrite_faults(True)
    if flag != "True":
        pytest.skip("not glibc: keep_freed_memory changes nothing here")
    _, untuned = _rewrite_faults(False)
    # 200 MB in 4 KiB pages is 51200 faults; transparent huge pages would make it about 100
    assert untuned >= 90
    assert tuned <= untuned // 20

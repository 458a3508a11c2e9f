import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmdlm.errors import MmdlmError
from mmdlm.rundir import run_lock


def test_second_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from pathlib import Path; from mmdlm.rundir import run_lock\n"
         "with run_lock(Path(sys.argv[1])):\n print('locked', flush=True); time.sleep(30)", str(run)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(MmdlmError) as exc:
            with run_lock(run):
                pass
        assert str(holder.pid) in str(exc.value) and str(run) in str(exc.value)
    finally:
        holder.kill()
        holder.wait()
    # the OS releases the lock of a killed process: the run directory is usable again
    deadline = time.time() + 5
    while True:
        try:
            with run_lock(run):
                break
        except MmdlmError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)

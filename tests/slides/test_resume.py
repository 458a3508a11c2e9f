"""Kill-and-resume: a real `mmdlm tile` process killed with SIGKILL mid-run, then restarted, ends with exactly
the stores of an uninterrupted run; nothing half-written is ever under a final name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from mmdlm.slides import open_store, read_index, tile_slides
from mmdlm.slides.config import TilingConfig

N_SLIDES = 5
TILING = {"magnifications": [20.0, 10.0, 5.0], "tile_size": 224, "workers": 2}


def store_content(path: Path) -> dict:
    """Everything in a store: root attrs (but the temp-independent ones), and every dataset and group attr."""
    out: dict = {}
    with h5py.File(path, "r") as f:
        out["attrs"] = {k: f.attrs[k] for k in f.attrs}
        for key in f:
            out[key] = {
                "tiles": f[key]["tiles"][()],
                "coords": f[key]["coords"][()],
                "attrs": {k: f[key].attrs[k] for k in f[key].attrs},
            }
    return out


def assert_same_store(a: Path, b: Path) -> None:
    ca, cb = store_content(a), store_content(b)
    assert ca.keys() == cb.keys()
    for key in ca:
        if key == "attrs":
            assert ca[key] == cb[key]
            continue
        np.testing.assert_array_equal(ca[key]["tiles"], cb[key]["tiles"])
        np.testing.assert_array_equal(ca[key]["coords"], cb[key]["coords"])
        assert ca[key]["attrs"] == cb[key]["attrs"]


def temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if ".tmp-" in p.name]


#: The tiling process: the library calls `mmdlm tile` makes (load_manifest + tile_slides), run as its
#: own interpreter without the CLI's config stack (which imports torch), so the test stays fast.
RUNNER = (
    "import sys; from mmdlm.slides.config import TilingConfig; "
    "from mmdlm.cohort.manifest import load_manifest; from mmdlm.slides.pipeline import tile_slides; "
    "cfg = TilingConfig.model_validate_json(sys.argv[3]); "
    "tile_slides(load_manifest(sys.argv[1]).slides, sys.argv[2], cfg, seed=0, progress=False)"
)


def start_tiling(cohort: Path, out: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", RUNNER, str(cohort), str(out), TilingConfig(**TILING).model_dump_json()]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path: Path, cmu_slide: Path) -> None:
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    rows = []
    for i in range(N_SLIDES):
        link = cohort / f"slide{i}.svs"
        link.symlink_to(cmu_slide)
        rows.append({"patient_id": f"P{i}", "slide_id": f"s{i}", "path": link.name})
    pd.DataFrame(rows).to_csv(cohort / "slides.csv", index=False)
    pd.DataFrame({"patient_id": [r["patient_id"] for r in rows], "time": 12.0, "event": 0}).to_csv(
        cohort / "patients.csv", index=False
    )
    out = tmp_path / "tiles"

    # 1. start a real run and kill it (the whole process group, SIGKILL) while a store is being written
    proc = start_tiling(cohort, out)
    deadline = time.monotonic() + 120
    finals: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        finals = sorted(out.glob("s*.h5"))
        if finals and [p for p in temporaries(out) if ".h5.tmp-" in p.name]:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the run finished before it could be killed: {proc.communicate()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    done_before = sorted(p.stem for p in out.glob("s*.h5"))
    assert 1 <= len(done_before) < N_SLIDES
    assert [
        p for p in temporaries(out) if ".h5.tmp-" in p.name
    ]  # killed mid-write: a temp store was left ...
    for name in done_before:  # ... but every store under its final name is complete and valid
        with open_store(out / f"{name}.h5") as store:
            assert store.identity["slide_id"] == name
            assert all(store.n_tiles(m) > 0 for m in (20, 10, 5))
    assert not (out / "summary.json").exists()

    # 2. restart: completes, skips what was done, removes the leftovers
    proc = start_tiling(cohort, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["skipped_fresh"]) == done_before
    assert sorted(summary["done"] + summary["skipped_fresh"]) == [f"s{i}" for i in range(N_SLIDES)]
    assert summary["failed"] == [] and summary["redone_stale"] == []
    assert temporaries(out) == []
    index = read_index(out)
    assert len(index) == 3 * N_SLIDES and not index.duplicated(["slide_id", "magnification"]).any()
    assert sorted(p.name for p in (out / "qc").iterdir()) == [f"s{i}.jpg" for i in range(N_SLIDES)]

    # 3. identical to an uninterrupted run
    reference = tmp_path / "reference"
    table = pd.DataFrame(rows).assign(path=lambda d: [str(cohort / p) for p in d.path])
    ref = tile_slides(table, reference, TilingConfig(**TILING), seed=0, workers=1, progress=False)
    assert ref["tiles"] == summary["tiles"]
    for i in range(N_SLIDES):
        assert_same_store(out / f"s{i}.h5", reference / f"s{i}.h5")

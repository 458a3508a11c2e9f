"""Bench: write the default synthetic cohort (120 patients) and report time, size and truth C-indices."""

from __future__ import annotations

import pathlib
import resource
import shutil
import sys
import tempfile

#: Ceilings from the issue: the default cohort in under 2 minutes on 2 cores and under 1 GB.
CEILING_SECONDS = 120.0
CEILING_BYTES = 1e9


def run(out_dir: pathlib.Path, workers: int = 2) -> dict:
    """Write the default cohort under `out_dir` and return the measured figures beside their ceilings."""
    import pandas as pd

    from mmdlm.synth import SynthConfig, write_synthetic_cohort
    from mmdlm.synth.truth import component_cindices

    out = pathlib.Path(out_dir) / "synth_default"
    if out.exists():
        shutil.rmtree(out)
    summary = write_synthetic_cohort(out, SynthConfig(), workers=workers)
    cidx = component_cindices(pd.read_csv(out / "truth.csv"))
    rss_mb = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    return {
        "patients": summary["patients"],
        "workers": workers,
        "seconds": summary["seconds"],
        "ceiling_seconds": CEILING_SECONDS,
        "ratio_seconds": round(summary["seconds"] / CEILING_SECONDS, 3),
        "megabytes": round(summary["bytes"] / 1e6, 1),
        "ceiling_megabytes": CEILING_BYTES / 1e6,
        "ratio_bytes": round(summary["bytes"] / CEILING_BYTES, 3),
        "files": summary["files"],
        "dss_events": summary["dss_events"],
        "peak_rss_mb": round(rss_mb, 1),
        **{f"cindex_{k}": round(v, 3) for k, v in cidx.items()},
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(pathlib.Path(tmp), workers=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    for key, value in figures.items():
        print(f"{key}: {value}")

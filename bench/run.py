"""`make bench`: run every bench/bench_*.py, print each figure beside its ceiling, write bench/results.json.

Each bench module exposes `run(out_dir: Path) -> dict`; a figure `X` with a ceiling is reported as keys
`X`, `ceiling_X` (or a nested dict) and a `ratio`/`*_ratio` key. Nothing here asserts a wall-clock time.
Modules run in name order (bench_wholerun last: it also gives science.py's figures); the whole of
`make bench` is meant to finish in under 10 minutes on 2 cores (each module's bench_seconds and the total
are in results.json).
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flatten(prefix: str, obj, rows: list[tuple[str, object]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    else:
        rows.append((prefix, obj))


def main(argv: list[str]) -> int:
    only = set(argv)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    results: dict[str, object] = {
        "machine": {"platform": platform.platform(), "cpus": torch.get_num_threads(),
                    "torch": torch.__version__, "cuda": torch.cuda.is_available()},
    }
    failed = 0
    t_all = time.perf_counter()
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"== {name} ==", flush=True)
        t0 = time.perf_counter()
        try:
            figures = _load(path).run(out / name)
        except Exception:  # noqa: BLE001 - one failing bench must not hide the others
            traceback.print_exc()
            figures = {"error": traceback.format_exc(limit=3)}
            failed += 1
        figures["bench_seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = figures
        rows: list[tuple[str, object]] = []
        _flatten("", figures, rows)
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            shown = f"{v:.4g}" if isinstance(v, float) else v
            print(f"  {k:<{width}}  {shown}")
    results["total_seconds"] = round(time.perf_counter() - t_all, 1)
    print(f"total {results['total_seconds']:.0f} s")
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {HERE / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

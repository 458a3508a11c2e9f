"""Shared fixtures: the real public test data beside the checkout, and a small CLI runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

# Tests never download; torch uses a private hub dir so a user's cache cannot change results.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only real data folder (../shared/data); tests skip if it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for one test module's shared outputs, removed when the module is done (model checkpoints
    weigh 45-135 MB each, and pytest would otherwise keep them until the session ends)."""
    path = tmp_path_factory.mktemp("module")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_torch_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point TORCH_HOME at an empty temp dir: no test can depend on (or download into) a real cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.getbasetemp() / "torch_home"))


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run `mmdlm ARGS...` in-process; returns (exit_code, stdout, stderr)."""
    from mmdlm.cli.app import main

    def _run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(map(str, args)))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def slide_reader_spy(monkeypatch: pytest.MonkeyPatch):
    """spy(module) -> list: replaces `module.open_slide` by a wrapper recording the reader of every call."""

    def spy(module) -> list[str]:
        used: list[str] = []
        real = module.open_slide

        def recording(path, reader="openslide"):
            used.append(reader)
            return real(path, reader)

        monkeypatch.setattr(module, "open_slide", recording)
        return used

    return spy

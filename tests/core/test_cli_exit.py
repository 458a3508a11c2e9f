"""The `mmdlm` program skips the garbage collector's last pass at exit; in-process callers keep theirs."""

from __future__ import annotations

import gc
import sys

import pytest

from mmdlm.cli.app import main


def test_the_program_leaves_without_the_final_collection(monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["mmdlm", "--help"])
    try:
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_in_process_callers_keep_the_collector() -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert gc.get_freeze_count() == 0

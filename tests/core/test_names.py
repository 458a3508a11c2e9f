"""Identifiers as file names (mmdlm.names); the operating system's refusals as one line (mmdlm.oserrors)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from mmdlm.errors import MmdlmError
from mmdlm.names import MAX_ID_CHARS, check_id, id_path, id_problem
from mmdlm.oserrors import describe, is_write_refusal


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("..", "starts with '.'"),
        (".hidden", "starts with '.'"),
        ("a/b", "path separator"),
        ("../../etc", "path separator"),
        ("a\\b", "path separator"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a\u202eb", "control character"),  # right-to-left override: hides the real name
        (" TCGA-AA-0001", "whitespace"),
        ("P" * (MAX_ID_CHARS + 1), f"{MAX_ID_CHARS + 1} characters long"),
    ],
)
def test_unsafe_identifiers_are_named(value: str, problem: str) -> None:
    assert problem in id_problem(value)
    with pytest.raises(MmdlmError) as exc:
        check_id(value, field="patient_id", file="p.csv", row=4)
    assert (exc.value.field, exc.value.row, exc.value.file) == ("patient_id", 4, "p.csv")


@pytest.mark.parametrize(
    "value", ["TCGA-B0-5081", "case_00012", "P 1", "Ñandú-7", "a.b.c", "P" * MAX_ID_CHARS]
)
def test_safe_identifiers_name_a_child_of_their_folder(tmp_path: Path, value: str) -> None:
    path = id_path(tmp_path, value, ".markup_legend.png")
    assert path.parent == tmp_path and path.name == value + ".markup_legend.png"


def test_id_path_refuses_what_would_leave_the_folder(tmp_path: Path) -> None:
    for bad in ("../x", "/etc/passwd", "..", "a/../../b"):
        with pytest.raises(MmdlmError):
            id_path(tmp_path, bad, ".h5", field="slide_id")


def test_hdf5_message_gives_path_errno_and_free_space(tmp_path: Path) -> None:
    tmp = tmp_path / ".S1.h5.tmp-123-0123abcd"
    exc = RuntimeError(
        f"Can't decrement id ref count (file write failed: time = x, filename = '{tmp}', "
        "file descriptor = 4, errno = 28, error message = 'No space left on device', buf = 0x5)"
    )
    where, cause = describe(exc)
    assert where == str(tmp_path / "S1.h5")  # the atomic writer's temporary name is never shown
    assert cause.startswith("No space left on device (") and cause.endswith(" free)")


def test_write_refusals_are_told_from_read_errors(tmp_path: Path) -> None:
    assert is_write_refusal(OSError(errno.ENOSPC, "No space left on device"))
    assert is_write_refusal(OSError(errno.EROFS, "Read-only file system", "/anywhere"))
    assert is_write_refusal(OSError(errno.EACCES, "Permission denied", str(tmp_path / "out" / "a.h5")),
                            tmp_path / "out")
    assert not is_write_refusal(OSError(errno.EACCES, "Permission denied", "/slides/s.svs"), tmp_path / "out")
    assert not is_write_refusal(OSError(errno.EIO, "Input/output error", "/slides/s.svs"), tmp_path / "out")

"""The operating system saying no (read-only folder, full disk, name too long, HDF5 write failures): one line
naming the path and the cause, with the free space when the disk is full."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from mmdlm.atomic import free_space
from mmdlm.errors import MmdlmError

#: errno values that only writing can cause: never the fault of an input file being read.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG})
#: HDF5 (h5py) messages carry their own errno and file name: "name = '/x.h5', errno = 28, error message = ..."
_HDF5_ERRNO = re.compile(r"errno = (\d+)")
_HDF5_NAME = re.compile(r"name = '([^']*)'")
_HDF5_MESSAGE = re.compile(r"error message = '([^']*)'")


class OutputError(MmdlmError):
    """The operating system refused to write an output (not a problem of the input being processed)."""


def os_errno(exc: BaseException) -> int | None:
    """The error number of `exc`, also when h5py only writes it into the message (its OSError and
    RuntimeError carry HDF5's 'errno = 28, error message = ...')."""
    m = _HDF5_ERRNO.search(str(exc))
    return int(m.group(1)) if m else getattr(exc, "errno", None)


#: mmdlm.atomic's temporary sibling: .<final>.tmp-<pid>-<hex>; an error on it is reported on <final>.
_TMP_NAME = re.compile(r"^\.(.+)\.tmp-\d+-[0-9a-f]{8}$")


def _final_name(path: str) -> str:
    """The final name of an atomic writer's temporary path (users never see those names)."""
    head, tail = os.path.split(path)
    m = _TMP_NAME.match(tail)
    return os.path.join(head, m.group(1)) if m else path


def _nearest_folder(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.is_dir():
            return parent
    return Path.cwd()


def describe(exc: BaseException, path: str | Path | None = None) -> tuple[str, str]:
    """(path, cause) of an OSError: the path it names (or `path`), and strerror plus the free space when the
    disk is full (ENOSPC / EDQUOT)."""
    text = str(exc)
    hdf5_name = _HDF5_NAME.search(text)
    named = getattr(exc, "filename", None) or (hdf5_name.group(1) if hdf5_name else None)
    where = _final_name(str(named if named is not None else (path if path is not None else "?")))
    code = os_errno(exc)
    hdf5 = _HDF5_MESSAGE.search(text)
    cause = hdf5.group(1) if hdf5 else getattr(exc, "strerror", None)
    if cause is None:
        first = text.splitlines()[0] if text else type(exc).__name__
        cause = os.strerror(code) if code is not None else first
    if code in (errno.ENOSPC, errno.EDQUOT):
        cause = f"{cause} ({free_space(_nearest_folder(Path(where)))})"
    return where, cause


def is_write_refusal(exc: OSError, out_dir: str | Path | None = None) -> bool:
    """Whether `exc` comes from writing outputs: an errno only writes cause, or a permission error on a path
    inside `out_dir`."""
    code = os_errno(exc)
    if code in WRITE_ERRNOS:
        return True
    where, _ = describe(exc)
    if code in (errno.EACCES, errno.EPERM) and out_dir is not None and where != "?":
        target = os.path.abspath(where)
        return os.path.commonpath([target, os.path.abspath(out_dir)]) == os.path.abspath(out_dir)
    return False


def output_error(
    exc: BaseException, path: str | Path | None = None, action: str = "cannot write"
) -> OutputError:
    """An OutputError naming the path and cause of `exc` (one line)."""
    where, cause = describe(exc, path)
    return OutputError(f"{action}: {cause}", file=where)


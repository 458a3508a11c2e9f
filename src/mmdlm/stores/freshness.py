"""The one freshness rule of store stages: an output is fresh when the input signature and the parameters
hash it was written with equal today's. The input signature of a file is sha256 over its size, mtime (ns)
and first and last MiB (cheap on multi-GB slides, yet a rewrite in place with the same size and time is
still seen); a folder's signature covers every file below it (relative name + that file's signature)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mmdlm.errors import MmdlmError

_HASH_BYTES = 1 << 20


def _file_digest(path: Path) -> hashlib._Hash:
    st = path.stat()
    digest = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with path.open("rb") as fh:
        digest.update(fh.read(_HASH_BYTES))
        if st.st_size > _HASH_BYTES:
            fh.seek(max(_HASH_BYTES, st.st_size - _HASH_BYTES))
            digest.update(fh.read(_HASH_BYTES))
    return digest


def input_signature(path: str | Path, what: str = "input file") -> str:
    """Signature (32 hex chars) of an input file or folder; '' for an empty path. A missing or unreadable
    input is a one-line error naming the file."""
    if not str(path):
        return ""
    path = Path(path)
    try:
        if path.is_dir():
            digest = hashlib.sha256(b"folder")
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    f = Path(root, name)
                    digest.update(f"{f.relative_to(path)}:{_file_digest(f).hexdigest()}\n".encode())
            return digest.hexdigest()[:32]
        return _file_digest(path).hexdigest()[:32]
    except OSError as exc:
        raise MmdlmError(f"cannot read {what} ({exc.strerror or exc})", file=path) from None

"""What a reader needs to reproduce a run: content hashes of its inputs and the software versions."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("mmdlm", "torch", "torchvision", "lightning", "lifelines", "scikit-learn", "scikit-survival",
            "openslide-python", "openslide-bin", "pydicom", "SimpleITK", "numpy", "pandas", "h5py")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def data_hashes(run_dir: Path, relative: tuple[str, ...]) -> dict[str, str]:
    """SHA-256 (first 16 hex digits) of each existing file under `run_dir`, keyed by its relative path."""
    out = {}
    for rel in relative:
        path = Path(run_dir) / rel
        if path.is_file():
            out[rel] = file_sha256(path)[:16]
    return out


def software_versions() -> dict[str, str]:
    """Python, platform and the versions of the packages results depend on (absent ones skipped)."""
    out = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out

"""Feature stores (docs/formats/features.md): FEATS/<slide_id>.h5 per slide, FEATS/radiology/<patient_id>.h5.

Each holds float16 features [N, D] and, for slides, the level-0 (x, y) of every tile per magnification, with
the encoder's identity and the slide's identity as root attributes; `store_is_fresh` is the resume rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mmdlm.errors import MmdlmError
from mmdlm.names import id_path
from mmdlm.oserrors import output_error
from mmdlm.slides.config import TilingConfig
from mmdlm.slides.store import mag_key

FORMAT_VERSION = 1
#: Tiling fields that do not change which tiles the grid holds (the feature stage reads every tissue tile).
_NOT_GRID = frozenset({"workers", "max_tiles_per_slide", "compression", "qc_mpp", "qc_max_side"})
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError)


def grid_hash(cfg: TilingConfig) -> str:
    """Hash of the tiling fields that decide the tissue grid (magnifications, tile size, mask and blur)."""
    params = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _NOT_GRID}
    params["format_version"] = FORMAT_VERSION
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]


def slide_store_path(feats_dir: Path, slide_id: str) -> Path:
    """FEATS/<slide_id>.h5."""
    return id_path(feats_dir, slide_id, ".h5", field="slide_id")


def radiology_store_path(feats_dir: Path, patient_id: str) -> Path:
    """FEATS/radiology/<patient_id>.h5."""
    return id_path(Path(feats_dir) / "radiology", patient_id, ".h5", field="patient_id")


@dataclass(frozen=True)
class MagnificationFeatures:
    """One magnification's features float16 [N, D] and level-0 tile coordinates int64 [N, 2]."""

    magnification: float
    features: np.ndarray
    coords: np.ndarray
    level0_size: int
    mpp: float


def write_slide_store(path: Path, attrs: dict[str, Any], parts: list[MagnificationFeatures]) -> None:
    """Write a slide's feature store at `path` (the caller renames it into place)."""
    try:
        with h5py.File(path, "w") as fh:
            fh.attrs.update({k: _h5(v) for k, v in attrs.items()})
            fh.attrs["format_version"] = FORMAT_VERSION
            for part in parts:
                group = fh.create_group(mag_key(part.magnification))
                group.create_dataset("features", data=np.asarray(part.features, dtype=np.float16))
                group.create_dataset("coords", data=np.asarray(part.coords, dtype=np.int64).reshape(-1, 2))
                group.attrs.update(
                    magnification=float(part.magnification),
                    level0_size=int(part.level0_size),
                    mpp=float(part.mpp),
                    n_tiles=len(part.coords),
                )
    except (OSError, RuntimeError) as exc:
        raise output_error(exc, path, "cannot write the feature store") from None


def write_radiology_store(path: Path, attrs: dict[str, Any], planes: list[str], features: np.ndarray) -> None:
    """Write a patient's radiology plane features (float16 [P, D], plane names) at `path`."""
    try:
        with h5py.File(path, "w") as fh:
            fh.attrs.update({k: _h5(v) for k, v in attrs.items()})
            fh.attrs["format_version"] = FORMAT_VERSION
            fh.create_dataset("features", data=np.asarray(features, dtype=np.float16))
            fh.create_dataset("planes", data=np.asarray(planes, dtype="S"))
    except (OSError, RuntimeError) as exc:
        raise output_error(exc, path, "cannot write the feature store") from None


def _h5(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else value


def read_attrs(path: Path) -> dict[str, Any]:
    """Root attributes of a feature store (MmdlmError naming the file when it is damaged)."""
    try:
        with h5py.File(path, "r") as fh:
            return {k: (v.item() if hasattr(v, "item") else v) for k, v in fh.attrs.items()}
    except _H5_ERRORS as exc:
        raise damaged(path, exc) from None


def store_is_fresh(path: Path, expected: dict[str, Any]) -> bool:
    """True when `path` exists, reads, and its attributes match every `expected` one (encoder identity key,
    slide content hash, grid hash, ...); a damaged store is stale."""
    if not path.is_file():
        return False
    try:
        attrs = read_attrs(path)
    except MmdlmError:
        return False
    return all(attrs.get(k) == v for k, v in expected.items())


def read_magnification(path: Path, magnification: float) -> MagnificationFeatures | None:
    """A magnification's features and coords from a slide store (None when the slide has none at it)."""
    try:
        with h5py.File(path, "r") as fh:
            key = mag_key(magnification)
            if key not in fh:
                return None
            group = fh[key]
            return MagnificationFeatures(
                float(group.attrs["magnification"]),
                group["features"][()],
                group["coords"][()],
                int(group.attrs["level0_size"]),
                float(group.attrs["mpp"]),
            )
    except _H5_ERRORS as exc:
        raise damaged(path, exc) from None


def read_radiology(path: Path) -> tuple[list[str], np.ndarray]:
    """(plane names, float16 features [P, D]) of a radiology feature store."""
    try:
        with h5py.File(path, "r") as fh:
            return [p.decode() for p in fh["planes"][()]], fh["features"][()]
    except _H5_ERRORS as exc:
        raise damaged(path, exc) from None


def damaged(path: Path, exc: BaseException) -> MmdlmError:
    """The error for a feature store that cannot be read: rebuild it."""
    return MmdlmError(
        f"damaged feature store ({exc.__class__.__name__}); rerun `mmdlm features` to rebuild it", file=path
    )

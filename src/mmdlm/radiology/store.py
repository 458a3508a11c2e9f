"""The radiology store: RAD/<patient_id>/{axial,coronal,sagittal}.png + meta.json, index.csv, summary.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from mmdlm.atomic import atomic_path, write_text_atomic
from mmdlm.errors import MmdlmError
from mmdlm.names import check_id, id_path

FORMAT_VERSION = 1
META_NAME = "meta.json"
INDEX_NAME = "index.csv"
SUMMARY_NAME = "summary.json"
INDEX_COLUMNS: tuple[str, ...] = ("patient_id", "plane", "path", "modality", "diameter_mm", "slice_index")


def check_patient_id(patient_id: str) -> str:
    """A patient ID usable as one folder name (no separators, not hidden, not '.'/'..')."""
    return check_id(patient_id, field="patient_id", what="patient ID")


def write_png(path: Path, pixels: np.ndarray) -> None:
    """8-bit grayscale PNG with no text/metadata chunks."""
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode="L").save(path, format="PNG")


def write_patient(
    out_dir: Path, patient_id: str, images: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Write RAD/<patient_id>/ (one PNG per plane + meta.json) atomically, replacing any previous folder."""
    final = id_path(out_dir, patient_id, field="patient_id")
    with atomic_path(final) as tmp:
        tmp.mkdir()
        for plane, pixels in images.items():
            write_png(tmp / f"{plane}.png", pixels)
        (tmp / META_NAME).write_text(json.dumps(meta, indent=2) + "\n")
    return final


def read_meta(patient_dir: Path) -> dict[str, Any] | None:
    """A patient's meta.json, or None when absent or unreadable."""
    try:
        return json.loads((Path(patient_dir) / META_NAME).read_text())
    except (OSError, ValueError):
        return None


def index_rows(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """index.csv rows of one patient's meta.json (paths relative to the store)."""
    rows = []
    for plane, info in meta.get("planes", {}).items():
        rows.append(
            {
                "patient_id": meta["patient_id"],
                "plane": plane,
                "path": f"{meta['patient_id']}/{info['file']}",
                "modality": info.get("modality") or meta.get("modality") or "",
                "diameter_mm": info.get("diameter_mm"),
                "slice_index": info.get("slice_index"),
            }
        )
    return rows


def write_index(out_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """index.csv (one row per image), written atomically."""
    frame = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    frame["slice_index"] = pd.array(frame["slice_index"], dtype="Int64")
    return write_text_atomic(Path(out_dir) / INDEX_NAME, frame.to_csv(index=False))


def read_index(rad_dir: str | Path) -> pd.DataFrame:
    """RAD/index.csv with absolute paths; diameter_mm float, slice_index Int64 (empty for ready images)."""
    rad_dir = Path(rad_dir)
    path = rad_dir / INDEX_NAME
    if not path.is_file():
        raise MmdlmError("radiology index not found (run `mmdlm radiology` first)", file=path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MmdlmError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None
    missing = [c for c in INDEX_COLUMNS if c not in frame.columns]
    if missing:
        raise MmdlmError("radiology index lacks columns", file=path, field=",".join(missing))
    frame["path"] = [str((rad_dir / p).resolve()) for p in frame["path"]]
    frame["diameter_mm"] = pd.to_numeric(frame["diameter_mm"].replace("", np.nan), errors="coerce")
    frame["slice_index"] = pd.to_numeric(frame["slice_index"].replace("", np.nan), errors="coerce").astype(
        "Int64"
    )
    return frame[list(INDEX_COLUMNS)]

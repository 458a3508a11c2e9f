"""The manifest folder (docs/formats.md section 2, docs/formats/manifest.md): write it, load and validate it.

Every stage after ingest calls `load_manifest(cohort_dir)`; it returns typed tables or raises MmdlmError
naming the file, row, patient and field of the first problem. It never reads images.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.atomic import atomic_path
from mmdlm.cohort.endpoints import ENDPOINTS
from mmdlm.cohort.patients import PATIENT_COLUMNS
from mmdlm.cohort.radiology_folder import IMAGE_MODALITIES, KINDS, PLANES, RADIOLOGY_COLUMNS
from mmdlm.cohort.slides_folder import SLIDE_COLUMNS
from mmdlm.cohort.tables import first_row
from mmdlm.errors import MmdlmError
from mmdlm.names import id_problem

PATIENTS_FILE = "patients.csv"
SLIDES_FILE = "slides.csv"
RADIOLOGY_FILE = "radiology.csv"
ALTERATIONS_FILE = "alterations.csv"
FEATURES_FILE = "features.json"
SUMMARY_FILE = "summary.json"

#: Columns a patients.csv must have; the other PATIENT_COLUMNS are added empty when absent.
REQUIRED_PATIENT_COLUMNS: tuple[str, ...] = ("patient_id", "time", "event")
_INT_COLUMNS = ("event", "label_5y", "t_stage", "n_stage", "m_stage", "grade", "stage")
_FLOAT_COLUMNS = ("time", "age")


@dataclass(frozen=True)
class Manifest:
    """A validated cohort: patients (one row each), slides, radiology series and the alteration matrix.

    - patients: PATIENT_COLUMNS; patient_id str; time float (months, NaN = unknown); event, label_5y and
      the ordinal clinical columns nullable Int64; age float; sex and *_raw str ('' = missing).
    - slides: patient_id, slide_id, path (absolute str).
    - radiology: patient_id, path, kind, modality, plane, mask_path (absolute str, '' = none).
    - alterations: patient_id + one int 0/1 column per feature, in `features` order.
    """

    root: Path
    patients: pd.DataFrame
    slides: pd.DataFrame
    radiology: pd.DataFrame
    alterations: pd.DataFrame
    features: list[str]
    features_info: dict = field(default_factory=dict)

    @property
    def endpoint(self) -> str | None:
        """The cohort's endpoint name (DSS, OS or PFI), None if patients.csv does not say."""
        values = sorted({v for v in self.patients["endpoint"] if v})
        return values[0] if len(values) == 1 else None

    def genomic_vectors(self) -> dict[str, np.ndarray]:
        """patient_id -> float32 0/1 vector over `features` (patients with an alteration row; empty when the
        cohort has no genomic features)."""
        if not self.features:
            return {}
        values = self.alterations[self.features].to_numpy(dtype=np.float32)
        return {str(pid): values[i].copy() for i, pid in enumerate(self.alterations["patient_id"])}

    def with_endpoint(self) -> pd.DataFrame:
        """Patients whose time and event are known (the survival tasks' population)."""
        p = self.patients
        return p[p["time"].notna() & p["event"].notna()].reset_index(drop=True)

    def availability(self) -> pd.DataFrame:
        """patient_id-indexed booleans: slides, radiology, genomics, and all three."""
        ids = self.patients["patient_id"]
        out = pd.DataFrame(index=pd.Index(ids, name="patient_id"))
        out["slides"] = ids.isin(set(self.slides["patient_id"])).to_numpy()
        out["radiology"] = ids.isin(set(self.radiology["patient_id"])).to_numpy()
        out["genomics"] = ids.isin(set(self.alterations["patient_id"])).to_numpy()
        out["all"] = out[["slides", "radiology", "genomics"]].all(axis=1)
        return out

    def alteration_vector(self, patient_id: str) -> np.ndarray | None:
        """The patient's 0/1 alteration vector (float32, `features` order) or None without genomic data."""
        rows = self.alterations[self.alterations["patient_id"] == patient_id]
        if rows.empty:
            return None
        return rows[self.features].to_numpy(dtype=np.float32)[0]


# ----------------------------------------------------------------------------------------------- writing


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def write_manifest(
    out: str | Path,
    *,
    patients: pd.DataFrame,
    slides: pd.DataFrame,
    radiology: pd.DataFrame,
    alterations: pd.DataFrame,
    features_info: dict,
    summary: dict,
    force: bool = False,
) -> Path:
    """Write the manifest folder atomically (built under a temporary sibling, renamed when complete).
    An existing `out` is replaced only with `force`."""
    out = Path(out)
    if out.exists() and not force:
        raise MmdlmError("output folder exists (use --force to replace it)", file=out)
    if out.exists() and not out.is_dir():
        raise MmdlmError("output path exists and is not a folder", file=out)
    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        (tmp / PATIENTS_FILE).write_text(_csv(patients[list(PATIENT_COLUMNS)]))
        (tmp / SLIDES_FILE).write_text(_csv(slides[list(SLIDE_COLUMNS)]))
        (tmp / RADIOLOGY_FILE).write_text(_csv(radiology[list(RADIOLOGY_COLUMNS)]))
        feats = list(features_info.get("features", []))
        (tmp / ALTERATIONS_FILE).write_text(_csv(alterations[["patient_id", *feats]]))
        (tmp / FEATURES_FILE).write_text(json.dumps(features_info, indent=2, default=str) + "\n")
        (tmp / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return out


# ----------------------------------------------------------------------------------------------- loading


def _read_csv(path: Path, required: tuple[str, ...], optional: bool = False) -> pd.DataFrame | None:
    if not path.is_file():
        if optional:
            return None
        raise MmdlmError("manifest file not found (run `mmdlm ingest` first)", file=path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MmdlmError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in required:
        if col not in frame.columns:
            raise MmdlmError("missing required column", file=path, field=col)
    return frame.apply(lambda s: s.str.strip()) if len(frame) else frame


def _fail(path: Path, frame: pd.DataFrame, i: int, column: str, message: str) -> MmdlmError:
    pid = frame["patient_id"].iloc[i] if "patient_id" in frame.columns else None
    return MmdlmError(message, file=path, row=i + 2, patient=pid or None, field=column)


def _numeric(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = (raw != "") & (values.isna() | ~np.isfinite(values.fillna(0).to_numpy(dtype=float)))
    if bad.any():
        i = first_row(bad)
        raise _fail(path, frame, i, column, f"not a number: {raw.iloc[i]!r}")
    return values.astype(float)


def _binary(path: Path, frame: pd.DataFrame, column: str, allow_empty: bool) -> pd.Series:
    values = _numeric(path, frame, column)
    bad = ~values.isin([0.0, 1.0]) & (values.notna() | (not allow_empty))
    if bad.any():
        i = first_row(bad)
        raise _fail(
            path,
            frame,
            i,
            column,
            f"must be 0 or 1{' or empty' if allow_empty else ''}, got {frame[column].iloc[i]!r}",
        )
    return values.astype("Int64")


def _unique_ids(path: Path, frame: pd.DataFrame, column: str) -> None:
    empty = frame[column] == ""
    if empty.any():
        raise _fail(path, frame, first_row(empty), column, f"empty {column}")
    dup = frame[column].duplicated()
    if dup.any():
        i = first_row(dup)
        raise _fail(path, frame, i, column, f"duplicate {column} {frame[column].iloc[i]!r}")


def _safe_ids(path: Path, frame: pd.DataFrame, column: str) -> None:
    """Every identifier of `column` can name a file (mmdlm.names): later stages build paths from it."""
    for i, value in enumerate(frame[column]):
        problem = id_problem(value)
        if problem is not None:
            message = f"{column} {str(value)[:60]!r} {problem}: it cannot name a file"
            raise _fail(path, frame, i, column, message)


def _known_patients(path: Path, frame: pd.DataFrame, patients: set[str]) -> None:
    unknown = ~frame["patient_id"].isin(patients)
    if unknown.any():
        i = first_row(unknown)
        raise _fail(path, frame, i, "patient_id", "patient not in patients.csv")


def resolve_path(raw: str, root: Path, *, file: Path, row: int, patient: str | None, column: str) -> str:
    """An absolute path stays as written; a relative one is joined to the cohort folder and may not escape it
    (checked on the normalised path, so '..' cannot leave the folder; symlinks inside it are allowed)."""
    p = Path(raw)
    if p.is_absolute():
        return os.path.normpath(raw)
    joined = os.path.normpath(os.path.join(root, raw))
    if os.path.commonpath([joined, str(root)]) != str(root):
        raise MmdlmError(
            f"relative path {raw!r} escapes the cohort folder",
            file=file,
            row=row,
            patient=patient,
            field=column,
        )
    return joined


def _paths(
    path: Path, frame: pd.DataFrame, column: str, root: Path, *, required: bool, check_files: bool
) -> None:
    out = []
    for i, raw in enumerate(frame[column]):
        if not raw:
            if required:
                raise _fail(path, frame, i, column, f"empty {column}")
            out.append("")
            continue
        resolved = resolve_path(
            raw, root, file=path, row=i + 2, patient=frame["patient_id"].iloc[i], column=column
        )
        if check_files and not os.path.exists(resolved):
            raise _fail(path, frame, i, column, f"file not found: {resolved}")
        out.append(resolved)
    frame[column] = out


def _choices(
    path: Path, frame: pd.DataFrame, column: str, allowed: tuple[str, ...], allow_empty: bool
) -> None:
    ok = frame[column].isin(allowed) | ((frame[column] == "") & allow_empty)
    if not ok.all():
        i = first_row(~ok)
        raise _fail(
            path, frame, i, column, f"must be one of {', '.join(allowed)}, got {frame[column].iloc[i]!r}"
        )


def _load_patients(root: Path) -> pd.DataFrame:
    path = root / PATIENTS_FILE
    frame = _read_csv(path, REQUIRED_PATIENT_COLUMNS)
    assert frame is not None
    for col in PATIENT_COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
    _unique_ids(path, frame, "patient_id")
    _safe_ids(path, frame, "patient_id")
    time = _numeric(path, frame, "time")
    neg = time < 0
    if neg.any():
        raise _fail(path, frame, first_row(neg), "time", "negative time")
    event = _binary(path, frame, "event", allow_empty=True)
    half = time.isna() != event.isna()
    if half.any():
        i = first_row(half)
        raise _fail(
            path,
            frame,
            i,
            "time" if time.isna().iloc[i] else "event",
            "time and event must both be given or both be empty",
        )
    _choices(path, frame, "endpoint", ENDPOINTS, allow_empty=True)
    label = _binary(path, frame, "label_5y", allow_empty=True)
    for col in ("t_stage", "n_stage", "m_stage", "grade", "stage"):
        values = _numeric(path, frame, col)
        bad = values.notna() & ((values != values.round()) | (values < 0) | (values > 4))
        if bad.any():
            i = first_row(bad)
            raise _fail(path, frame, i, col, f"must be an integer 0..4 or empty, got {frame[col].iloc[i]!r}")
        frame[col] = values.astype("Int64")
    frame["age"] = _numeric(path, frame, "age")
    frame["time"], frame["event"], frame["label_5y"] = time, event, label
    extra = [c for c in frame.columns if c not in PATIENT_COLUMNS]
    return frame[[*PATIENT_COLUMNS, *extra]]


def load_manifest(cohort_dir: str | Path, *, check_files: bool = False) -> Manifest:
    """Load and validate a manifest folder. patients.csv is required; slides.csv, radiology.csv and
    alterations.csv may be absent (empty tables). Relative paths resolve against `cohort_dir` and may not
    escape it; absolute paths are kept. With `check_files`, every referenced path must exist."""
    root = Path(os.path.abspath(cohort_dir))
    if not root.is_dir():
        raise MmdlmError("cohort folder not found (run `mmdlm ingest` first)", file=root)
    patients = _load_patients(root)
    ids = set(patients["patient_id"])

    spath = root / SLIDES_FILE
    slides = _read_csv(spath, SLIDE_COLUMNS, optional=True)
    if slides is None:
        slides = pd.DataFrame(columns=list(SLIDE_COLUMNS), dtype=str)
    _known_patients(spath, slides, ids)
    _unique_ids(spath, slides, "slide_id")
    _safe_ids(spath, slides, "slide_id")
    _paths(spath, slides, "path", root, required=True, check_files=check_files)

    rpath = root / RADIOLOGY_FILE
    radiology = _read_csv(rpath, ("patient_id", "path", "kind", "modality"), optional=True)
    if radiology is None:
        radiology = pd.DataFrame(columns=list(RADIOLOGY_COLUMNS), dtype=str)
    for col in ("plane", "mask_path"):
        if col not in radiology.columns:
            radiology[col] = ""
    _known_patients(rpath, radiology, ids)
    _choices(rpath, radiology, "kind", KINDS, allow_empty=False)
    _choices(rpath, radiology, "modality", IMAGE_MODALITIES, allow_empty=False)
    _choices(rpath, radiology, "plane", PLANES, allow_empty=True)
    _paths(rpath, radiology, "path", root, required=True, check_files=check_files)
    _paths(rpath, radiology, "mask_path", root, required=False, check_files=check_files)
    dup = radiology.duplicated(subset=["patient_id", "path"])
    if dup.any():
        raise _fail(rpath, radiology, first_row(dup), "path", "series listed twice")

    features, info = _load_features(root)
    apath = root / ALTERATIONS_FILE
    alterations = _read_csv(apath, ("patient_id",), optional=True)
    if alterations is None:
        alterations = pd.DataFrame(columns=["patient_id", *(features or [])], dtype=str)
    columns = [c for c in alterations.columns if c != "patient_id"]
    if features is None:
        features = columns
    elif columns != features:
        raise MmdlmError(
            f"alteration columns {columns} differ from the features.json list {features}",
            file=apath,
            field="features",
        )
    _known_patients(apath, alterations, ids)
    _unique_ids(apath, alterations, "patient_id")
    for f in features:
        alterations[f] = _binary(apath, alterations, f, allow_empty=False).astype(int)
    return Manifest(
        root=root,
        patients=patients.reset_index(drop=True),
        slides=slides.reset_index(drop=True),
        radiology=radiology[[*RADIOLOGY_COLUMNS]].reset_index(drop=True),
        alterations=alterations.reset_index(drop=True),
        features=list(features),
        features_info=info,
    )


def _load_features(root: Path) -> tuple[list[str] | None, dict]:
    path = root / FEATURES_FILE
    if not path.is_file():
        return None, {}
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MmdlmError(f"not valid JSON ({exc.__class__.__name__})", file=path) from None
    feats = info.get("features") if isinstance(info, dict) else None
    if not isinstance(feats, list) or not all(isinstance(f, str) and f for f in feats):
        raise MmdlmError("must hold a 'features' list of names", file=path, field="features")
    if len(set(feats)) != len(feats):
        raise MmdlmError("a feature is listed twice", file=path, field="features")
    return feats, info


def as_manifest(cohort: str | Path | Manifest) -> Manifest:
    """A manifest already loaded (passed along by the caller that loaded it), or loaded from its folder."""
    return cohort if isinstance(cohort, Manifest) else load_manifest(cohort)

"""The table-driven bad-input suite: each case is an input, the CLI command run on it, the expected exit code,
the words its message must hold, and the rule that nothing outside the output folder changes (a refusal,
exit 2, leaves the whole workspace byte-identical, the output folder included).

Cases run in-process through `mmdlm.cli.app.main`; the OS refusals that cannot be produced without root
(read-only folder, full disk) are simulated by monkeypatching the failing call with the real errno. The
list of cases and their messages is in docs/bad-input.md.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pathlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# ------------------------------------------------------------------------------------------ the workspace


@dataclass
class Kit:
    """What a case builds its input from: the workspace folder and the shared materials."""

    root: Path
    make_study: Callable[..., Path]
    table: tuple[list[str], list[list[str]]]
    materials: dict[str, Path]
    monkeypatch: pytest.MonkeyPatch

    def p(self, rel: str) -> Path:
        """A path in the workspace."""
        return self.root / rel

    def copy(self, name: str, rel: str | None = None) -> Path:
        """Copy a shared material (folder or file) into the workspace."""
        src, dst = self.materials[name], self.root / (rel or name)
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        return dst

    def write(self, rel: str, text: str | bytes) -> Path:
        """Write a file in the workspace."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    name: str
    build: Callable[[Kit], list]  # -> the CLI arguments
    code: int
    words: tuple[str, ...]
    out: str = "out"  # the output folder (relative to the workspace)
    refusal: bool | None = None  # byte-identical workspace; default: code == 2
    check: Callable[[Kit], None] | None = None  # further assertions on the result
    setup: Callable[[Kit], None] | None = None  # monkeypatches applied just before the command
    extra: dict = field(default_factory=dict)


def tree(root: Path) -> dict[str, str]:
    """relative path -> content hash (files), 'dir', or 'link:<target>' (links are not followed)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def outside(snapshot: dict[str, str], out: str) -> dict[str, str]:
    """The snapshot without the output folder."""
    return {k: v for k, v in snapshot.items() if k != out and not k.startswith(out + "/")}


# ------------------------------------------------------------------------------------------ shared materials


def _fake_train_fold(cfg, task, train, val, out_dir, configurations):
    """Planted scores for the CV setup run (the real training is tested in tests/train)."""
    rows = [{"patient_id": r.patient_id, "risk": -r.time, "p_dead_5y": 0.5} for r in val]
    return {c: pd.DataFrame(rows) for c in configurations}


@pytest.fixture(scope="module")
def materials(module_dir: Path) -> dict[str, Path]:
    """Built once: toy stores and a finished CV run on them, a small slide with its manifest, a CT volume
    whose mask lies on another grid."""
    import SimpleITK as sitk

    from mmdlm.config import load_config, packaged_config
    from mmdlm.data.toy import planted_records, write_toy_stores
    from mmdlm.pipeline.evaluate import cross_validate
    from mmdlm.synth.tiff import tissue_like, write_array_tiff

    stores = write_toy_stores(planted_records(n=30, size=8, images_per_patient=2, seed=1), module_dir / "toy")
    cfg = load_config(packaged_config("demo"))
    run = module_dir / "toy" / "run"
    cross_validate(cfg, stores, run, tasks=["cox"], train_fold=_fake_train_fold)

    (module_dir / "slide").mkdir()
    slide = write_array_tiff(module_dir / "slide" / "S1.tiff", tissue_like(512, 512, seed=2), mpp=0.5,
                             downsamples=(1, 4))
    sman = module_dir / "slide_manifest"
    sman.mkdir()
    (sman / "patients.csv").write_text("patient_id,time,event\nTCGA-AA-0001,10,1\n")
    (sman / "slides.csv").write_text(f"patient_id,slide_id,path\nTCGA-AA-0001,S1,{slide}\n")

    vol = module_dir / "ct"
    vol.mkdir()
    arr = np.full((20, 40, 48), -100, np.int16)
    zz, yy, xx = np.mgrid[0:20, 0:40, 0:48]
    ball = ((zz - 10) / 5.0) ** 2 + ((yy - 20) / 9.0) ** 2 + ((xx - 24) / 11.0) ** 2 <= 1
    arr[ball] = 60
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing((0.8, 0.8, 3.0))
    image.SetOrigin((0.0, 0.0, 0.0))
    sitk.WriteImage(image, str(vol / "TCGA-AA-0001_ct.nii.gz"))
    mask = sitk.GetImageFromArray(ball.astype(np.uint8))
    mask.SetSpacing((0.8, 0.8, 3.0))
    mask.SetOrigin((0.0, 0.0, 6.0))  # two slices off: another series' grid
    sitk.WriteImage(mask, str(vol / "tumour_mask.nii.gz"))
    rman = module_dir / "rad_manifest"
    rman.mkdir()
    (rman / "patients.csv").write_text("patient_id,time,event\nTCGA-AA-0001,10,1\n")
    (rman / "radiology.csv").write_text(
        "patient_id,path,kind,modality,plane,mask_path\n"
        f"TCGA-AA-0001,{vol / 'TCGA-AA-0001_ct.nii.gz'},nifti,CT,,{vol / 'tumour_mask.nii.gz'}\n"
    )
    return {"cohort": stores.manifest, "tiles": stores.tiles, "radiology": stores.radiology, "run": run,
            "slide_manifest": sman,
            "rad_manifest": rman, "ct": vol}


# ------------------------------------------------------------------------------------------ case builders


def _study(kit: Kit, edit: Callable[[list[str], list[list[str]]], None] | None = None, **kw) -> Path:
    header, rows = kit.table
    if edit is not None:
        edit(header, rows)
    return kit.make_study(rows=rows, header=header, **kw)


def ingest(edit=None, *extra, out: str = "out", **kw) -> Callable[[Kit], list]:
    """`mmdlm ingest --cbioportal STUDY --out OUT` on the default study after `edit(header, rows)`."""
    return lambda kit: ["ingest", "--cbioportal", _study(kit, edit, **kw), "--out", kit.p(out),
                        *[e(kit) if callable(e) else e for e in extra]]


def not_utf8(kit: Kit) -> list:
    study = kit.write("rawstudy/data_clinical_patient.txt", b"\xff\xfe\x00P")
    return ["ingest", "--cbioportal", study.parent, "--out", kit.p("out")]


def existing_out(kit: Kit) -> list:
    kit.p("out").mkdir()
    return ingest(None, "--quiet")(kit)


def into_read_only(kit: Kit) -> list:
    kit.p("ro").mkdir()
    return ingest(None, "--quiet", out="ro/out")(kit)


def patient_id(value: str):
    def edit(header, rows):
        rows[0][header.index("PATIENT_ID")] = value

    return edit


def cell(row: int, column: str, value: str):
    def edit(header, rows):
        rows[row][header.index(column)] = value

    return edit


def raw_study(text: str) -> Callable[[Kit], list]:
    """A study whose patient file is `text` as it stands."""

    def build(kit):
        study = kit.write("rawstudy/data_clinical_patient.txt", text)
        return ["ingest", "--cbioportal", study.parent, "--out", kit.p("out"), "--quiet"]

    return build


HEADER_LINE = "\t".join(["PATIENT_ID", "DSS_STATUS", "DSS_MONTHS"])
ROW_OK = "TCGA-AA-0001\t1:DEAD WITH TUMOR\t20"


def with_slides(kit: Kit, layout: Callable[[Kit, Path], None]) -> list:
    slides = kit.p("slides")
    slides.mkdir()
    layout(kit, slides)
    return ["ingest", "--cbioportal", _study(kit), "--out", kit.p("out"), "--slides", slides]


def linked_slides(kit: Kit, slides: Path) -> None:
    real = kit.write("elsewhere/uuid-1/TCGA-AA-0001-01Z-00-DX1.AAAA.svs", b"x").parent
    kit.write("elsewhere2/TCGA-ZZ-9999-01Z-00-DX1.BBBB.svs", b"x")
    (slides / "linked").symlink_to(real, target_is_directory=True)
    (slides / "linked_unmatched").symlink_to(kit.p("elsewhere2"), target_is_directory=True)


def looped_slides(kit: Kit, slides: Path) -> None:
    kit.write("slides/uuid-2/TCGA-AA-0002-01Z-00-DX1.CCCC.svs", b"x")
    (slides / "uuid-2" / "loop").symlink_to(slides, target_is_directory=True)


def control_char_slide(kit: Kit, slides: Path) -> None:
    kit.write("slides/uuid-3/TCGA-AA-0001-01Z-00-DX1\x07.svs", b"x")


def linked_radiology(kit: Kit) -> list:
    real = kit.p("scans")
    real.mkdir()
    shutil.copy2(kit.materials["ct"] / "TCGA-AA-0001_ct.nii.gz", real)
    rad = kit.p("radiology_in")
    rad.mkdir()
    (rad / "TCGA-AA-0001").symlink_to(real, target_is_directory=True)
    return ["ingest", "--cbioportal", _study(kit), "--out", kit.p("out"), "--radiology", rad]


def manifest_with(patients: str, slides: str | None = None) -> Callable[[Kit], Path]:
    def build(kit):
        kit.write("cohort/patients.csv", patients)
        if slides is not None:
            kit.write("cohort/slides.csv", slides)
        return kit.p("cohort")

    return build


def tile(cohort: Callable[[Kit], Path] | str, *extra) -> Callable[[Kit], list]:
    """`mmdlm tile --cohort COHORT --out out -q -w 1`."""

    def build(kit):
        c = kit.copy(cohort) if isinstance(cohort, str) else cohort(kit)
        return ["tile", "--cohort", c, "--out", kit.p("out"), "-q", "-w", "1",
                *[e(kit) if callable(e) else e for e in extra]]

    return build


def config_file(text: str) -> Callable[[Kit], list]:
    return lambda kit: ["config", "show", kit.write("c.yaml", text)]


def cfg_arg(text: str) -> Callable[[Kit], str]:
    return lambda kit: str(kit.write("c.yaml", text))


def stores(kit: Kit) -> tuple[Path, Path, Path]:
    return kit.copy("cohort"), kit.copy("tiles"), kit.copy("radiology")


def cv_rerun(change: Callable[[Kit, Path], None], *extra) -> Callable[[Kit], list]:
    """`mmdlm cv` again on the finished run, after `change(kit, cohort)`."""

    def build(kit):
        cohort, tiles, rad = stores(kit)
        run = kit.copy("run", "out")
        change(kit, cohort)
        return ["cv", "--cohort", cohort, "--tiles", tiles, "--radiology", rad, "--run", run,
                "--task", "cox", *[e(kit) if callable(e) else e for e in extra]]

    return build


def drop_patient(kit: Kit, cohort: Path) -> None:
    p = pd.read_csv(cohort / "patients.csv", dtype=str, keep_default_na=False)
    p.iloc[1:].to_csv(cohort / "patients.csv", index=False)
    a = pd.read_csv(cohort / "alterations.csv", dtype=str, keep_default_na=False)
    a[a["patient_id"].isin(p["patient_id"].iloc[1:])].to_csv(cohort / "alterations.csv", index=False)


def cv_fresh(damage: Callable[[Kit, Path, Path], None], *extra) -> Callable[[Kit], list]:
    """`mmdlm cv` into a new run folder `out`, on stores damaged by `damage(kit, tiles, radiology)`."""

    def build(kit):
        cohort, tiles, rad = stores(kit)
        damage(kit, tiles, rad)
        return ["cv", "--cohort", cohort, "--tiles", tiles, "--radiology", rad, "--run", kit.p("out"),
                "--task", "cox", *extra]

    return build


def truncate_tile_store(kit, tiles, rad):
    store = sorted(tiles.glob("*.h5"))[3]
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2])


def truncate_png(kit, tiles, rad):
    png = sorted(rad.glob("*/axial.png"))[2]
    png.write_bytes(png.read_bytes()[:60])


def drop_radiology_index(kit, tiles, rad):
    (rad / "index.csv").unlink()


def drop_tile_store(kit, tiles, rad):
    sorted(tiles.glob("*.h5"))[0].unlink()


def evaluate(name: str) -> Callable[[Kit], list]:
    def build(kit):
        return ["evaluate", "--run", kit.copy("run", "out"), "--cohort", kit.copy("cohort"), "--name", name]

    return build


# ------------------------------------------------------------------------------------------ OS refusals


def read_only(rel: str) -> Callable[[Kit], None]:
    """Make every creation below workspace/REL fail with EROFS (as a read-only mount does)."""

    def setup(kit):
        folder = kit.p(rel)
        real_mkdir, real_open = pathlib.Path.mkdir, os.open

        def inside(path) -> bool:
            p = os.path.abspath(path)
            return p == str(folder) or p.startswith(str(folder) + os.sep)

        def mkdir(self, *a, **k):
            if inside(self) and not self.exists():
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
            return real_mkdir(self, *a, **k)

        def open_(path, flags, *a, **k):
            if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real_open(path, flags, *a, **k)

        kit.monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
        kit.monkeypatch.setattr(os, "open", open_)

    return setup


def disk_full_in_tile_writer(kit: Kit) -> None:
    """The tile store's writes fail as on a full disk (errno ENOSPC from the write under h5py)."""
    from mmdlm.slides.store import TileStoreWriter

    def put(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    kit.monkeypatch.setattr(TileStoreWriter, "put", put)


def hdf5_error_in_tile_writer(kit: Kit) -> None:
    """h5py's own message form: errno only inside the text (as HDF5's 'file write failed' errors)."""
    from mmdlm.slides.store import TileStoreWriter

    def put(self, *a, **k):
        raise OSError(
            "Can't synchronously write data (file write failed: time = Tue Dec  1 21:00:00 2026, filename = "
            f"'{self._file.filename}', file descriptor = 7, errno = 28, error message = "
            "'No space left on device', buf = "
            "0x55, total write size = 12288, bytes this sub-write = 12288, bytes actually written = "
            "18446744073709551615, offset = 0)"
        )

    kit.monkeypatch.setattr(TileStoreWriter, "put", put)


# ------------------------------------------------------------------------------------------ checks


def slides_csv_has(*slide_ids: str) -> Callable[[Kit], None]:
    def check(kit):
        got = pd.read_csv(kit.p("out/slides.csv"), dtype=str)["slide_id"].tolist()
        assert got == list(slide_ids)

    return check


def unmatched_slides(n: int) -> Callable[[Kit], None]:
    def check(kit):
        assert json.loads(kit.p("out/summary.json").read_text())["unmatched_counts"]["slides"] == n

    return check


def radiology_row_linked(kit: Kit) -> None:
    paths = pd.read_csv(kit.p("out/radiology.csv"), dtype=str)["path"].tolist()
    assert len(paths) == 1 and "radiology_in/TCGA-AA-0001/" in paths[0]


def no_store_left(kit: Kit) -> None:
    out = kit.p("out")
    left = [p.name for p in out.rglob("*") if p.suffix == ".h5" or ".tmp-" in p.name]
    assert left == []


def planes_written(kit: Kit) -> None:
    assert sorted(p.name for p in kit.p("out/TCGA-AA-0001").glob("*.png")) == [
        "axial.png", "coronal.png", "sagittal.png"]


LONG = "P" * 200
NAME_300 = "n" * 300

CASES: list[Case] = [
    # identifiers entering at ingest
    Case("patient id with '/'", ingest(patient_id("TCGA-AA/0001")), 2,
         ("PATIENT_ID", "row 6", "path separator")),
    Case("patient id '..'", ingest(patient_id("..")), 2, ("PATIENT_ID", "row 6", "starts with '.'")),
    Case("patient id with a backslash", ingest(patient_id("TCGA\\AA")), 2, ("PATIENT_ID", "path separator")),
    Case("patient id with a control character", ingest(patient_id("TCGA-AA-\x07001")), 2,
         ("PATIENT_ID", "control character")),
    Case("patient id of 200 characters", ingest(patient_id(LONG)), 2,
         ("PATIENT_ID", "200 characters long")),
    Case("KiTS case_id with '/'",
         lambda kit: ["ingest", "--kits19", kit.write("kits.json", json.dumps([{"case_id": "a/../../b"}])),
                      "--out", kit.p("out")], 2, ("case_id", "row 1", "path separator")),
    Case("KiTS file without a case of the subtype",
         lambda kit: ["ingest", "--kits19", kit.write("kits.json", json.dumps(
             [{"case_id": "case_00000", "tumor_histologic_subtype": "papillary"}])),
                      "--out", kit.p("out")], 2,
         ("kits.json", "no case of subtype(s) clear_cell_rcc among 1 cases", "papillary: 1")),
    Case("slide file name with a control character", lambda kit: with_slides(kit, control_char_slide), 2,
         ("slide_id", "control character")),
    # identifiers in a hand-written manifest, read by a later stage
    Case("manifest patient_id with '/'", tile(manifest_with("patient_id,time,event\na/b,1,0\n")), 2,
         ("patients.csv", "row 2", "patient_id", "path separator")),
    Case("manifest slide_id '../x'",
         tile(manifest_with("patient_id,time,event\nP1,1,0\n", "patient_id,slide_id,path\nP1,../x,/s.svs\n")),
         2, ("slides.csv", "slide_id", "path separator")),
    Case("manifest slide_id of 200 characters",
         tile(manifest_with("patient_id,time,event\nP1,1,0\n",
                            f"patient_id,slide_id,path\nP1,{LONG},/s.svs\n")),
         2, ("slides.csv", "slide_id", "200 characters long")),
    # --name
    Case("evaluate --name ../x", evaluate("../x"), 2, ("--name", "path separator")),
    Case("evaluate --name .hidden", evaluate(".hidden"), 2, ("--name", "starts with '.'")),
    Case("evaluate --name of 200 characters", evaluate(LONG), 2, ("--name", "200 characters long")),
    # clinical tables
    Case("ragged row (a field missing)",
         raw_study(f"{HEADER_LINE}\n{ROW_OK}\nTCGA-AA-0002\t0:ALIVE OR DEAD TUMOR FREE\n"), 2,
         ("data_clinical_patient.txt", "row 3", "2 fields, the header has 3")),
    Case("ragged row (an extra field)", raw_study(f"{HEADER_LINE}\n{ROW_OK}\t7\n"), 2,
         ("row 2", "4 fields, the header has 3")),
    Case("header-only patient table", raw_study(f"{HEADER_LINE}\n"), 2, ("no patient rows", "PATIENT_ID")),
    Case("empty patient file", raw_study(""), 2, ("empty table",)),
    Case("patient file not UTF-8", not_utf8, 2, ("data_clinical_patient.txt", "not a UTF-8 text file")),
    Case("missing required column", ingest(lambda h, r: h.__setitem__(0, "PATIENT")), 2,
         ("PATIENT_ID", "missing required column")),
    Case("duplicate patient", ingest(lambda h, r: r.append(list(r[0]))), 2,
         ("duplicate PATIENT_ID", "row 9", "TCGA-AA-0001")),
    Case("negative time", ingest(cell(1, "DSS_MONTHS", "-3")), 2, ("TCGA-AA-0002", "DSS_MONTHS", "negative")),
    Case("time not a number", ingest(cell(1, "DSS_MONTHS", "soon")), 2, ("DSS_MONTHS", "not a number")),
    Case("unknown status", ingest(cell(2, "DSS_STATUS", "2:ZOMBIE")), 2, ("TCGA-AA-0003", "DSS_STATUS")),
    Case("unknown T stage", ingest(cell(0, "PATH_T_STAGE", "T7")), 2, ("PATH_T_STAGE", "row 6", "T7")),
    Case("unknown overall stage", ingest(cell(2, "AJCC_PATHOLOGIC_TUMOR_STAGE", "Stage V")), 2,
         ("AJCC_PATHOLOGIC_TUMOR_STAGE", "row 8")),
    Case("no endpoint columns",
         ingest(lambda h, r: [h.__setitem__(i, f"X{i}") for i, c in enumerate(h) if c.startswith("DSS")]), 2,
         ("DSS_STATUS", "no DSS")),
    Case("CDR with an unknown grade",
         ingest(None, "--cdr", lambda kit: kit.write(
             "cdr.tsv", "bcr_patient_barcode\thistological_grade\nTCGA-AA-0001\tG2\nTCGA-AA-0002\tG7\n")), 2,
         ("cdr.tsv", "row 3", "histological_grade")),
    Case("CDR with a duplicate patient",
         ingest(None, "--cdr", lambda kit: kit.write(
             "cdr.tsv", "bcr_patient_barcode\thistological_grade\nTCGA-AA-0001\tG2\nTCGA-AA-0001\tG3\n")), 2,
         ("cdr.tsv", "duplicate")),
    Case("alteration value not 0/1",
         ingest(None, "--alterations", lambda kit: kit.write(
             "alt.tsv", "case_id\tVHL_mut\nTCGA-AA-0001\t1\nTCGA-AA-0002\tyes\n")), 2,
         ("alt.tsv", "VHL_mut", "TCGA-AA-0002")),
    Case("alteration table without case_id",
         ingest(None, "--alterations",
                lambda kit: kit.write("alt.tsv", "patient\tVHL_mut\nTCGA-AA-0001\t1\n")),
         2, ("case_id",)),
    Case("gene absent from the MAF",
         ingest(None, "--config", cfg_arg("ingest:\n  alteration_features: [VHL_mut, KRAS_mut]\n"),
                maf="Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\n"
                    "VHL\tTCGA-AA-0001-01\tMissense_Mutation\n"), 2,
         ("KRAS_mut", "ingest.alteration_features")),
    Case("unknown endpoint", ingest(None, "--endpoint", "EFS"), 2, ("unknown endpoint", "--endpoint")),
    Case("--kits19 with --slides",
         lambda kit: ["ingest", "--kits19", kit.write("kits.json", "[]"), "--slides", kit.p("."), "--out",
                      kit.p("out")], 2, ("--slides cannot be combined with --kits19",)),
    Case("existing output without --force", existing_out, 2, ("output folder exists", "--force")),
    # folders behind symlinks
    Case("slides folder behind a symlink", lambda kit: with_slides(kit, linked_slides), 0,
         ("symlinked folder", "match no patient"),
         check=lambda kit: (slides_csv_has("TCGA-AA-0001-01Z-00-DX1.AAAA")(kit), unmatched_slides(1)(kit))),
    Case("symlink loop in the slides folder", lambda kit: with_slides(kit, looped_slides), 0,
         ("lead to a folder already scanned",), check=slides_csv_has("TCGA-AA-0002-01Z-00-DX1.CCCC")),
    Case("radiology folder behind a symlink", linked_radiology, 0, ("symlinked folder",),
         check=radiology_row_linked),
    # configs
    Case("duplicate key in a config", config_file("train:\n  lr: 0.1\n  lr: 0.2\n"), 2,
         ("c.yaml", "at line 3: duplicate key 'lr' (also on line 2)")),
    Case("duplicate section in a config", config_file("train:\n  lr: 0.1\ntrain:\n  epochs_unimodal: 2\n"), 2,
         ("duplicate key 'train'",)),
    Case("unknown key in a config", config_file("train:\n  learning_rat: 3\n"), 2,
         ("train.learning_rat", "unknown key")),
    Case("config extends a missing file", config_file("extends: nowhere.yaml\n"), 2,
         ("extends", "'nowhere.yaml' not found")),
    Case("config extends itself", config_file("extends: c.yaml\n"), 2, ("extends", "returns to this file")),
    Case("config that is not a mapping", config_file("- 1\n- 2\n"), 2, ("top level must be a mapping",)),
    # the operating system saying no
    Case("ingest into a read-only folder", into_read_only, 2, ("ro/out", "Read-only file system"),
         setup=read_only("ro")),
    Case("ingest --out name too long", ingest(None, "--quiet", out=NAME_300), 2,
         (NAME_300, "File name too long"), out=NAME_300),
    Case("tile into a read-only folder", tile("slide_manifest"), 2, ("out", "Read-only file system"),
         setup=read_only("out")),
    Case("tile --out name too long",
         lambda kit: [*tile("slide_manifest")(kit)[:4], kit.p(NAME_300), "-q", "-w", "1"], 2,
         ("File name too long",), out=NAME_300),
    Case("disk full while tiling", tile("slide_manifest"), 2,
         ("S1.h5", "cannot write the tile store", "No space left on device", "MB free"),
         refusal=False, setup=disk_full_in_tile_writer, check=no_store_left),
    Case("HDF5 write error while tiling", tile("slide_manifest"), 2,
         ("S1.h5", "cannot write the tile store", "No space left on device", "MB free"),
         refusal=False, setup=hdf5_error_in_tile_writer, check=no_store_left),
    Case("tile larger than the slide",
         tile("slide_manifest", "-c", cfg_arg("extends: demo\ntiling:\n  tile_size: 512\n")), 2,
         ("1 of 1 slides failed", "S1.tiff", "512-px tile at 10x covers 1024 level-0 pixels",
          "more than the slide's 512 x 512", "tiling.tile_size"), refusal=False),
    # radiology
    Case("mask on another grid than its image",
         lambda kit: ["radiology", "--cohort", kit.copy("rad_manifest"), "--out", kit.p("out"), "-q"], 0,
         ("mask geometry differs from its image", "origins 6.0 mm apart", "patient TCGA-AA-0001",
          "tumour_mask.nii.gz", "TCGA-AA-0001_ct.nii.gz"), check=planes_written),
    # a refused rerun of cv
    Case("cv rerun with a patient removed", cv_rerun(drop_patient), 2,
         ("folds.json", "patient set of task cox changed", "1 removed")),
    Case("cv rerun with another number of folds",
         cv_rerun(lambda kit, c: None, "-c", cfg_arg("extends: demo\ncv:\n  folds_cox: 4\n")), 2,
         ("folds.json has 3 folds for task cox, the config asks for 4",)),
    Case("cv rerun with an unknown configuration", cv_rerun(lambda kit, c: None, "--configuration", "ct"), 2,
         ("unknown configuration 'ct'",)),
    # damaged stores under a later stage
    Case("truncated tile store under cv", cv_fresh(truncate_tile_store), 2,
         ("tiles/TCGA-TY-0003-01Z-00-DX1.h5", "damaged or truncated", "mmdlm tile --cohort COHORT --out")),
    Case("truncated radiology image under cv", cv_fresh(truncate_png), 2,
         ("axial.png", "damaged or unreadable radiology image", "mmdlm radiology --cohort COHORT --out")),
    Case("radiology store without its index under cv", cv_fresh(drop_radiology_index), 2,
         ("radiology/index.csv", "radiology index not found", "mmdlm radiology")),
    Case("tile store listed in the index but missing", cv_fresh(drop_tile_store), 2,
         ("TCGA-TY-0000-01Z-00-DX1.h5", "tile store listed in the index is missing", "mmdlm tile --cohort")),
    Case("report on a missing run", lambda kit: ["report", "--run", kit.p("out")], 2,
         ("run directory not found",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path, make_study, patient_table, materials, run_cli, monkeypatch) -> None:
    kit = Kit(tmp_path, make_study, patient_table, materials, monkeypatch)
    args = case.build(kit)
    before = tree(tmp_path)
    if case.setup is not None:
        case.setup(kit)
    code, out, err = run_cli(*args)
    monkeypatch.undo()
    if os.environ.get("MMDLM_BAD_INPUT_LOG"):  # collects the messages for docs/bad-input.md
        with open(os.environ["MMDLM_BAD_INPUT_LOG"], "a") as fh:
            fh.write(json.dumps({"case": case.name, "code": code, "stderr": err.replace(str(tmp_path), "WS")
                                 .replace(str(materials["run"].parents[1]), "SHARED")}) + "\n")
    after = tree(tmp_path)
    summary = kit.p(case.out) / "summary.json"
    try:
        text = err + out + summary.read_text()
    except OSError:  # absent, or a name too long to open
        text = err + out
    assert code == case.code, err
    assert "Traceback" not in err
    for word in case.words:
        assert word in text, f"{word!r} not in {text[-2000:]!r}"
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert [ln for ln in lines if ln.startswith("mmdlm: error: ")] == lines[-1:], err  # one error line
        assert all(ln.startswith("mmdlm: warning: ") for ln in lines[:-1]), err
    refusal = case.code == 2 if case.refusal is None else case.refusal
    if refusal:
        assert after == before  # the output folder included: a refusal changes nothing
    else:
        assert outside(after, case.out) == outside(before, case.out)
    if case.check is not None:
        case.check(kit)


def test_the_suite_has_forty_cases() -> None:
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)


def test_a_real_hdf5_write_failure_is_one_line_naming_the_store(materials, tmp_path) -> None:
    """Not simulated: `mmdlm tile` under a file-size limit (RLIMIT_FSIZE), so HDF5 itself fails to write
    (EFBIG from the kernel). The slide is not blamed, no store or temporary file is left."""
    import resource
    import signal
    import subprocess
    import sys

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    out = tmp_path / "tiles"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "mmdlm.cli", "tile", "--cohort", str(materials["slide_manifest"]), "--out",
         str(out), "-q", "-w", "1"],
        preexec_fn=limit, capture_output=True, text=True, env=env, timeout=120,
    )
    assert r.returncode == 2, r.stderr
    expected = f"mmdlm: error: file {out / 'S1.h5'}: cannot write the tile store: File too large"
    assert r.stderr.strip() == expected
    assert sorted(p.name for p in out.rglob("*")) == [".mmdlm.lock", "qc"]


def test_cv_logs_skipped_patients_in_the_run_log_and_prints_one_line(materials, tmp_path, caplog) -> None:
    """A cohort with patients that have no modality: one warning with the count, the patients listed in
    RUN/mmdlm.log."""
    import logging

    from mmdlm.cohort.paths import CohortPaths
    from mmdlm.config import load_config, packaged_config
    from mmdlm.pipeline.evaluate import cross_validate

    cohort = tmp_path / "cohort"
    shutil.copytree(materials["cohort"], cohort)
    extra = pd.DataFrame({"patient_id": [f"X{i:03d}" for i in range(5)], "time": 12.0, "event": 1,
                          "endpoint": "DSS"})
    pd.concat([pd.read_csv(cohort / "patients.csv"), extra]).to_csv(cohort / "patients.csv", index=False)
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="mmdlm"):
        cross_validate(load_config(packaged_config("demo")),
                       CohortPaths(cohort, materials["tiles"], materials["radiology"]), run, tasks=["cox"],
                       train_fold=_fake_train_fold)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped == ["5 patient(s) without any modality (tiles, radiology or genomics) skipped"]
    log = (run / "mmdlm.log").read_text()
    assert "cv: 5 patient(s) skipped (no outcome or no modality): X000, X001, X002, X003, X004" in log
